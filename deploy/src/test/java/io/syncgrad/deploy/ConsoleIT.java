package io.syncgrad.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.syncgrad.common.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a person sees on the console, from the shaded jar started as {@code deploy/bin/syncgrad}
 * starts it (no JVM options beyond the collector): progress and results, no log lines and no
 * JVM or logging-library notices; each node's full log in {@code RUN/logs/}.
 */
class ConsoleIT {

  private static final long TIMEOUT_SECONDS = 180;
  /** Log lines, the JVM's incubator notice, SLF4J's notices, java.util.logging's default format. */
  private static final Pattern NOISE = Pattern.compile(
      " INFO | DEBUG |WARNING: Using incubator|SLF4J|java\\.util\\.logging|^[A-Z][a-z]{2} \\d{2}, \\d{4}",
      Pattern.MULTILINE);

  @TempDir
  static Path dir;
  static Path data;

  @BeforeAll
  static void sample() throws IOException {
    data = Fixtures.sampleFolder(dir.resolve("sample"));
  }

  /** The exit code and everything the command printed, stdout and stderr together. */
  private record Run(int code, String output) {}

  private static Run syncgrad(String name, String... args) throws Exception {
    Path jar = Path.of("target", "syncgrad.jar").toAbsolutePath();
    assertTrue(Files.isRegularFile(jar), "the shaded jar is built before the integration tests: " + jar);
    List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
        "-XX:+UseSerialGC", "-jar", jar.toString()));
    command.addAll(List.of(args));
    Path log = dir.resolve(name + ".console");
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("OMP_NUM_THREADS", "1");
    Process p = pb.start();
    if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
      throw new AssertionError(name + " did not end within " + TIMEOUT_SECONDS + " s:\n" + Files.readString(log));
    }
    return new Run(p.exitValue(), Files.readString(log));
  }

  private static void assertQuiet(Run r) {
    var noise = NOISE.matcher(r.output());
    assertFalse(noise.find(), "the console has progress and results only, found '" + (noise.find(0)
        ? r.output().lines().filter(l -> NOISE.matcher(l).find()).findFirst().orElse("") : "") + "' in:\n"
        + r.output());
  }

  @Test
  void aSimulatedClusterPrintsProgressAndResultsAndLogsToTheRunFolder() throws Exception {
    Path out = dir.resolve("train");
    Run r = syncgrad("train", "train", "--workers", "2", "--data", data.toString(), "--layers", "16",
        "--max-steps", "20", "--out", out.toString());
    assertEquals(0, r.code(), r.output());
    assertQuiet(r);
    assertTrue(r.output().contains("weights sha256 "), r.output());
    String log = Files.readString(out.resolve("logs").resolve("train.log"));
    assertTrue(log.contains(" INFO ") && log.contains("joined"), "the nodes' full log is in RUN/logs/: " + log);
  }

  @Test
  void verboseBringsTheLogBack() throws Exception {
    Run r = syncgrad("verbose", "train", "--workers", "1", "--data", data.toString(), "--layers", "16", "--max-steps", "5",
        "--verbose", "--out", dir.resolve("verbose").toString());
    assertEquals(0, r.code(), r.output());
    assertTrue(r.output().contains(" INFO "), r.output());
  }

  @Test
  void launchTakesEveryTrainOptionAndKeepsTheNodesLogsInTheRunFolder() throws Exception {
    Path out = dir.resolve("launch");
    Run r = syncgrad("launch", "launch", "--workers", "1", "--plain", "--data", data.toString(), "--layers", "16",
        "--output-activation", "softmax", "--max-steps", "5", "--out", out.toString());
    assertEquals(0, r.code(), r.output());
    assertQuiet(r);
    for (String node : List.of("coordinator", "worker-00")) {
      assertTrue(Files.readString(out.resolve("logs").resolve(node + ".log")).contains(" INFO "), node);
    }
  }

  @Test
  void thePureJavaKernelRunsWithTheVectorApi() throws Exception {
    Path out = dir.resolve("java");
    Run r = syncgrad("java", "train", "--kernel", "java", "--data", data.toString(), "--layers", "16",
        "--max-steps", "3", "--out", out.toString());
    assertEquals(0, r.code(), r.output());
    assertTrue(Files.readString(out.resolve("summary.json")).contains("java-fma/vector-api/"),
        "the JVM started again with the Vector API module: " + Files.readString(out.resolve("summary.json")));
  }

  @Test
  void anUnknownOptionIsOneLineWithTheNearestValidOne() throws Exception {
    Run r = syncgrad("unknown", "train", "--max-step", "3");
    assertEquals(SyncgradCli.USER_ERROR, r.code(), r.output());
    assertEquals(List.of("syncgrad train: unknown option '--max-step'; did you mean '--max-steps'?",
        "See 'syncgrad train --help'."), r.output().lines().toList());
  }
}
