package io.syncgrad.deploy.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.syncgrad.common.error.UserException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The page made from run directories written by hand; {@code RunReportIT} opens one of a real run in a browser. */
class RunReportPageTest {

  /** A 50,000-step run's page stays small enough to mail. */
  private static final int MAX_PAGE_BYTES = 1_500_000;

  private static final Instant NOW = Instant.parse("2026-12-02T14:00:00Z");

  @TempDir
  Path dir;

  private static int count(String page, String regex) {
    return (int) Pattern.compile(regex).matcher(page).results().count();
  }

  @Test
  void aFinishedClusterRunHasEveryChartAndTable() throws IOException {
    Path run = SyntheticRun.cluster(dir.resolve("run"), 600, true);
    Path page = RunReportPage.write(run);
    assertEquals(run.resolve("report.html"), page);
    String html = Files.readString(page);
    assertEquals(6, count(html, "<svg\\b"), "loss, evaluations, throughput, workers, split, timeline");
    assertTrue(html.contains("class=\"pill ok\">finished"));
    assertTrue(html.contains("5cf925966766e673b1c118200c6870165308798ea6718b4f40cfea40622c42f5"));
    // Chart text is drawn as outlines: the captions say what the charts show, and colours tell series apart.
    assertTrue(html.contains("validation figures (purple)"), "validation figures are drawn when present");
    java.awt.Color purple = ChartStyle.VALIDATION;
    assertTrue(html.contains("rgb(" + purple.getRed() + "," + purple.getGreen() + "," + purple.getBlue() + ")"),
        "in their colour");
    assertTrue(html.contains("Slowest: worker-02"));
    assertTrue(html.contains("<dt>optimizer</dt><dd>adam</dd>"), "the settings object, key by key");
    assertTrue(html.contains("recovery: worker lost"));
    assertFalse(html.contains("Step time derived"), "step_ms is used when the steps carry it");
    assertFalse(Pattern.compile("https?:").matcher(html).find(), "the page names no URL");
    assertFalse(Files.exists(run.resolve("report.html.tmp-" + ProcessHandle.current().pid())));
  }

  @Test
  void aRunWithoutSummarySaysItDidNotFinish() throws IOException {
    Path run = SyntheticRun.cluster(dir.resolve("crashed"), 300, false);
    Files.writeString(run.resolve("metrics.jsonl"), "{\"type\":\"step\",\"st", java.nio.file.StandardOpenOption.APPEND);
    String html = RunReportPage.render(run, NOW);
    assertTrue(html.contains("did not finish"));
    assertTrue(html.contains("It is still running, or it stopped after step 300"), "names the last step");
    assertTrue(html.contains("Its last line was incomplete and is left out."));
    assertTrue(count(html, "<svg\\b") >= 5, "charts from metrics.jsonl alone");
  }

  @Test
  void olderMetricsDeriveTheStepTimeFromTheThroughput() throws IOException {
    Path run = SyntheticRun.cluster(dir.resolve("old"), 200, true);
    List<String> lines = Files.readAllLines(run.resolve("metrics.jsonl")).stream()
        .filter(l -> !l.contains("\"type\":\"workers\""))
        .map(l -> l.replaceAll(",\"step_ms\":[0-9.]+", ""))
        .toList();
    Files.write(run.resolve("metrics.jsonl"), lines);
    String html = RunReportPage.render(run, NOW);
    assertTrue(html.contains("Step time derived from samples/s and the batch size of 128."));
    assertTrue(html.contains("metrics have no per-worker lines"), "compute times from the step lines instead");
  }

  @Test
  void aLongRunGivesAPageOfReasonableSize() throws IOException {
    Path run = SyntheticRun.cluster(dir.resolve("long"), 50_000, true);
    long t0 = System.nanoTime();
    String html = RunReportPage.render(run, NOW);
    double seconds = (System.nanoTime() - t0) / 1e9;
    assertTrue(html.length() < MAX_PAGE_BYTES, "page of " + html.length() + " characters");
    assertTrue(seconds < 30, seconds + " s");
  }

  @Test
  void notARunDirectoryIsAUserError() throws IOException {
    Path missing = dir.resolve("nothing-here");
    assertEquals(List.of(missing + ": no such run directory"),
        assertThrows(UserException.class, () -> RunReportPage.write(missing)).problems());
    Path empty = Files.createDirectories(dir.resolve("empty"));
    assertTrue(assertThrows(UserException.class, () -> RunReportPage.write(empty)).problems().get(0)
        .startsWith(empty.resolve("metrics.jsonl") + ": no such file"));
    Path badSummary = SyntheticRun.cluster(dir.resolve("bad-summary"), 20, false);
    Files.writeString(badSummary.resolve("summary.json"), "{\n  \"steps\" : 20,\n  oops\n}\n");
    String problem = assertThrows(UserException.class, () -> RunReportPage.write(badSummary)).problems().get(0);
    assertTrue(problem.startsWith(badSummary.resolve("summary.json") + ":3:"), problem);
  }
}
