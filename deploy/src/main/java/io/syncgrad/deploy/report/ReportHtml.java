package io.syncgrad.deploy.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import java.awt.Color;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Writes the report's HTML: a header with the run's identity, a row of cards with the figures a
 * reader looks for first, the charts, the faults and recoveries, the workers and the settings.
 * Everything is inline (the style sheet, the charts as SVG), so the page opens offline and can be
 * mailed or archived as one file. Without summary.json the page says the run did not finish and
 * takes what it can from metrics.jsonl.
 */
final class ReportHtml {

  /** Rows of the event list; a fault-heavy run has more events than anyone reads. */
  static final int MAX_EVENT_ROWS = 1000;

  /** Top-level summary.json fields the page shows elsewhere, in their own tables. */
  private static final Set<String> OWN_TABLES = Set.of("settings", "distributed", "faults");

  private final Path runDir;
  private final RunMetrics metrics;
  private final Optional<SummaryJson> summary;
  private final List<ReportCharts.Figure> figures;
  private final List<EventGroups.Group> groups;
  private final List<String> workers;
  private final StringBuilder out = new StringBuilder(1 << 16);

  ReportHtml(Path runDir, RunMetrics metrics, Optional<SummaryJson> summary, List<ReportCharts.Figure> figures,
      List<EventGroups.Group> groups, List<String> workers) {
    this.runDir = runDir;
    this.metrics = metrics;
    this.summary = summary;
    this.figures = List.copyOf(figures);
    this.groups = List.copyOf(groups);
    this.workers = List.copyOf(workers);
  }

  /** The page, generated at {@code now}. */
  String render(Instant now) {
    out.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
        .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
        .append("<title>").append(esc(runName())).append(" · syncgrad run report</title>\n")
        .append("<style>\n").append(styleSheet()).append("</style>\n</head>\n<body>\n<main>\n");
    header();
    cards();
    charts();
    eventsAndFaultCounts();
    eventList();
    nodes();
    settings();
    out.append("<footer>Written by <code>syncgrad report</code> at ").append(esc(Formats.time(now)))
        .append(" from ").append(MetricsFile.NAME).append(" (").append(Formats.number(metrics.steps().size()))
        .append(" steps, ").append(metrics.evals().size()).append(" evaluations, ")
        .append(Formats.number(metrics.events().size())).append(" events)")
        .append(summary.isPresent() ? " and " + SummaryJson.NAME : "")
        .append(". Self-contained: it loads nothing and opens offline.</footer>\n");
    out.append("</main>\n</body>\n</html>\n");
    return out.toString();
  }

  private String runName() {
    Path name = runDir.toAbsolutePath().normalize().getFileName();
    return name == null ? runDir.toString() : name.toString();
  }

  private void header() {
    boolean finished = summary.isPresent();
    out.append("<header class=\"run\">\n<div class=\"title\">\n<div class=\"eyebrow\">syncgrad run report</div>\n")
        .append("<h1>").append(esc(runName())).append("</h1>\n<div class=\"meta\">");
    text("model").ifPresent(m -> meta("model", m));
    text("data").ifPresent(d -> meta("data", d));
    metrics.firstTime().ifPresent(t -> meta("first step", Formats.time(t)));
    if (Double.isFinite(number("wall_seconds"))) {
      meta("wall time", Formats.duration(number("wall_seconds")));
    } else if (metrics.firstTime().isPresent() && metrics.lastTime().isPresent()) {
      meta("first to last line", Formats.duration(Duration.between(metrics.firstTime().get(),
          metrics.lastTime().get())));
    }
    out.append("</div>\n<dl class=\"ids\">");
    text("weights_sha256").ifPresent(h -> out.append("<dt>weights sha256</dt><dd>").append(esc(h)).append("</dd>"));
    text("kernel").ifPresent(k -> out.append("<dt>kernel</dt><dd>").append(esc(k)).append("</dd>"));
    text("run_id").ifPresent(r -> out.append("<dt>run id</dt><dd>").append(esc(r)).append("</dd>"));
    out.append("<dt>directory</dt><dd>").append(esc(runDir.toAbsolutePath().normalize().toString())).append("</dd>");
    out.append("</dl>\n</div>\n");
    out.append(finished ? "<span class=\"pill ok\">finished</span>\n"
        : "<span class=\"pill warn\">did not finish</span>\n");
    out.append("</header>\n");
    if (!finished) {
      out.append("<div class=\"banner\"><b>This run did not finish:</b> it has no ").append(SummaryJson.NAME)
          .append(". It is still running, or it stopped");
      if (metrics.lastStep() > 0) {
        out.append(" after step ").append(metrics.lastStep());
      }
      metrics.lastTime().ifPresent(t -> out.append("; ").append(MetricsFile.NAME).append(" was last written at ")
          .append(esc(Formats.time(t))));
      out.append(". The page shows what ").append(MetricsFile.NAME).append(" holds; <code>syncgrad report ")
          .append(esc(runDir.toString())).append("</code> writes it again.");
      if (metrics.incompleteTail()) {
        out.append(" Its last line was incomplete and is left out.");
      }
      out.append("</div>\n");
    }
  }

