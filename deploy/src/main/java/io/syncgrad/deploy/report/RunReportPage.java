package io.syncgrad.deploy.report;

import io.syncgrad.common.checkpoint.CheckpointStore;
import io.syncgrad.common.error.UserException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

/**
 * A run's report, {@code RUN/report.html}: one self-contained page with the run's settings,
 * results, charts (loss, evaluations, throughput, each worker's compute time, the split of a
 * step, faults and recoveries) and its events, for a person to open after, or during, a run. It
 * is made from the files the run leaves, {@code metrics.jsonl} and {@code summary.json}, so it can
 * be made again at any time ({@code syncgrad report RUN}), also for a run that is still going or
 * that crashed.
 */
public final class RunReportPage {

  /** The page's file name in the run directory. */
  public static final String FILE_NAME = "report.html";

  private RunReportPage() {}

  /**
   * Writes {@code runDir/report.html} from the run's files, atomically: a reader sees the previous
   * page or the new one, never half of one. Takes about a second for a 50,000-step run.
   *
   * @return the page's path, {@code runDir.resolve("report.html")}
   * @throws UserException if {@code runDir} is not a run directory, or one of its files is
   *                       malformed; the message names the file and the line
   */
  public static Path write(Path runDir) throws IOException {
    Path target = runDir.resolve(FILE_NAME);
    CheckpointStore.writeAtomically(target, render(runDir, Instant.now()).getBytes(StandardCharsets.UTF_8));
    return target;
  }

  /** The page for the run in {@code runDir}, as written at {@code now}. */
  static String render(Path runDir, Instant now) throws IOException {
    if (!Files.isDirectory(runDir)) {
      throw new UserException(runDir + ": no such run directory");
    }
    RunMetrics metrics = MetricsFile.read(runDir.resolve(MetricsFile.NAME));
    Optional<SummaryJson> summary = SummaryJson.read(runDir);
    List<String> workers = workers(metrics, summary);
    List<EventGroups.Group> groups = EventGroups.of(metrics.events());
    int batchSize = summary.map(s -> s.number("batch_size")).filter(Double::isFinite).map(Double::intValue).orElse(0);
    List<ReportCharts.Figure> figures = new ReportCharts(metrics, batchSize, workers, groups).all();
    return new ReportHtml(runDir, metrics, summary, figures, groups, workers).render(now);
  }

  /** Every worker the files name, sorted: the order that gives each its colour on the page. */
  private static List<String> workers(RunMetrics metrics, Optional<SummaryJson> summary) {
    TreeSet<String> names = new TreeSet<>();
    metrics.workerTimes().forEach(t -> names.addAll(t.computeMillis().keySet()));
    metrics.steps().stream().map(RunMetrics.Step::worker).filter(w -> w != null).forEach(names::add);
    summary.ifPresent(s -> {
      s.root().path("distributed").path("compute_ms_per_step").fieldNames().forEachRemaining(names::add);
      s.root().path("distributed").path("shard_assignment").fieldNames().forEachRemaining(names::add);
    });
    return List.copyOf(names);
  }
}
