package io.syncgrad.deploy.report;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.knowm.xchart.VectorGraphicsEncoder;
import org.knowm.xchart.VectorGraphicsEncoder.VectorGraphicsFormat;
import org.knowm.xchart.internal.chartpart.Chart;

/**
 * Turns an XChart chart into an SVG element to paste into an HTML page. XChart draws through
 * VectorGraphics2D, which writes a standalone SVG document with one {@code <line>} element per
 * segment of a series and every coordinate to 15 digits: 600 KB for a 2,000-point line. The
 * element returned here draws the same: a run of connected segments of one style becomes one
 * {@code <path>}, coordinates are rounded to 1/100 pixel, and the XML prolog, the DTD reference
 * and the namespace declarations (which inline SVG in HTML does not need) are left out, so the
 * page names no URL at all. Clip-path ids get a per-chart prefix, so that charts on one page
 * cannot use each other's.
 */
final class ChartSvg {

  static {
    // Charts are drawn with Java2D into vectors and no window is ever opened: a headless toolkit
    // works without a display (a server, a container) and shows no Dock icon on macOS.
    if (System.getProperty("java.awt.headless") == null) {
      System.setProperty("java.awt.headless", "true");
    }
  }

  private static final Pattern ATTRIBUTE = Pattern.compile("([A-Za-z][A-Za-z0-9:-]*)=\"([^\"]*)\"");
  private static final Pattern GEOMETRY = Pattern.compile(
      "\\b(d|x|y|x1|x2|y1|y2|cx|cy|r|rx|ry|width|height|transform|points)=\"([^\"]*)\"");
  private static final Pattern NUMBER = Pattern.compile("-?\\d+(?:\\.\\d+)?(?:[eE][-+]?\\d+)?");
  private static final Pattern VIEW_BOX = Pattern.compile("viewBox=\"([^\"]*)\"");

  private ChartSvg() {}

  /**
   * The chart as an {@code <svg>} element with {@code label} as its accessible name.
   *
   * @param id a page-unique id, used as the prefix of the element's own ids
   */
  static String render(Chart<?, ?> chart, String id, String label) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    VectorGraphicsEncoder.saveVectorGraphic(chart, out, VectorGraphicsFormat.SVG);
    return compact(out.toString(StandardCharsets.UTF_8), id, label);
  }

  /** The compact form of a VectorGraphics2D SVG document (see the class comment). */
  static String compact(String document, String id, String label) {
    StringBuilder out = new StringBuilder(document.length() / 4);
    Polyline pending = null;
    for (String raw : document.split("\n")) {
      String line = raw.strip();
      if (line.isEmpty() || line.startsWith("<?xml") || line.startsWith("<!DOCTYPE")) {
        continue;
      }
      if (line.startsWith("<svg")) {
        Matcher box = VIEW_BOX.matcher(line);
        out.append("<svg viewBox=\"").append(box.find() ? box.group(1) : "").append("\" role=\"img\" aria-label=\"")
            .append(Html.escape(label)).append("\">\n");
        continue;
      }
      line = rounded(line.replace("id=\"", "id=\"" + id + "-").replace("url(#", "url(#" + id + "-"));
      if (line.startsWith("<line ")) {
        Map<String, String> a = attributes(line);
        String style = a.getOrDefault("style", "");
        String x1 = a.get("x1");
        String y1 = a.get("y1");
        if (pending != null && pending.continues(style, x1, y1)) {
          pending.lineTo(a.get("x2"), a.get("y2"));
          continue;
        }
        if (pending != null) {
          pending.appendTo(out);
        }
        pending = new Polyline(style, x1, y1, a.get("x2"), a.get("y2"));
        continue;
      }
      if (pending != null) {
        pending.appendTo(out);
        pending = null;
      }
      out.append(line).append('\n');
    }
    if (pending != null) {
      pending.appendTo(out);
    }
    return out.toString();
  }

  private static Map<String, String> attributes(String element) {
    Map<String, String> out = new LinkedHashMap<>();
    Matcher m = ATTRIBUTE.matcher(element);
    while (m.find()) {
      out.put(m.group(1), m.group(2));
    }
    return out;
  }

  /** {@code element} with the numbers of its geometry attributes to two decimals. */
  static String rounded(String element) {
    Matcher m = GEOMETRY.matcher(element);
    StringBuilder out = new StringBuilder(element.length());
    while (m.find()) {
      Matcher n = NUMBER.matcher(m.group(2));
      StringBuilder value = new StringBuilder();
      while (n.find()) {
        n.appendReplacement(value, round(n.group()));
      }
      n.appendTail(value);
      m.appendReplacement(out, Matcher.quoteReplacement(m.group(1) + "=\"" + value + "\""));
    }
    m.appendTail(out);
    return out.toString();
  }

  private static String round(String number) {
    String s = new BigDecimal(number).setScale(2, RoundingMode.HALF_EVEN).stripTrailingZeros().toPlainString();
    return s.equals("-0") ? "0" : s;
  }

  /** Connected segments of one style, drawn as one path. */
  private static final class Polyline {
    private final String style;
    private final StringBuilder d = new StringBuilder();
    private final String x1;
    private final String y1;
    private String lastX;
    private String lastY;
    private int segments;

    Polyline(String style, String x1, String y1, String x2, String y2) {
      this.style = style;
      this.x1 = x1;
      this.y1 = y1;
      d.append('M').append(x1).append(' ').append(y1);
      lineTo(x2, y2);
    }

    boolean continues(String style, String x, String y) {
      return this.style.equals(style) && lastX.equals(x) && lastY.equals(y);
    }

    void lineTo(String x, String y) {
      d.append('L').append(x).append(' ').append(y);
      lastX = x;
      lastY = y;
      segments++;
    }

    void appendTo(StringBuilder out) {
      if (segments == 1) {
        out.append("<line style=\"").append(style).append("\" x1=\"").append(x1).append("\" y1=\"").append(y1)
            .append("\" x2=\"").append(lastX).append("\" y2=\"").append(lastY).append("\"/>\n");
      } else {
        // One path instead of separate segments also joins them: no darker dots where the round
        // caps of translucent segments overlapped.
        out.append("<path style=\"").append(style).append(style.endsWith(";") ? "" : ";")
            .append("stroke-linejoin:round;\" d=\"").append(d).append("\"/>\n");
      }
    }
  }
}