  private void meta(String label, String value) {
    out.append("<span>").append(esc(label)).append(" <b>").append(esc(value)).append("</b></span>");
  }

  private void cards() {
    out.append("<section class=\"cards\">\n");
    accuracyCard();
    hashCard();
    throughputCard();
    workersCard();
    faultsCard();
    stepsCard();
    out.append("</section>\n");
  }

  private void accuracyCard() {
    Optional<RunMetrics.Eval> lastEval = metrics.evals().isEmpty() ? Optional.empty()
        : Optional.of(metrics.evals().get(metrics.evals().size() - 1));
    double accuracy = summary.map(s -> s.number("test_accuracy")).filter(Double::isFinite)
        .orElse(lastEval.map(RunMetrics.Eval::testAccuracy).orElse(Double.NaN));
    double loss = summary.map(s -> s.number("test_loss")).filter(Double::isFinite)
        .orElse(lastEval.map(RunMetrics.Eval::testLoss).orElse(Double.NaN));
    String sub = !Double.isFinite(loss) ? "no evaluation yet" : "test loss " + Formats.number(loss)
        + (summary.isEmpty() && lastEval.isPresent() ? " at step " + lastEval.get().step() : "");
    card("Test accuracy", Double.isFinite(accuracy) ? String.format(Locale.ROOT, "%.2f %%", 100 * accuracy) : "—",
        sub, ChartStyle.PRIMARY, false);
  }

  private void hashCard() {
    Optional<String> hash = text("weights_sha256");
    card("Weights sha256", hash.map(h -> h.substring(0, Math.min(16, h.length())) + "…").orElse("—"),
        hash.isPresent() ? "of the final weights; in full above" : "written when the run ends", ChartStyle.VALIDATION,
        true);
  }

  private void throughputCard() {
    double sps = number("samples_per_second");
    String sub = "during training";
    if (!Double.isFinite(sps)) {
      sps = Series.of(metrics.steps(), s -> s.step(), RunMetrics.Step::samplesPerSecond).meanY();
      sub = "mean of the steps so far";
    } else if (Double.isFinite(number("train_seconds")) && Double.isFinite(number("wall_seconds"))) {
      sub = Formats.duration(number("train_seconds")) + " training of " + Formats.duration(number("wall_seconds"))
          + " wall";
    }
    card("Samples / s", Double.isFinite(sps) ? Formats.number(Math.round(sps)) : "—", sub, ChartStyle.THROUGHPUT,
        false);
  }

  private void workersCard() {
    double count = number("workers");
    int n = Double.isFinite(count) ? (int) count : workers.size();
    JsonNode distributed = summary.map(s -> s.root().path("distributed")).orElse(MissingNode.getInstance());
    String slowest = distributed.path("slowest_worker").asText("");
    JsonNode slowestMs = distributed.path("compute_ms_per_step").path(slowest);
    if (summary.isPresent() && !distributed.isObject()) {
      double threads = number("threads");
      card("Workers", "one node", "the one-node trainer" + (Double.isFinite(threads) ? ", "
          + Formats.number(threads) + " threads" : ""), ChartStyle.worker(1), false);
      return;
    }
    String sub = slowest.isEmpty() ? "named in " + MetricsFile.NAME : "slowest " + slowest
        + (slowestMs.isNumber() ? ", " + Formats.number(slowestMs.asDouble()) + " ms/step" : "");
    card("Workers", n == 0 ? "—" : String.valueOf(n), sub, ChartStyle.worker(1), false);
  }

