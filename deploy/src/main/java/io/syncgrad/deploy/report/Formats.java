package io.syncgrad.deploy.report;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/** How the page writes numbers, sizes, durations and times: short, in one locale, in UTC. */
final class Formats {

  private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'", Locale.ROOT)
      .withZone(ZoneOffset.UTC);
  private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss.SSS", Locale.ROOT)
      .withZone(ZoneOffset.UTC);

  private Formats() {}

  /** A whole number with thousands separators, otherwise about four significant digits. */
  static String number(double v) {
    if (!Double.isFinite(v)) {
      return Double.isNaN(v) ? "—" : (v > 0 ? "∞" : "−∞");
    }
    if (v == Math.rint(v) && Math.abs(v) < 1e15) {
      return String.format(Locale.ROOT, "%,d", (long) v);
    }
    double a = Math.abs(v);
    if (a >= 1000) {
      return String.format(Locale.ROOT, "%,.0f", v);
    }
    if (a >= 100) {
      return String.format(Locale.ROOT, "%.1f", v);
    }
    if (a >= 1) {
      return String.format(Locale.ROOT, "%.3f", v).replaceFirst("0+$", "").replaceFirst("\\.$", "");
    }
    String g = String.format(Locale.ROOT, "%.4g", v);
    return g.contains("e") ? g : g.replaceFirst("0+$", "").replaceFirst("\\.$", "");
  }

  /** Bytes in decimal units: "1.34 MB". */
  static String bytes(double b) {
    String[] units = {"B", "kB", "MB", "GB", "TB"};
    int u = 0;
    while (Math.abs(b) >= 1000 && u < units.length - 1) {
      b /= 1000;
      u++;
    }
    return (u == 0 ? String.format(Locale.ROOT, "%.0f", b) : String.format(Locale.ROOT, "%.2f", b)) + " " + units[u];
  }

  /** "14.7 s", "2 min 10 s", "3 h 05 min". */
  static String duration(double seconds) {
    if (!Double.isFinite(seconds)) {
      return "—";
    }
    if (seconds < 60) {
      return String.format(Locale.ROOT, "%.1f s", seconds);
    }
    long s = Math.round(seconds);
    if (s < 3600) {
      return String.format(Locale.ROOT, "%d min %02d s", s / 60, s % 60);
    }
    return String.format(Locale.ROOT, "%d h %02d min", s / 3600, (s % 3600) / 60);
  }

  static String duration(Duration d) {
    return duration(d.toMillis() / 1000.0);
  }

  /** "2026-12-02 14:11:02 UTC". */
  static String time(Instant t) {
    return TIME.format(t);
  }

  /** "14:11:02.609", the time of day in UTC. */
  static String clock(Instant t) {
    return CLOCK.format(t);
  }

  /** A summary.json value as a table cell shows it: text as is, numbers short, the rest as compact JSON. */
  static String value(JsonNode v) {
    if (v.isTextual()) {
      return v.asText();
    }
    if (v.isNumber()) {
      return number(v.asDouble());
    }
    return v.toString();
  }
}
