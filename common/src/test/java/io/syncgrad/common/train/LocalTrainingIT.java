package io.syncgrad.common.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.syncgrad.common.checkpoint.CheckpointStore;
import io.syncgrad.common.error.UserException;
import io.syncgrad.common.math.EjmlKernel;
import io.syncgrad.common.math.Kernels;
import io.syncgrad.common.math.MatrixKernel;
import io.syncgrad.common.model.Parameters;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import io.syncgrad.common.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The one-node trainer end to end on the embedded Fashion-MNIST sample: the weights hash is a
 * function of the settings alone (not of threads or reruns), and a resumed run is bit-exact.
 */
class LocalTrainingIT {

  private static final int STEPS = 24;
  /**
   * Kernels round differently (another order of additions inside a product), so their weights
   * differ in the last bits; after {@value #STEPS} Adam steps no weight may differ by more than this.
   */
  private static final double KERNEL_AGREEMENT = 1e-4;

  @TempDir
  static Path dir;
  static Path data;

  @BeforeAll
  static void sample() throws IOException {
    data = Fixtures.sampleFolder(dir.resolve("sample"));
  }

  private static RunSummary train(String out, Object... flags) throws IOException {
    return train(EjmlKernel.INSTANCE, out, flags);
  }

  private static RunSummary train(MatrixKernel kernel, String out, Object... flags) throws IOException {
    Map<String, Object> m = new HashMap<>();
    m.put("data", data.toString());
    m.put("layers", "32");
    m.put("max-steps", String.valueOf(STEPS));
    m.put("seed", "5");
    m.put("out", dir.resolve(out).toString());
    for (int i = 0; i < flags.length; i += 2) {
      m.put((String) flags[i], flags[i + 1]);
    }
    return LocalTraining.run(Fixtures.settings(m), m.keySet(), kernel, new TrainingListener() {});
  }

  @Test
  void sameSettingsGiveTheSameBytesWhateverTheThreadCount() throws IOException {
    String one = train("t1", "threads", "1").weightsSha256();
    String two = train("t2", "threads", "2").weightsSha256();
    String four = train("t4", "threads", "4").weightsSha256();
    String again = train("t1b", "threads", "1").weightsSha256();
    assertEquals(one, two);
    assertEquals(one, four);
    assertEquals(one, again);
    assertNotEquals(one, train("s6", "seed", "6").weightsSha256(), "the seed must matter");
  }

  @ParameterizedTest
  @ValueSource(strings = {"native", "java", "ejml"})
  void everyKernelIsDeterministicAcrossThreadCounts(String name) throws IOException {
    MatrixKernel kernel = Kernels.select(name);
    RunSummary one = train(kernel, name + "-1", "threads", "1", "dropout", "0.1");
    RunSummary two = train(kernel, name + "-2", "threads", "2", "dropout", "0.1");
    RunSummary again = train(kernel, name + "-2b", "threads", "2", "dropout", "0.1");
    assertEquals(one.weightsSha256(), two.weightsSha256());
    assertEquals(one.weightsSha256(), again.weightsSha256());
    assertEquals(kernel.identity(), one.kernel(), "the summary names the kernel that produced the bytes");
  }

  @Test
  void kernelsAgreeWithinRounding() throws IOException {
    Parameters ejml = weights(train(EjmlKernel.INSTANCE, "agree-ejml"));
    for (String name : List.of("native", "java")) {
      Parameters other = weights(train(Kernels.select(name), "agree-" + name));
      double worst = 0;
      for (int t = 0; t < ejml.tensorCount(); t++) {
        for (int i = 0; i < ejml.tensor(t).getNumElements(); i++) {
          worst = Math.max(worst, Math.abs(ejml.tensor(t).data[i] - other.tensor(t).data[i]));
        }
      }
      assertTrue(worst < KERNEL_AGREEMENT, name + " differs from ejml by " + worst + " after " + STEPS + " steps");
    }
  }

