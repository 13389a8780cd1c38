package io.syncgrad.deploy.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.syncgrad.common.error.UserException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** metrics.jsonl as the report reads it: what is refused, with its file and line, and what is tolerated. */
class MetricsFileTest {

  @TempDir
  Path dir;

  private Path write(String... lines) throws IOException {
    return Files.write(dir.resolve("metrics.jsonl"), List.of(lines));
  }

  private List<String> problems(Path file) {
    return assertThrows(UserException.class, () -> MetricsFile.read(file)).problems();
  }

  @Test
  void everyBadLineIsNamedWithItsFileAndLine() throws IOException {
    Path f = write(
        SyntheticRun.step(1, 2.3),
        "{\"type\":\"step\",\"step\":2,\"time\":\"" + SyntheticRun.time(2) + "\"}",
        "{\"type\":\"step\",\"step\":3,\"time\":",
        "[1, 2]",
        "{\"type\":\"eval\",\"step\":\"five\",\"time\":\"" + SyntheticRun.time(5)
            + "\",\"test_loss\":0.5,\"test_accuracy\":0.8}",
        "{\"type\":\"step\",\"step\":6,\"time\":\"yesterday\",\"loss\":1.0}",
        "{\"type\":\"workers\",\"step\":10,\"time\":\"" + SyntheticRun.time(10)
            + "\",\"compute_ms\":{\"worker-00\":\"fast\"}}",
        SyntheticRun.step(11, 0.9));
    List<String> problems = problems(f);
    assertEquals(6, problems.size(), String.join("\n", problems));
    assertEquals(f + ":2: field 'loss' must be a number, but it is missing", problems.get(0));
    assertTrue(problems.get(1).startsWith(f + ":3: not a JSON object: Unexpected end-of-input"), problems.get(1));
    assertEquals(f + ":4: expected a JSON object, got [1,2]", problems.get(2));
    assertEquals(f + ":5: field 'step' must be a whole number >= 0, got \"five\"", problems.get(3));
    assertEquals(f + ":6: field 'time' must be an RFC 3339 time in UTC such as \"2026-12-02T13:19:26.577Z\", "
        + "got \"yesterday\"", problems.get(4));
    assertEquals(f + ":7: field 'compute_ms' must be an object of numbers, e.g. {\"worker-00\": 1.9}, got "
        + "{\"worker-00\":\"fast\"}", problems.get(5));
  }

  @Test
  void aFileFullOfProblemsListsTheFirstAndCountsTheRest() throws IOException {
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 25; i++) {
      lines.add("not json");
    }
    Path f = Files.write(dir.resolve("metrics.jsonl"), lines);
    List<String> problems = problems(f);
    assertEquals(MetricsFile.MAX_LISTED_PROBLEMS + 1, problems.size());
    assertTrue(problems.get(19).startsWith(f + ":20: not a JSON object"), problems.get(19));
    assertEquals(f + ": 5 more problems not shown", problems.get(20));
  }

  @Test
  void aMissingFileSaysWhatARunDirectoryHolds() {
    Path f = dir.resolve("metrics.jsonl");
    assertEquals(List.of(f + ": no such file (every run writes it from its first step; is " + dir
        + " the --out directory of a run?)"), problems(f));
  }

  @Test
  void aPartialLastLineIsLeftOutAsOneBeingWritten() throws IOException {
    Path f = dir.resolve("metrics.jsonl");
    Files.writeString(f, SyntheticRun.step(1, 2.3) + "\n" + SyntheticRun.step(2, 2.1) + "\n{\"type\":\"step\",\"st");
    RunMetrics m = MetricsFile.read(f);
    assertTrue(m.incompleteTail());
    assertEquals(2, m.lastStep());
    // The same text with its newline was written whole, so it is wrong, not partial.
    Files.writeString(f, SyntheticRun.step(1, 2.3) + "\n{\"type\":\"step\",\"st\n");
    assertTrue(problems(f).get(0).startsWith(f + ":2: not a JSON object"));
  }

  @Test
  void resumedStepsKeepTheirLastLineAndUnknownTypesAreSkipped() throws IOException {
    Path f = write(SyntheticRun.step(1, 2.3), SyntheticRun.step(2, 2.0), SyntheticRun.step(3, 1.8),
        "{\"type\":\"resume\",\"step\":2,\"time\":\"" + SyntheticRun.time(3) + "\",\"from_step\":2}",
        SyntheticRun.step(3, 1.7),
        "{\"type\":\"gpu\",\"step\":3,\"time\":\"" + SyntheticRun.time(3) + "\",\"watts\":300}",
        "{\"type\":\"step\",\"step\":4,\"time\":\"" + SyntheticRun.time(4) + "\",\"loss\":\"NaN\"}");
    RunMetrics m = MetricsFile.read(f);
    assertEquals(List.of(1L, 2L, 3L, 4L), m.steps().stream().map(RunMetrics.Step::step).toList());
    assertEquals(1.7, m.steps().get(2).loss());
    assertTrue(Double.isNaN(m.steps().get(3).loss()), "a diverged loss is written as \"NaN\"");
    assertTrue(Double.isNaN(m.steps().get(0).stepMillis()), "older files have no step_ms");
    assertEquals(1, m.events().size());
    assertEquals("from step 2", m.events().get(0).what());
    assertFalse(m.incompleteTail());
  }
}