  private void faultsCard() {
    long injected = count("fault");
    long lost = metrics.events().stream().filter(e -> e.kind().equals("worker_lost")).count();
    JsonNode faults = summary.map(s -> s.root().path("faults")).orElse(MissingNode.getInstance());
    if (faults.path("injected").isNumber()) {
      injected = faults.path("injected").asLong();
      lost = faults.path("workers_lost").asLong(lost);
    }
    List<String> notes = new ArrayList<>();
    notes.add(lost + " worker" + (lost == 1 ? "" : "s") + " lost");
    if (faults.path("shards_reassigned").isNumber()) {
      notes.add(faults.path("shards_reassigned").asLong() + " shards reassigned");
    }
    long recoveries = count("recovery");
    notes.add(recoveries + (recoveries == 1 ? " recovery" : " recoveries"));
    card("Faults injected", Formats.number(injected), String.join(" · ", notes),
        injected > 0 ? ChartStyle.FAULTS.get(0) : ChartStyle.CHECKPOINT, false);
  }

  private void stepsCard() {
    double steps = number("steps");
    List<String> notes = new ArrayList<>();
    if (Double.isFinite(number("epochs"))) {
      notes.add(Formats.number(number("epochs")) + " epochs");
    }
    if (Double.isFinite(number("batch_size"))) {
      notes.add("batch " + Formats.number(number("batch_size")));
    }
    if (Double.isFinite(number("shards"))) {
      notes.add(Formats.number(number("shards")) + " shards");
    }
    card("Steps", Formats.number(Double.isFinite(steps) ? steps : metrics.lastStep()),
        notes.isEmpty() ? "so far" : String.join(" · ", notes), ChartStyle.SECONDARY, false);
  }

  private long count(String type) {
    return metrics.events().stream().filter(e -> e.type().equals(type)).count();
  }

  private void card(String label, String value, String sub, Color accent, boolean mono) {
    out.append("<div class=\"card\" style=\"--accent:").append(ChartStyle.css(accent)).append("\">")
        .append("<div class=\"label\">").append(esc(label)).append("</div>")
        .append("<div class=\"value").append(mono ? " mono" : "").append("\">").append(esc(value)).append("</div>")
        .append("<div class=\"sub\">").append(esc(sub)).append("</div></div>\n");
  }

  private void charts() {
    out.append("<section class=\"charts\">\n");
    for (ReportCharts.Figure f : figures) {
      out.append("<figure class=\"chart").append(f.wide() ? " wide" : "").append("\" id=\"chart-").append(f.id())
          .append("\">\n<figcaption><h2>").append(esc(f.title())).append("</h2><p>").append(esc(f.caption()))
          .append("</p></figcaption>\n");
      if (f.svg().isEmpty()) {
        out.append("<div class=\"empty\">Nothing to draw</div>\n");
      } else {
        out.append(f.svg());
      }
      out.append("</figure>\n");
    }
    out.append("</section>\n");
  }

