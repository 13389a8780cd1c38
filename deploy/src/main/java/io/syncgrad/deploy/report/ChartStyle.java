package io.syncgrad.deploy.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.util.List;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.XYStyler;

/**
 * The look every chart of the report shares, so that the page reads as one: white plots with
 * light grid lines, the page's grey text, and one colour per role (the same blue for the main
 * line of every chart, the same colour for a worker wherever it appears). The page's CSS uses
 * {@link #css(Color)} of the same colours.
 */
final class ChartStyle {

  static final Color TEXT = new Color(0x37, 0x41, 0x51);
  static final Color MUTED = new Color(0x6b, 0x72, 0x80);
  static final Color GRID = new Color(0xe5, 0xe7, 0xeb);

  /** The main quantity of a chart: loss, accuracy, compute. */
  static final Color PRIMARY = new Color(0x25, 0x63, 0xeb);
  /** What is set against it: test loss, exchange and update. */
  static final Color SECONDARY = new Color(0xf5, 0x9e, 0x0b);
  static final Color THROUGHPUT = new Color(0x05, 0x96, 0x69);
  static final Color VALIDATION = new Color(0x7c, 0x3a, 0xed);

  /** Workers, in name order; more workers than colours reuse them. */
  static final List<Color> WORKERS = List.of(new Color(0x25, 0x63, 0xeb), new Color(0x05, 0x96, 0x69),
      new Color(0xdb, 0x27, 0x77), new Color(0xd9, 0x77, 0x06), new Color(0x7c, 0x3a, 0xed),
      new Color(0x08, 0x91, 0xb2), new Color(0x65, 0xa3, 0x0d), new Color(0x9f, 0x12, 0x39));

  /** Injected faults: warm colours. */
  static final List<Color> FAULTS = List.of(new Color(0xdc, 0x26, 0x26), new Color(0xea, 0x58, 0x0c),
      new Color(0xd9, 0x77, 0x06), new Color(0xdb, 0x27, 0x77), new Color(0x9f, 0x12, 0x39));
  /** What the cluster did about them: cool colours. */
  static final List<Color> RECOVERIES = List.of(new Color(0x05, 0x96, 0x69), new Color(0x25, 0x63, 0xeb),
      new Color(0x08, 0x91, 0xb2), new Color(0x4f, 0x46, 0xe5), new Color(0x65, 0xa3, 0x0d));
  static final Color CHECKPOINT = new Color(0x9c, 0xa3, 0xaf);
  static final Color RESUME = VALIDATION;

  static final float THIN = 1f;
  static final float LINE = 2f;
  static final float THICK = 2.75f;

  /**
   * The share of the plot that lines use. XChart's default, 0.92, leaves margins wide enough for a
   * tick outside the data ("-2,000" left of step 1); with none at all it drops the ticks at the
   * ends (0).
   */
  static final double LINE_CONTENT_SIZE = 0.98;
  /** The share for markers, with room for half a marker at either end. */
  static final double MARKER_CONTENT_SIZE = 0.95;

  private static final String FONT = Font.SANS_SERIF;

  private ChartStyle() {}

  /** A {@code width}×{@code height} pixel chart with the report's look and these axis titles. */
  static XYChart chart(int width, int height, String xTitle, String yTitle) {
    XYChart chart = new XYChartBuilder().width(width).height(height).xAxisTitle(xTitle).yAxisTitle(yTitle).build();
    XYStyler s = chart.getStyler();
    s.setChartTitleVisible(false);
    s.setChartBackgroundColor(Color.WHITE);
    s.setPlotBackgroundColor(Color.WHITE);
    s.setPlotBorderVisible(false);
    s.setChartFontColor(TEXT);
    s.setChartPadding(8);
    s.setPlotMargin(0);
    s.setPlotContentSize(LINE_CONTENT_SIZE);
    s.setPlotGridLinesColor(GRID);
    s.setPlotGridLinesStroke(new BasicStroke(1f));
    s.setPlotGridVerticalLinesVisible(false);
    s.setAxisTickMarksColor(GRID);
    s.setAxisTicksLineVisible(false);
    s.setAxisTickLabelsColor(MUTED);
    s.setAxisTickLabelsFont(new Font(FONT, Font.PLAIN, 11));
    s.setAxisTitleFont(new Font(FONT, Font.PLAIN, 12));
    s.setXAxisTitleColor(MUTED);
    s.setYAxisTitleColor(MUTED);
    s.setAxisTitlePadding(6);
    s.setAxisTickPadding(4);
    s.setLegendFont(new Font(FONT, Font.PLAIN, 11));
    s.setLegendBorderColor(Color.WHITE);
    s.setLegendBackgroundColor(new Color(255, 255, 255, 230));
    s.setLegendPadding(6);
    s.setLegendSeriesLineLength(18);
    s.setLegendPosition(Styler.LegendPosition.OutsideS);
    s.setLegendLayout(Styler.LegendLayout.Horizontal);
    s.setMarkerSize(6);
    s.setAnnotationLineColor(new Color(0xdc, 0x26, 0x26, 140));
    s.setAnnotationLineStroke(new BasicStroke(1f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f,
        new float[] {4f, 3f}, 0f));
    s.setToolTipsEnabled(false);
    return chart;
  }

  /** {@code color} with this opacity, 0 to 1. */
  static Color faint(Color color, double opacity) {
    return new Color(color.getRed(), color.getGreen(), color.getBlue(), (int) Math.round(opacity * 255));
  }

  /** The colour of the {@code index}-th worker in name order. */
  static Color worker(int index) {
    return WORKERS.get(index % WORKERS.size());
  }

  /** {@code #rrggbb}, for the page's CSS. */
  static String css(Color color) {
    return String.format("#%02x%02x%02x", color.getRed(), color.getGreen(), color.getBlue());
  }
}
