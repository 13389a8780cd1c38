package io.syncgrad.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.syncgrad.common.testing.Fixtures;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What an operator relies on, against real processes on 127.0.0.1: a run killed whole with
 * SIGKILL and started again with the same command line ({@code --resume auto}) ends with the
 * bytes of an uninterrupted one; {@code /metrics}, {@code /healthz} and {@code /readyz} answer
 * while a run trains; a worker without a coordinator gives up after its join timeout.
 */
class OperationsIT {

  private static final long TIMEOUT_SECONDS = 240;
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  Path dir;

  private List<String> options(int maxSteps) throws IOException {
    Path data = Files.isDirectory(dir.resolve("sample")) ? dir.resolve("sample")
        : Fixtures.sampleFolder(dir.resolve("sample"));
    return new ArrayList<>(List.of("--data", data.toString(), "--layers", "32", "--shards", "8", "--epochs", "1000",
        "--max-steps", String.valueOf(maxSteps), "--seed", "11", "--kernel", "native", "--checkpoint-every", "10"));
  }

  /** The one-node trainer's hash for the same options, run in this JVM without interruption. */
  private String reference(List<String> options) throws IOException {
    return OneNode.hash(options, dir.resolve("reference"));
  }

  @Test
  void oneNodeTrainKilledWholeAndStartedAgainEndsWithTheSameBytes() throws Exception {
    killAndRestart("train", List.of("train"), 1500);
  }

  @Test
  void launchKilledWholeAndStartedAgainEndsWithTheSameBytes() throws Exception {
    killAndRestart("launch", List.of("launch", "--workers", "2"), 400);
  }

  private void killAndRestart(String name, List<String> command, int steps) throws Exception {
    List<String> options = options(steps);
    String reference = reference(options);
    Path out = dir.resolve(name);
    List<String> args = new ArrayList<>(command);
    args.addAll(options);
    args.addAll(List.of("--resume", "auto", "--out", out.toString()));

    // The first start: killed, every process of it, once a few checkpoints are written.
    Process first = start(args, dir.resolve(name + "-1.log"));
    long killedAt = 0;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS);
    while (System.nanoTime() < deadline && first.isAlive() && (killedAt = lastStep(out)) < 35) {
      Thread.sleep(10);
    }
    first.descendants().forEach(ProcessHandle::destroyForcibly);
    first.destroyForcibly();
    first.waitFor();
    killedAt = lastStep(out);
    assertFalse(Files.exists(out.resolve("summary.json")), "the run was killed before its end (step " + killedAt
        + " of " + steps + "):\n" + Files.readString(dir.resolve(name + "-1.log")));
    assertTrue(killedAt >= 10, "killed after its first checkpoint, at step " + killedAt);

    // The same command line again, as a supervisor would run it.
    JsonNode summary = finish(args, dir.resolve(name + "-2.log"), out);
    assertEquals(reference, summary.get("weights_sha256").asText(), "killed at step " + killedAt);
    long from = summary.get("resumed_from_step").asLong();
    assertTrue(from >= 10 && from <= killedAt && from % 10 == 0, "resumed from the newest checkpoint, got " + from);
    assertEquals(1, summary.get("faults").get("resumes").asLong());