  private void eventsAndFaultCounts() {
    JsonNode faults = summary.map(s -> s.root().path("faults")).orElse(MissingNode.getInstance());
    boolean both = !groups.isEmpty() && faults.isObject();
    if (groups.isEmpty() && !faults.isObject()) {
      return;
    }
    out.append(both ? "<div class=\"two\">\n" : "");
    if (!groups.isEmpty()) {
      out.append("<section class=\"panel\"><h2>Events by kind</h2><p>Faults injected by <code>--fault</code>, what ")
          .append("the coordinator did about them, checkpoints and resumes, from ").append(MetricsFile.NAME)
          .append(".</p><table><thead><tr><th>type</th><th>kind</th><th class=\"num\">count</th>")
          .append("<th class=\"num\">first step</th><th class=\"num\">last step</th></tr></thead><tbody>\n");
      for (EventGroups.Group g : groups) {
        out.append("<tr><td>").append(swatch(g.color())).append(esc(g.type())).append("</td><td>")
            .append(esc(g.label())).append("</td><td class=\"num\">").append(Formats.number(g.events().size()))
            .append("</td><td class=\"num\">").append(g.firstStep()).append("</td><td class=\"num\">")
            .append(g.lastStep()).append("</td></tr>\n");
      }
      out.append("</tbody></table></section>\n");
    }
    if (faults.isObject()) {
      out.append("<section class=\"panel\"><h2>Fault counts</h2><p>From ").append(SummaryJson.NAME)
          .append(": what was injected and what the cluster did about it over the whole run.</p>");
      keyValues(faults, Set.of());
      out.append("</section>\n");
    }
    out.append(both ? "</div>\n" : "");
  }

  /**
   * The events one by one: those that change the cluster (recoveries, scripted faults, checkpoints,
   * resumes) in view, and every event, message faults included, behind a disclosure, since a run
   * with message faults has hundreds of them.
   */
  private void eventList() {
    List<RunMetrics.Event> all = metrics.events();
    if (all.isEmpty()) {
      return;
    }
    List<RunMetrics.Event> notable = all.stream().filter(e -> !EventGroups.isMessageFault(e)).toList();
    out.append("<section class=\"panel\"><h2>Recoveries, checkpoints and node faults</h2><p>");
    if (notable.isEmpty()) {
      out.append("None: every event of this run is a message fault (below).</p>");
    } else {
      out.append("In the order they were written.</p>");
      eventTable(notable);
    }
    if (notable.size() < all.size()) {
      out.append("<details><summary>Every event, message faults included (")
          .append(Formats.number(all.size())).append(")</summary>");
      eventTable(all);
      out.append("</details>");
    }
    out.append("</section>\n");
  }

  private void eventTable(List<RunMetrics.Event> events) {
    out.append("<div class=\"scroll\"><table><thead><tr><th class=\"num\">step</th><th>time (UTC)</th>")
        .append("<th>event</th><th>worker</th><th class=\"num\">generation</th><th>what</th></tr></thead><tbody>\n");
    Map<String, Color> colors = new HashMap<>();
    groups.forEach(g -> colors.put(g.type() + "\u0000" + g.kind(), g.color()));
    for (RunMetrics.Event e : events.subList(0, Math.min(events.size(), MAX_EVENT_ROWS))) {
      out.append("<tr><td class=\"num\">").append(e.step()).append("</td><td class=\"mono\">")
          .append(Formats.clock(e.time())).append("</td><td>")
          .append(swatch(colors.getOrDefault(e.type() + "\u0000" + e.kind(), ChartStyle.CHECKPOINT)))
          .append(esc(e.type().equals(e.kind()) ? e.kind() : e.type() + ": " + e.kind().replace('_', ' ')))
          .append("</td><td>").append(esc(e.worker())).append("</td><td class=\"num\">")
          .append(e.generation() >= 0 ? String.valueOf(e.generation()) : "").append("</td><td>").append(esc(e.what()))
          .append("</td></tr>\n");
    }
    out.append("</tbody></table></div>");
    if (events.size() > MAX_EVENT_ROWS) {
      out.append("<p class=\"note\">The first ").append(Formats.number(MAX_EVENT_ROWS)).append(" of ")
          .append(Formats.number(events.size())).append("; the rest are in ").append(MetricsFile.NAME).append(".</p>");
    }
  }

  private static String swatch(Color color) {
    return "<span class=\"swatch\" style=\"background:" + ChartStyle.css(color) + "\"></span>";
  }

