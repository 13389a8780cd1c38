package io.syncgrad.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.syncgrad.common.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code syncgrad launch --workers 2} as a user runs it: the shaded jar, three JVM processes on
 * 127.0.0.1, and the one-node trainer's weights hash at the end.
 */
class LaunchIT {

  private static final long TIMEOUT_SECONDS = 240;

  @TempDir
  Path dir;

  private List<String> options(String... more) throws IOException {
    Path data = Files.isDirectory(dir.resolve("sample")) ? dir.resolve("sample")
        : Fixtures.sampleFolder(dir.resolve("sample"));
    List<String> options = new ArrayList<>(List.of("--data", data.toString(), "--layers", "32", "--shards", "8",
        "--max-steps", "25", "--seed", "7", "--kernel", "native"));
    options.addAll(List.of(more));
    return options;
  }

  /** The one-node trainer's hash for the same options (without the checkpoints). */
  private String reference(List<String> options) throws IOException {
    List<String> flags = new ArrayList<>(options);
    int at = flags.indexOf("--checkpoint-every");
    if (at >= 0) {
      flags.subList(at, at + 2).clear();
    }
    return OneNode.hash(flags, dir.resolve("local"));
  }

  @Test
  void twoWorkerProcessesGiveTheOneNodeBytes() throws Exception {
    List<String> options = options();
    JsonNode summary = launch("plain", 2, options, List.of());
    assertEquals(reference(options), summary.get("weights_sha256").asText());
    assertEquals(2, summary.get("workers").asInt());
    long parameterBytes = summary.get("parameters").asLong() * Float.BYTES;
    JsonNode traffic = summary.get("distributed").get("traffic");
    assertEquals(3, traffic.size(), traffic.toString());
    traffic.fields().forEachRemaining(e -> assertTrue(e.getValue().get("sent_bytes_per_step").asLong()
        <= 3 * parameterBytes, e.getKey() + " sends more than three times the parameters a step: " + traffic));
  }

  @Test
  void killedAndPausedWorkerProcessesAndAKilledCoordinatorChangeNothing() throws Exception {
    List<String> options = options("--checkpoint-every", "5");
    String reference = reference(options);
    JsonNode killed = launch("kill-worker", 4, options, List.of("--fault", "kill-worker:1@8", "--step-timeout", "3s"));
    assertEquals(reference, killed.get("weights_sha256").asText());
    assertTrue(killed.get("faults").get("workers_lost").asLong() >= 1, killed.toString());
    List<String> longer = new ArrayList<>(options);
    longer.set(longer.indexOf("--max-steps") + 1, "150");
    JsonNode paused = launch("pause-worker", 3, longer, List.of("--fault", "pause-worker:1@8:3000", "--step-timeout",
        "1s"));
    assertEquals(reference(longer), paused.get("weights_sha256").asText());
    assertTrue(paused.get("faults").get("shards_reassigned").asLong() >= 1, paused.toString());
    assertTrue(Files.readString(dir.resolve("pause-worker").resolve("metrics.jsonl"))
        .contains("\"type\":\"recovery\""), "recoveries are recorded in metrics.jsonl");
    JsonNode resumed = launch("kill-coordinator", 2, options, List.of("--fault", "kill-coordinator@12"));
    assertEquals(reference, resumed.get("weights_sha256").asText());
    assertEquals(1, resumed.get("faults").get("resumes").asLong());
    long from = resumed.get("resumed_from_step").asLong();
    assertTrue(from >= 10 && from % 5 == 0, "resumed from the newest checkpoint before the kill, got step " + from);
  }

  /**
   * Every worker stopped at once past the step deadline (a host that stalls, a collection in each)
   * misses the generation formed meanwhile. No readiness message will come from workers that are
   * ready already: the coordinator asks them again, and the run goes on within seconds rather
   * than failing when --wait-timeout is up.
   */
  @Test
  void workersStoppedTogetherPastTheDeadlineAreAskedAgain() throws Exception {
    List<String> options = options();
    options.set(options.indexOf("--max-steps") + 1, "200");
    JsonNode paused = launch("pause-all", 2, options, List.of("--fault", "pause-worker:0@8:2500", "--fault",
        "pause-worker:1@8:2500", "--step-timeout", "500ms", "--wait-timeout", "60s"));
    assertEquals(reference(options), paused.get("weights_sha256").asText());
    String coordinator = Files.readString(dir.resolve("pause-all").resolve("logs").resolve("coordinator.log"));
    assertTrue(coordinator.contains("Too few workers answered for generation"), "both workers sat out a generation");
  }

