package io.syncgrad.deploy.report;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Run directories written by hand, in the formats the trainer writes and those being added to it
 * ({@code step_ms}, {@code workers} lines, validation figures), for tests that need many steps or
 * a run that did not finish without training one.
 */
final class SyntheticRun {

  static final Instant START = Instant.parse("2026-12-02T13:00:00Z");
  static final int BATCH_SIZE = 128;
  static final List<String> WORKERS = List.of("worker-00", "worker-01", "worker-02");

  private SyntheticRun() {}

  static String time(long step) {
    return START.plusMillis(20 * step).toString();
  }

  static String step(long step, double loss) {
    return String.format(Locale.ROOT, "{\"type\":\"step\",\"step\":%d,\"time\":\"%s\",\"epoch\":1,\"loss\":%s,"
        + "\"lr\":0.001,\"grad_norm\":1.5,\"samples_per_second\":6400.0}", step, time(step), loss);
  }

  /**
   * A cluster run of {@code steps} steps with three workers, worker-02 the slowest, message faults,
   * a lost worker at a third of the run and a checkpoint every 1,000 steps; with summary.json when
   * {@code finished}.
   */
  static Path cluster(Path dir, int steps, boolean finished) throws IOException {
    Files.createDirectories(dir);
    Random random = new Random(7);
    List<String> lines = new ArrayList<>();
    int perEpoch = Math.max(1, steps / 4);
    for (int s = 1; s <= steps; s++) {
      double loss = 2.3 * Math.exp(-s / (steps / 6.0)) + 0.3 + 0.1 * random.nextGaussian();
      double stepMs = 18 + 4 * random.nextDouble() + (s == steps / 3 ? 900 : 0);
      double computeMs = 3 + random.nextDouble();
      lines.add(String.format(Locale.ROOT, "{\"type\":\"step\",\"step\":%d,\"time\":\"%s\",\"epoch\":%d,"
              + "\"loss\":%.5f,\"lr\":0.001,\"grad_norm\":%.4f,\"samples_per_second\":%.3f,\"step_ms\":%.3f,"
              + "\"compute_ms\":%.3f,\"worker\":\"%s\"}", s, time(s), 1 + (s - 1) / perEpoch, loss,
          1 + random.nextDouble(), 1000.0 * BATCH_SIZE / stepMs, stepMs, computeMs, WORKERS.get(s % 3)));
      if (s % 10 == 0) {
        lines.add(String.format(Locale.ROOT, "{\"type\":\"workers\",\"step\":%d,\"time\":\"%s\",\"compute_ms\":"
            + "{\"worker-00\":%.3f,\"worker-01\":%.3f,\"worker-02\":%.3f}}", s, time(s),
            1.9 + 0.2 * random.nextDouble(), 2.1 + 0.2 * random.nextDouble(), 3.8 + 0.4 * random.nextDouble()));
      }
      if (random.nextDouble() < 0.05) {
        lines.add(String.format(Locale.ROOT, "{\"type\":\"fault\",\"step\":%d,\"time\":\"%s\",\"kind\":\"delay\","
            + "\"worker\":\"worker-01\",\"what\":\"partial sum of step %d chunk 1 to worker-02 by 12 ms\"}",
            s, time(s), s));
      }
      if (s == steps / 3) {
        lines.add(String.format(Locale.ROOT, "{\"type\":\"recovery\",\"step\":%d,\"time\":\"%s\",\"generation\":2,"
            + "\"kind\":\"worker_lost\",\"what\":\"worker-01\"}", s, time(s)));
        lines.add(String.format(Locale.ROOT, "{\"type\":\"recovery\",\"step\":%d,\"time\":\"%s\",\"generation\":3,"
            + "\"kind\":\"generation_formed\",\"what\":\"{worker-00=[0, 1, 2, 3], worker-02=[4, 5, 6, 7]}\"}",
            s, time(s)));
      }
      if (s % 1000 == 0) {
        lines.add(String.format(Locale.ROOT, "{\"type\":\"checkpoint\",\"step\":%d,\"time\":\"%s\","
            + "\"file\":\"step-%08d.pb\"}", s, time(s), s));
      }
      if (s % perEpoch == 0 || s == steps) {
        lines.add(String.format(Locale.ROOT, "{\"type\":\"eval\",\"step\":%d,\"time\":\"%s\",\"epoch\":%.3f,"
                + "\"test_loss\":%.4f,\"test_accuracy\":%.4f,\"validation_loss\":%.4f,\"validation_accuracy\":%.4f}",
            s, time(s), (double) s / perEpoch, loss, 0.9 - 0.3 / (1 + s / 100.0), loss * 1.05,
            0.89 - 0.3 / (1 + s / 100.0)));
      }
    }
    Files.write(dir.resolve("metrics.jsonl"), lines);
    if (finished) {
      Files.writeString(dir.resolve("summary.json"), String.format(Locale.ROOT, """
          {
            "weights_sha256" : "5cf925966766e673b1c118200c6870165308798ea6718b4f40cfea40622c42f5",
            "test_accuracy" : 0.8812, "test_loss" : 0.3301, "steps" : %d, "epochs" : 4.0, "workers" : 3,
            "shards" : 8, "batch_size" : %d, "samples_per_second" : 6400.5, "wall_seconds" : 40.2,
            "kernel" : "java/vector", "seed" : 1, "model" : "784-256-128-10 relu softmax cross-entropy",
            "data" : "sample", "run_id" : "synthetic",
            "settings" : { "lr" : 0.001, "optimizer" : "adam", "batch_size" : %d },
            "distributed" : {
              "compute_ms_per_step" : { "worker-00" : 2.0, "worker-01" : 2.2, "worker-02" : 4.0 },
              "slowest_worker" : "worker-02",
              "traffic" : { "coordinator" : { "received_bytes_per_step" : 28428, "sent_bytes_per_step" : 28415 },
                            "worker-00" : { "received_bytes_per_step" : 1341688, "sent_bytes_per_step" : 1093552 } },
              "shard_assignment" : { "worker-00" : [ 0, 1, 2, 3 ], "worker-02" : [ 4, 5, 6, 7 ] }
            },
            "faults" : { "injected" : 12, "workers_lost" : 1, "shards_reassigned" : 4 }
          }
          """, steps, BATCH_SIZE, BATCH_SIZE));
    }
    return dir;
  }
}
