package io.syncgrad.deploy.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;
import org.knowm.xchart.AnnotationLine;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.XYSeries.XYSeriesRenderStyle;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.Marker;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The report's charts, drawn by XChart from a run's metrics: training loss, evaluations,
 * throughput, each worker's compute time, the split of a step between compute and exchange, and
 * the timeline of faults and recoveries. A chart the run has no data for is a {@link Figure}
 * without SVG whose caption says why, so the page keeps its shape and tells the reader what is
 * missing. Long series are reduced to at most {@link #MAX_POINTS} points each.
 */
final class ReportCharts {

  /** Points per drawn line: more than a chart has pixels across, few enough for a small page. */
  static final int MAX_POINTS = 2000;
  /** Bars of an area chart: each the mean of its steps. */
  static final int MAX_AREA_POINTS = 500;

  static final int WIDTH = 600;
  static final int HEIGHT = 330;
  static final int WIDE = 1232;

  /** Points per worker: the means of runs of steps, so that several lines stay apart. */
  static final int MAX_WORKER_POINTS = 300;

  /** Steps at or above this multiple of the 99th percentile move the y axis cut there. */
  private static final double OUTLIER_FACTOR = 1.5;

  /**
   * One chart of the page.
   *
   * @param svg  the inline {@code <svg>} element, or "" when there is nothing to draw
   * @param wide whether it spans the page rather than half of it
   */
  record Figure(String id, String title, String caption, String svg, boolean wide) {}

  private final RunMetrics metrics;
  private final int batchSize;
  private final List<String> workers;
  private final List<EventGroups.Group> groups;

  /**
   * @param batchSize the global batch size, or 0 when unknown (a run without summary.json)
   * @param workers   every worker's name, in the order that gives them their colours
   */
  ReportCharts(RunMetrics metrics, int batchSize, List<String> workers, List<EventGroups.Group> groups) {
    this.metrics = metrics;
    this.batchSize = batchSize;
    this.workers = List.copyOf(workers);
    this.groups = List.copyOf(groups);
  }

  /** Every chart, in page order. */
  List<Figure> all() throws IOException {
    return List.of(loss(), evaluations(), throughput(), workerCompute(), stepSplit(), timeline());
  }

  Figure loss() throws IOException {
    String title = "Training loss";
    Series raw = Series.of(metrics.steps(), s -> s.step(), RunMetrics.Step::loss);
    if (raw.isEmpty()) {
      return missing("loss", title, "No steps recorded yet.");
    }
    XYChart chart = perStep(raw, WIDE, "loss", ChartStyle.PRIMARY);
    int marked = 0;
    for (RunMetrics.Event e : metrics.events()) {
      if ((e.kind().equals("worker_lost") || e.type().equals("resume")) && marked++ < 20) {
        chart.addAnnotation(new AnnotationLine(e.step(), true, false));
      }
    }
    return new Figure("loss", title, "Loss of every step's batch (faint) and its exponential moving average over "
        + "about " + Math.round(Series.smoothingSpan(raw.size())) + " steps."
        + (marked > 0 ? " Dashed red lines: a worker lost or a resume." : ""),
        render(chart, "loss", title), true);
  }

  Figure evaluations() throws IOException {
    String title = "Test accuracy and loss";
    List<RunMetrics.Eval> evals = metrics.evals();
    if (evals.isEmpty()) {
      return missing("eval", title, "No evaluation yet: the first comes at the end of the first epoch.");
    }
    boolean byEpoch = evals.stream().allMatch(e -> Double.isFinite(e.epoch()));
    ToDoubleFunction<RunMetrics.Eval> x = byEpoch ? RunMetrics.Eval::epoch : e -> e.step();
    XYChart chart = ChartStyle.chart(WIDTH, HEIGHT, byEpoch ? "epoch" : "step", "accuracy");
    chart.getStyler().setPlotContentSize(ChartStyle.MARKER_CONTENT_SIZE);
    chart.getStyler().setYAxisGroupPosition(1, Styler.YAxisPosition.Right);
    chart.setYAxisGroupTitle(0, "accuracy");
    chart.setYAxisGroupTitle(1, "loss");
    points(chart, "test accuracy", Series.of(evals, x, RunMetrics.Eval::testAccuracy), ChartStyle.PRIMARY, 0);
    Series validationAccuracy = Series.of(evals, x, RunMetrics.Eval::validationAccuracy);
    if (!validationAccuracy.isEmpty()) {
      points(chart, "validation accuracy", validationAccuracy, ChartStyle.VALIDATION, 0);
    }
    points(chart, "test loss", Series.of(evals, x, RunMetrics.Eval::testLoss), ChartStyle.SECONDARY, 1);
    Series validationLoss = Series.of(evals, x, RunMetrics.Eval::validationLoss);
    if (!validationLoss.isEmpty()) {
      points(chart, "validation loss", validationLoss, ChartStyle.VALIDATION, 1);
    }
    RunMetrics.Eval last = evals.get(evals.size() - 1);
    if (evals.size() == 1) {
      // One point gives XChart empty ranges: show it against the whole accuracy scale instead.
      var styler = chart.getStyler();
      styler.setXAxisMin(0.0);
      styler.setXAxisMax(Math.max(1.0, Math.ceil(x.applyAsDouble(last) * 1.25)));
      styler.setYAxisMin(0, 0.0);
      styler.setYAxisMax(0, 1.0);
      styler.setYAxisMin(1, 0.0);
      styler.setYAxisMax(1, Double.isFinite(last.testLoss()) ? Math.ceil(last.testLoss() * 15) / 10 : 1.0);
    }
    return new Figure("eval", title, String.format(Locale.ROOT, "After every epoch and at the end (%d evaluation%s); "
            + "accuracy on the left axis, loss (dashed) on the right%s. Last: accuracy %.4f, loss %.4f at step %d.",
        evals.size(), evals.size() == 1 ? "" : "s",
        validationAccuracy.isEmpty() && validationLoss.isEmpty() ? "" : "; validation figures (purple)", last.testAccuracy(), last.testLoss(), last.step()), render(chart, "eval", title), false);
  }

  Figure throughput() throws IOException {
    String title = "Throughput";
    Series raw = Series.of(metrics.steps(), s -> s.step(), RunMetrics.Step::samplesPerSecond);
    if (raw.isEmpty()) {
      return missing("throughput", title, "No steps with samples_per_second recorded.");
    }
    XYChart chart = perStep(raw, WIDTH, "samples / s", ChartStyle.THROUGHPUT);
    chart.getStyler().setYAxisMin(0.0);
    chart.getStyler().setYAxisDecimalPattern("#,##0");
    return new Figure("throughput", title, String.format(Locale.ROOT,
        "Training samples per second of every step (faint) and smoothed; mean %,.0f samples/s.", raw.meanY()),
        render(chart, "throughput", title), false);
  }

  Figure workerCompute() throws IOException {
    String title = "Compute time per worker";
    List<Series> series = new ArrayList<>();
    String source;
    if (!metrics.workerTimes().isEmpty()) {
      for (String w : workers) {
        series.add(Series.of(metrics.workerTimes().stream().filter(t -> t.computeMillis().containsKey(w)).toList(),
            t -> t.step(), t -> t.computeMillis().get(w)));
      }
      source = "Each worker's mean time computing its shards per step, every 10 steps.";
    } else {
      for (String w : workers) {
        series.add(Series.of(metrics.steps().stream().filter(s -> w.equals(s.worker())).toList(), s -> s.step(),
            RunMetrics.Step::computeMillis));
      }
      source = "Each step's compute time as the worker that reported the step measured it (this run's metrics "
          + "have no per-worker lines).";
    }
    if (series.stream().allMatch(Series::isEmpty)) {
      return missing("workers", title, workers.isEmpty() ? "A one-node run: there are no workers to compare."
          : "No compute times were recorded.");
    }
    XYChart chart = ChartStyle.chart(WIDTH, HEIGHT, "step", "compute ms / step");
    chart.getStyler().setYAxisMin(0.0);
    int slowest = 0;
    for (int i = 1; i < series.size(); i++) {
      if (!series.get(i).isEmpty() && !(series.get(i).meanY() <= series.get(slowest).meanY())) {
        slowest = i;
      }
    }
    int longest = series.stream().mapToInt(Series::size).max().orElse(0);
    int per = (longest + MAX_WORKER_POINTS - 1) / MAX_WORKER_POINTS;
    if (per > 1) {
      source += " Means of up to " + per + " successive values.";
    }
    List<Series> drawn = new ArrayList<>();
    for (int i = 0; i < series.size(); i++) {
      Series mean = series.get(i).bucketMeans(MAX_WORKER_POINTS);
      drawn.add(mean);
      if (!mean.isEmpty()) {
        boolean slow = i == slowest && series.size() > 1;
        line(chart, workers.get(i) + (slow ? " (slowest)" : ""), mean, ChartStyle.worker(i),
            slow ? ChartStyle.THICK : ChartStyle.THIN + 0.5f);
      }
    }
    String cut = cutOutliers(chart, drawn, "ms");
    return new Figure("workers", title, source + String.format(Locale.ROOT, " Slowest: %s, %.2f ms on average.",
        workers.get(slowest), series.get(slowest).meanY()) + cut, render(chart, "workers", title), false);
  }

  Figure stepSplit() throws IOException {
    String title = "Where a step's time goes";
    boolean measured = metrics.steps().stream().anyMatch(s -> Double.isFinite(s.stepMillis()));
    List<RunMetrics.Step> steps = metrics.steps().stream()
        .filter(s -> Double.isFinite(s.computeMillis()) && Double.isFinite(stepMillis(s, measured))).toList();
    if (steps.isEmpty()) {
      String why = metrics.steps().stream().noneMatch(s -> Double.isFinite(s.computeMillis()))
          ? "This run's steps carry no compute time (a one-node run, or metrics written before it was recorded)."
          : "This run's steps carry no step time, and without summary.json the batch size to derive it is unknown.";
      return missing("split", title, why);
    }
    Series total = Series.of(steps, s -> s.step(), s -> stepMillis(s, measured));
    Series compute = Series.of(steps, s -> s.step(), s -> Math.min(s.computeMillis(), stepMillis(s, measured)));
    XYChart chart = ChartStyle.chart(WIDTH, HEIGHT, "step", "ms / step");
    chart.getStyler().setYAxisMin(0.0);
    // Two areas from zero, the whole step behind the compute part: the band between them is the
    // exchange of gradients and the update, so the picture is a stacked area.
    Series totalMeans = total.bucketMeans(MAX_AREA_POINTS);
    area(chart, "exchange + update", totalMeans, ChartStyle.SECONDARY);
    area(chart, "compute", compute.bucketMeans(MAX_AREA_POINTS), ChartStyle.PRIMARY);
    String cut = cutOutliers(chart, List.of(totalMeans), "ms");
    double share = compute.meanY() / total.meanY();
    int per = (int) Math.ceil((double) total.size() / MAX_AREA_POINTS);
    return new Figure("split", title, String.format(Locale.ROOT,
        "Each step's wall time: computing shards (below) and exchanging gradients and updating the weights (above)%s; "
            + "%.0f%% of the time is compute on average.%s%s", per > 1 ? ", means of " + per + " steps" : "",
        100 * share, measured ? "" : " Step time derived from samples/s and the batch size of " + batchSize + ".", cut),
        render(chart, "split", title), false);
  }

  /** The step's wall time: recorded, or derived from its throughput when {@code measured} is false. */
  private double stepMillis(RunMetrics.Step s, boolean measured) {
    if (measured) {
      return s.stepMillis();
    }
    return batchSize > 0 && s.samplesPerSecond() > 0 ? 1000.0 * batchSize / s.samplesPerSecond() : Double.NaN;
  }

  Figure timeline() throws IOException {
    String title = "Faults and recoveries";
    if (groups.isEmpty()) {
      return new Figure("timeline", title, "No faults were injected and nothing needed recovering.", "", true);
    }
    long first = metrics.steps().isEmpty() ? 0 : metrics.steps().get(0).step();
    long last = Math.max(metrics.lastStep(), groups.stream().mapToLong(EventGroups.Group::lastStep).max().orElse(0));
    double bucket = Math.max(1, (last - first) / 500.0);
    int rows = groups.size();
    XYChart chart = ChartStyle.chart(WIDE, Math.min(420, 110 + 30 * rows), "step", "");
    var styler = chart.getStyler();
    styler.setDefaultSeriesRenderStyle(XYSeriesRenderStyle.Scatter);
    styler.setLegendPosition(Styler.LegendPosition.OutsideE);
    styler.setLegendLayout(Styler.LegendLayout.Vertical);
    styler.setYAxisTicksVisible(false);
    styler.setYAxisTitleVisible(false);
    styler.setPlotGridHorizontalLinesVisible(false);
    styler.setPlotGridVerticalLinesVisible(true);
    styler.setYAxisMin(-0.6);
    styler.setYAxisMax(rows - 0.4);
    styler.setXAxisMin((double) first);
    styler.setXAxisMax((double) Math.max(last, first + 1));
    styler.setMarkerSize(8);
    styler.setPlotContentSize(ChartStyle.MARKER_CONTENT_SIZE);
    for (int r = 0; r < rows; r++) {
      EventGroups.Group g = groups.get(r);
      // One marker per step bucket: thousands of message faults would draw the same pixels.
      double[] steps = g.events().stream().mapToDouble(e -> Math.floor(e.step() / bucket) * bucket).distinct()
          .toArray();
      double[] y = new double[steps.length];
      Arrays.fill(y, rows - 1 - r);
      XYSeries s = chart.addSeries(g.type() + ": " + g.label() + " (" + g.events().size() + ")", steps, y);
      s.setMarker(marker(g.type()));
      s.setMarkerColor(g.color());
    }
    return new Figure("timeline", title, "One row per kind of event, at the steps it happened; the table below lists "
        + "them.", render(chart, "timeline", title), true);
  }

  /**
   * The chart as SVG, its x axis ticked at round numbers. XChart ticks an axis whose values are
   * all equally spaced (steps 1, 2, 3, ...) at data values instead (1, 15, 29, ...): a disabled
   * series with one extra x value inside the range makes the spacing uneven. It is not drawn,
   * not in the legend, and does not widen the axes.
   */
  private static String render(XYChart chart, String id, String title) throws IOException {
    XYSeries first = chart.getSeriesMap().values().iterator().next();
    double x = first.getXData()[0];
    double y = first.getYData()[0];
    XYSeries anchor = chart.addSeries("\u0000round x ticks", new double[] {x, x + 0.37}, new double[] {y, y});
    anchor.setEnabled(false);
    anchor.setShowInLegend(false);
    return ChartSvg.render(chart, id, title);
  }

  private static Marker marker(String type) {
    return switch (type) {
      case "fault" -> SeriesMarkers.DIAMOND;
      case "recovery" -> SeriesMarkers.CIRCLE;
      case "resume" -> SeriesMarkers.TRIANGLE_UP;
      default -> SeriesMarkers.SQUARE;
    };
  }

  private static Figure missing(String id, String title, String why) {
    return new Figure(id, title, why, "", false);
  }

  /** A quantity of every step: each step faint, its moving average over about 2% of the run solid. */
  private static XYChart perStep(Series raw, int width, String yTitle, Color color) {
    double span = Series.smoothingSpan(raw.size());
    XYChart chart = ChartStyle.chart(width, HEIGHT, "step", yTitle);
    line(chart, "each step", raw.downsampled(MAX_POINTS), ChartStyle.faint(color, 0.28), ChartStyle.THIN);
    line(chart, "smoothed", raw.smoothed(span).downsampled(MAX_POINTS), color, ChartStyle.LINE);
    return chart;
  }

  private static void line(XYChart chart, String name, Series s, Color color, float width) {
    XYSeries series = chart.addSeries(name, s.x(), s.y());
    series.setXYSeriesRenderStyle(XYSeriesRenderStyle.Line);
    series.setMarker(SeriesMarkers.NONE);
    series.setLineColor(color);
    series.setLineWidth(width);
  }

  private static void points(XYChart chart, String name, Series s, Color color, int axis) {
    XYSeries series = chart.addSeries(name, s.x(), s.y());
    series.setYAxisDecimalPattern("0.0##");
    if (axis == 1) {
      // Loss on the right axis, dashed, so the two scales are never confused.
      series.setLineStyle(new BasicStroke(ChartStyle.LINE, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f,
          new float[] {6f, 4f}, 0f));
    }
    series.setXYSeriesRenderStyle(XYSeriesRenderStyle.Line);
    series.setMarker(SeriesMarkers.CIRCLE);
    series.setMarkerColor(color);
    series.setLineColor(color);
    series.setLineWidth(ChartStyle.LINE);
    series.setYAxisGroup(axis);
  }

  private static void area(XYChart chart, String name, Series s, Color color) {
    XYSeries series = chart.addSeries(name, s.x(), s.y());
    series.setXYSeriesRenderStyle(XYSeriesRenderStyle.Area);
    series.setMarker(SeriesMarkers.NONE);
    series.setLineColor(color);
    series.setLineWidth(ChartStyle.THIN);
    series.setFillColor(color);
  }

  /**
   * Cuts the y axis above the 99th percentile when a few outliers (a stalled step, a garbage
   * collection) would squash every other step into the bottom of the chart; returns the sentence
   * that says so, or "".
   */
  private static String cutOutliers(XYChart chart, List<Series> series, String unit) {
    double[] all = series.stream().flatMapToDouble(s -> Arrays.stream(s.y())).sorted().toArray();
    if (all.length < 20) {
      return "";
    }
    double p99 = all[(int) Math.floor(0.99 * (all.length - 1))];
    double max = all[all.length - 1];
    if (!(p99 > 0) || max < OUTLIER_FACTOR * p99) {
      return "";
    }
    double cut = 1.25 * p99;
    chart.getStyler().setYAxisMax(cut);
    long above = Arrays.stream(all).filter(v -> v > cut).count();
    return String.format(Locale.ROOT, " The y axis stops at %.1f %s: %d value%s above, up to %.1f %s.", cut, unit,
        above, above == 1 ? " is" : "s are", max, unit);
  }
}