  /**
   * Worker processes that all fail at their start (here: their metrics ports are taken) leave
   * nobody to train: launch stops the coordinator and says why at once, instead of the
   * coordinator waiting --wait-timeout (ten minutes) for workers that cannot come.
   */
  @Test
  void workerProcessesThatAllFailEndTheLaunchAtOnce() throws Exception {
    java.net.ServerSocket[] taken = takenMetricsPorts();
    try (java.net.ServerSocket first = taken[0]; java.net.ServerSocket second = taken[1]) {
      // Worker i serves its metrics on P+1+i: both ports are taken, P (the coordinator's) is free.
      int metricsPort = first.getLocalPort() - 1;
      Path jar = Path.of("target", "syncgrad.jar").toAbsolutePath();
      List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-jar",
          jar.toString(), "launch", "--workers", "2", "--plain", "--metrics-port", String.valueOf(metricsPort),
          "--out", dir.resolve("no-workers").toString()));
      command.addAll(options());
      Path log = dir.resolve("no-workers.log");
      Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        throw new AssertionError("launch went on without any worker:\n" + Files.readString(log));
      }
      String output = Files.readString(log);
      assertEquals(3, p.exitValue(), output);
      assertTrue(output.contains("every worker process ended before the run did (worker-00 status 2, worker-01 "
          + "status 2)"), output);
      assertTrue(output.contains("cannot serve metrics on 127.0.0.1:" + first.getLocalPort()), output);
    }
  }

  /** Two consecutive loopback ports held open, the port below them free: found by trying a few. */
  private static java.net.ServerSocket[] takenMetricsPorts() throws IOException {
    java.net.InetAddress loopback = java.net.InetAddress.getLoopbackAddress();
    for (int attempt = 0; attempt < 50; attempt++) {
      int free;
      try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, loopback)) {
        free = probe.getLocalPort();
      }
      if (free + 2 > 65535) {
        continue;
      }
      java.net.ServerSocket first = null;
      try {
        first = new java.net.ServerSocket(free + 1, 1, loopback);
        return new java.net.ServerSocket[] {first, new java.net.ServerSocket(free + 2, 1, loopback)};
      } catch (java.net.BindException inUse) {
        if (first != null) {
          first.close();
        }
      }
    }
    throw new AssertionError("no two free consecutive loopback ports found");
  }

  private JsonNode launch(String name, int workers, List<String> options, List<String> extra) throws Exception {
    Path jar = Path.of("target", "syncgrad.jar").toAbsolutePath();
    assertTrue(Files.isRegularFile(jar), "the shaded jar is built before the integration tests: " + jar);
    List<String> command = new ArrayList<>(List.of(
        ProcessHandle.current().info().command().orElse("java"), "-jar", jar.toString(), "launch", "--workers",
        String.valueOf(workers), "--plain"));
    command.addAll(options);
    command.addAll(extra);
    command.addAll(List.of("--out", dir.resolve(name).toString()));
    Path log = dir.resolve(name + ".log");
    Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
      throw new AssertionError("launch did not end within " + TIMEOUT_SECONDS + " s:\n" + Files.readString(log));
    }
    String output = Files.readString(log);
    assertEquals(0, p.exitValue(), output);
    for (String node : List.of("coordinator", "worker-00", "worker-01")) {
      Path nodeLog = dir.resolve(name).resolve("logs").resolve(node + ".log");
      assertTrue(Files.isRegularFile(nodeLog) && Files.readString(nodeLog).contains(" INFO "),
          "every node's full log is in RUN/logs/: " + nodeLog);
    }
    assertFalse(output.contains(" INFO "), "the console is quiet:\n" + output);
    return new ObjectMapper().readTree(dir.resolve(name).resolve("summary.json").toFile());
  }
}