  private static Parameters weights(RunSummary s) {
    return CheckpointStore.read(Path.of(s.out()).resolve(CheckpointStore.MODEL_FILE)).params();
  }

  @Test
  void everyOptimizerAndFeatureIsReproducible() throws IOException {
    for (String opt : List.of("sgd", "momentum", "nesterov", "adam")) {
      Object[] flags = {"optimizer", opt, "dropout", "0.2", "l1", "1e-5", "l2", "1e-4", "clip-norm", "1.0",
          "lr-schedule", "cosine", "activation", "tanh", "threads", "2"};
      RunSummary a = train("o-" + opt + "-a", flags);
      RunSummary b = train("o-" + opt + "-b", flags);
      assertEquals(a.weightsSha256(), b.weightsSha256(), opt);
      assertTrue(a.testAccuracy() > 0.3, opt + " learns something: " + a.testAccuracy());
    }
  }

  @Test
  void resumeContinuesBitExactly() throws IOException {
    Object[] common = {"optimizer", "adam", "dropout", "0.1", "shards", "8"};
    String straight = train("straight", common).weightsSha256();
    train("first-half", concat(common, "max-steps", String.valueOf(STEPS / 2), "checkpoint-every", "5"));
    RunSummary resumed = train("second-half", concat(common, "resume", dir.resolve("first-half").toString()));
    assertEquals(STEPS / 2, resumed.resumedFromStep());
    assertEquals(straight, resumed.weightsSha256());

    // A resume from a periodic checkpoint (step 10) also lands on the same bytes.
    Path first = dir.resolve("first-half");
    Files.delete(first.resolve(CheckpointStore.MODEL_FILE));
    RunSummary fromTen = train("from-ten", concat(common, "resume", first.toString()));
    assertEquals(10, fromTen.resumedFromStep());
    assertEquals(straight, fromTen.weightsSha256());
  }

  @Test
  void resumeRefusesChangedSettings() throws IOException {
    train("base", "max-steps", "4");
    UserException e = assertThrows(UserException.class,
        () -> train("changed", "resume", dir.resolve("base").toString(), "layers", "16", "lr", "0.5"));
    assertEquals(List.of(
        "--layers 16 differs from the checkpoint's 32; a resumed run keeps the settings it started with",
        "--lr 0.5 differs from the checkpoint's 0.001; a resumed run keeps the settings it started with"),
        e.problems());
  }

  @Test
  void outputsAreComplete() throws IOException {
    RunSummary s = train("outputs");
    Path out = dir.resolve("outputs");
    assertTrue(Files.isRegularFile(out.resolve("model.pb")));
    assertEquals(s.weightsSha256(), CheckpointStore.read(out.resolve("model.pb")).params().sha256Hex());
    List<String> lines = Files.readAllLines(out.resolve("metrics.jsonl"));
    assertEquals(STEPS + 1, lines.size(), "a line per step and one evaluation at the end");
    assertTrue(lines.get(0).matches("\\{\"type\":\"step\",\"step\":1,\"time\":\"[0-9-]{10}T[0-9:.]{8,12}Z\","
        + "\"epoch\":1,\"loss\":.*"), "type, step, time (RFC 3339, UTC), then the step's figures: " + lines.get(0));
    String time = lines.get(0).replaceAll(".*\"time\":\"([^\"]+)\".*", "$1");
    assertTrue(java.time.Duration.between(java.time.Instant.parse(time), java.time.Instant.now()).abs().toMinutes() < 10,
        time);
    assertTrue(lines.get(STEPS).startsWith("{\"type\":\"eval\",\"step\":" + STEPS), lines.get(STEPS));
    String summary = Files.readString(out.resolve("summary.json"));
    for (String key : List.of("weights_sha256", "test_accuracy", "test_loss", "steps", "epochs", "workers",
        "samples_per_second", "wall_seconds")) {
      assertTrue(summary.contains("\"" + key + "\""), key);
    }
  }

  private static Object[] concat(Object[] a, Object... b) {
    Object[] out = new Object[a.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

}