    // And once more on the finished run: it starts from the final model and ends at once, the same.
    JsonNode again = finish(args, dir.resolve(name + "-3.log"), out);
    assertEquals(reference, again.get("weights_sha256").asText());
  }

  @Test
  void resumeAutoStartsFreshWithoutACheckpointAndNeedsAnOutputDirectory() throws Exception {
    List<String> options = options(30);
    Path out = dir.resolve("fresh");
    List<String> args = new ArrayList<>(List.of("train"));
    args.addAll(options);
    args.addAll(List.of("--resume", "auto", "--out", out.toString()));
    JsonNode summary = finish(args, dir.resolve("fresh.log"), out);
    assertEquals(reference(options), summary.get("weights_sha256").asText());
    assertEquals(0, summary.get("resumed_from_step").asLong());

    List<String> noOut = new ArrayList<>(List.of("train"));
    noOut.addAll(options);
    noOut.addAll(List.of("--resume", "auto"));
    Process p = start(noOut, dir.resolve("no-out.log"));
    assertTrue(p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS));
    assertEquals(SyncgradCli.USER_ERROR, p.exitValue());
    assertTrue(Files.readString(dir.resolve("no-out.log")).contains("--resume auto needs --out DIR"));
  }

  @Test
  void metricsAndHealthAreServedWhileARunTrains() throws Exception {
    int port = freePorts(3);
    List<String> args = new ArrayList<>(List.of("launch", "--workers", "2", "--metrics-port", String.valueOf(port)));
    args.addAll(options(100_000));
    args.addAll(List.of("--out", dir.resolve("metrics").toString()));
    Process p = start(args, dir.resolve("metrics.log"));
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    try {
      String first = awaitMetrics(http, port, p, "syncgrad_step", 1);
      double step1 = value(first, "syncgrad_step");
      Thread.sleep(1500);
      String second = get(http, port, "/metrics").body();
      double step2 = value(second, "syncgrad_step");
      assertTrue(step2 > step1, "the step advances between scrapes: " + step1 + " then " + step2);
      for (String series : List.of("syncgrad_epoch", "syncgrad_loss", "syncgrad_learning_rate",
          "syncgrad_samples_per_second", "syncgrad_samples_total", "syncgrad_step_seconds",
          "syncgrad_step_phase_seconds{phase=\"compute\"}", "syncgrad_step_phase_seconds{phase=\"exchange_update\"}",
          "syncgrad_step_compute_seconds{worker=\"worker-00\"}", "syncgrad_step_compute_seconds{worker=\"worker-01\"}",
          "syncgrad_workers{state=\"ready\"}", "syncgrad_workers_lost_total", "syncgrad_shards_reassigned_total",
          "syncgrad_stale_rejected_total", "syncgrad_duplicates_rejected_total", "syncgrad_faults_injected_total",
          "syncgrad_checkpoint_age_seconds", "syncgrad_checkpoints_written_total")) {
        assertTrue(Double.isFinite(value(second, series)), series + " is served:\n" + second);
      }
      assertEquals(2.0, value(second, "syncgrad_workers{state=\"ready\"}"));
      assertTrue(value(second, "syncgrad_checkpoints_written_total") >= 1, second);
      assertTrue(second.contains("# TYPE syncgrad_workers_lost_total counter"), "counters are typed as such");
      assertEquals(200, get(http, port, "/healthz").statusCode());
      HttpResponse<String> ready = get(http, port, "/readyz");
      assertEquals(200, ready.statusCode(), ready.body());
      // Each worker process serves its own, one port up.
      StringBuilder served = new StringBuilder(second);
      for (int w = 0; w < 2; w++) {
        String worker = awaitMetrics(http, port + 1 + w, p, "syncgrad_worker_steps_total", 1);
        served.append(worker);
        String id = String.format("worker-%02d", w);
        assertTrue(value(worker, "syncgrad_worker_steps_total{worker=\"" + id + "\"}") >= 1, worker);
        assertEquals(1.0, value(worker, "syncgrad_worker_ready{worker=\"" + id + "\"}"));
        assertEquals(200, get(http, port + 1 + w, "/readyz").statusCode());
      }
      assertEquals(404, get(http, port, "/nothing").statusCode());
      // The Grafana dashboard plots only series that are served.
      Matcher names = Pattern.compile("syncgrad_[a-z_]+").matcher(Files.readString(Path.of("grafana-dashboard.json")));
      while (names.find()) {
        assertTrue(served.toString().contains("\n" + names.group() + " ") || served.toString().contains("\n"
            + names.group() + "{"), "the dashboard's " + names.group() + " is served");
      }
    } finally {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }
    List<String> lines = Files.readAllLines(dir.resolve("metrics").resolve("metrics.jsonl"));
    JsonNode line = JSON.readTree(lines.get(0));
    assertEquals(line.get("step").asLong(), 1);
    Instant time = Instant.parse(line.get("time").asText());
    assertTrue(Duration.between(time, Instant.now()).abs().toMinutes() < 10, "time is now, in UTC: " + time);
  }

  @Test
  void aWorkerWithoutACoordinatorIsNotReadyAndGivesUpAfterItsJoinTimeout() throws Exception {
    int port = freePorts(1);
    int nobody;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      nobody = s.getLocalPort();
    }
    Process p = start(List.of("worker", "--seed-nodes", "127.0.0.1:" + nobody, "--join-timeout", "4s",
        "--metrics-port", String.valueOf(port), "--insecure"), dir.resolve("alone.log"));
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    HttpResponse<String> ready = null;
    for (int i = 0; i < 200 && p.isAlive() && ready == null; i++) {
      try {
        ready = get(http, port, "/readyz");
      } catch (IOException notYet) {
        Thread.sleep(50);
      }
    }
    assertTrue(ready != null, "the worker serves /readyz while it waits");
    assertEquals(503, ready.statusCode(), ready.body());
    assertEquals(200, get(http, port, "/healthz").statusCode());
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the worker gave up");
    String log = Files.readString(dir.resolve("alone.log"));
    assertEquals(SyncgradCli.CLUSTER_UNAVAILABLE, p.exitValue(), log);
    assertTrue(log.contains("no coordinator started a run on it within --join-timeout 4s"), log);
    assertTrue(log.contains("INSECURE: worker") && log.contains("any process that can reach 127.0.0.1 can join"),
        "--insecure is said loudly at the start: " + log);
  }

  // ---- helpers ----

  private static Process start(List<String> args, Path log) throws IOException {
    Path jar = Path.of("target", "syncgrad.jar").toAbsolutePath();
    assertTrue(Files.isRegularFile(jar), "the shaded jar is built before the integration tests: " + jar);
    List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
        "--add-modules", "jdk.incubator.vector", "-jar", jar.toString()));
    command.addAll(args);
    if (args.get(0).equals("train")) {
      command.add("--plain");
    }
    return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
  }

  private JsonNode finish(List<String> args, Path log, Path out) throws Exception {
    Process p = start(args, log);
    if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
      throw new AssertionError("no end within " + TIMEOUT_SECONDS + " s:\n" + Files.readString(log));
    }
    assertEquals(0, p.exitValue(), Files.readString(log));
    return JSON.readTree(out.resolve("summary.json").toFile());
  }

  private static final Pattern STEP = Pattern.compile("^\\{\"type\":\"step\",\"step\":(\\d+)");

  /** The newest step in a run's metrics.jsonl, 0 when none. */
  private static long lastStep(Path out) throws IOException {
    Path metrics = out.resolve("metrics.jsonl");
    if (!Files.isRegularFile(metrics)) {
      return 0;
    }
    long step = 0;
    for (String line : Files.readAllLines(metrics)) {
      Matcher m = STEP.matcher(line);
      if (m.find()) {
        step = Math.max(step, Long.parseLong(m.group(1)));
      }
    }
    return step;
  }

  private static HttpResponse<String> get(HttpClient http, int port, String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Scrapes until {@code series} reaches {@code atLeast} (summed over its labels). */
  private static String awaitMetrics(HttpClient http, int port, Process p, String series, double atLeast)
      throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS);
    String last = "";
    while (System.nanoTime() < deadline && p.isAlive()) {
      try {
        last = get(http, port, "/metrics").body();
        double sum = 0;
        for (String line : last.split("\n")) {
          if (line.startsWith(series + " ") || line.startsWith(series + "{")) {
            sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
          }
        }
        if (sum >= atLeast) {
          return last;
        }
      } catch (IOException notYet) {
        // The node is still starting.
      }
      Thread.sleep(100);
    }
    throw new AssertionError("no " + series + " >= " + atLeast + " on port " + port + ":\n" + last);
  }

  /** The value of one series (name and labels exactly as served), NaN when absent. */
  private static double value(String metrics, String series) {
    for (String line : metrics.split("\n")) {
      if (line.startsWith(series + " ")) {
        return Double.parseDouble(line.substring(series.length() + 1).trim());
      }
    }
    return Double.NaN;
  }

  /** The first of {@code n} consecutive free ports on 127.0.0.1. */
  private static int freePorts(int n) throws IOException {
    for (int attempt = 0; attempt < 50; attempt++) {
      int base;
      try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
        base = s.getLocalPort();
      }
      if (base + n > 65535) {
        continue;
      }
      boolean free = true;
      for (int i = 1; i < n && free; i++) {
        try (ServerSocket s = new ServerSocket(base + i, 1, InetAddress.getLoopbackAddress())) {
          free = true;
        } catch (IOException taken) {
          free = false;
        }
      }
      if (free) {
        return base;
      }
    }
    throw new IOException("no " + n + " consecutive free ports");
  }
}