  private void nodes() {
    JsonNode d = summary.map(s -> s.root().path("distributed")).orElse(MissingNode.getInstance());
    if (!d.isObject()) {
      return;
    }
    out.append("<section class=\"panel\"><h2>Nodes</h2><p>Per step, from ").append(SummaryJson.NAME)
        .append(": the shards each worker holds at the end, its compute time and that time's share of the step, ")
        .append("and the bytes each node sent and received.</p>")
        .append("<table><thead><tr><th>node</th><th>shards</th><th class=\"num\">compute ms</th>")
        .append("<th class=\"num\">share of step</th><th class=\"num\">sent</th><th class=\"num\">received</th>")
        .append("</tr></thead><tbody>\n");
    List<String> nodes = new ArrayList<>(workers);
    d.path("traffic").fieldNames().forEachRemaining(n -> {
      if (!nodes.contains(n)) {
        nodes.add(n);
      }
    });
    for (String node : nodes) {
      int w = workers.indexOf(node);
      JsonNode shards = d.path("shard_assignment").path(node);
      JsonNode traffic = d.path("traffic").path(node);
      out.append("<tr><td>").append(swatch(w >= 0 ? ChartStyle.worker(w) : ChartStyle.CHECKPOINT)).append(esc(node))
          .append("</td><td>").append(shards.isArray() ? esc(shardList(shards)) : "")
          .append("</td><td class=\"num\">").append(numberCell(d.path("compute_ms_per_step").path(node)))
          .append("</td><td class=\"num\">").append(percentCell(d.path("compute_share_of_step").path(node)))
          .append("</td><td class=\"num\">").append(bytesCell(traffic.path("sent_bytes_per_step")))
          .append("</td><td class=\"num\">").append(bytesCell(traffic.path("received_bytes_per_step")))
          .append("</td></tr>\n");
    }
    out.append("</tbody></table>");
    keyValues(d, Set.of("compute_ms_per_step", "compute_share_of_step", "traffic", "shard_assignment"));
    out.append("</section>\n");
  }

  private static String shardList(JsonNode shards) {
    List<String> s = new ArrayList<>();
    shards.forEach(v -> s.add(v.asText()));
    return String.join(", ", s);
  }

  private static String numberCell(JsonNode v) {
    return v.isNumber() ? Formats.number(v.asDouble()) : "";
  }

  private static String percentCell(JsonNode v) {
    return v.isNumber() ? String.format(Locale.ROOT, "%.1f %%", 100 * v.asDouble()) : "";
  }

  private static String bytesCell(JsonNode v) {
    return v.isNumber() ? Formats.bytes(v.asDouble()) : "";
  }

  private void settings() {
    if (summary.isEmpty()) {
      return;
    }
    JsonNode root = summary.get().root();
    JsonNode settings = root.path("settings");
    if (settings.isObject()) {
      out.append("<section class=\"panel\"><h2>Settings</h2><p>As the run used them (<code>settings</code> in ")
          .append(SummaryJson.NAME).append(").</p>");
      keyValues(settings, Set.of());
      out.append("</section>\n");
    }
    out.append("<section class=\"panel\"><h2>").append(settings.isObject() ? "Summary" : "Settings and results")
        .append("</h2><p>Every other field of ").append(SummaryJson.NAME).append(".</p>");
    keyValues(root, OWN_TABLES);
    out.append("</section>\n");
  }

  /** The fields of {@code object} but {@code skip} as a compact grid of name and value. */
  private void keyValues(JsonNode object, Set<String> skip) {
    out.append("<dl class=\"kv\">");
    for (Iterator<Map.Entry<String, JsonNode>> it = object.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!skip.contains(e.getKey())) {
        out.append("<div><dt>").append(esc(e.getKey())).append("</dt><dd>").append(esc(Formats.value(e.getValue())))
            .append("</dd></div>");
      }
    }
    out.append("</dl>\n");
  }

  private Optional<String> text(String name) {
    return summary.flatMap(s -> s.text(name));
  }

  private double number(String name) {
    return summary.map(s -> s.number(name)).orElse(Double.NaN);
  }

  private static String esc(String s) {
    return Html.escape(s);
  }

  private static String styleSheet() {
    try (InputStream in = ReportHtml.class.getResourceAsStream("report.css")) {
      if (in == null) {
        throw new IllegalStateException("report.css is missing from the jar");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
