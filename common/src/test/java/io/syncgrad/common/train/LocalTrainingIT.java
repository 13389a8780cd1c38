package io.syncgrad.common.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.syncgrad.common.checkpoint.CheckpointStore;
import io.syncgrad.common.error.UserException;
import io.syncgrad.common.math.EjmlKernel;
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

  @TempDir
  static Path dir;
  static Path data;

  @BeforeAll
  static void sample() throws IOException {
    data = Fixtures.sampleFolder(dir.resolve("sample"));
  }

  private static RunSummary train(String out, Object... flags) throws IOException {
    Map<String, Object> m = new HashMap<>();
    m.put("data", data.toString());
    m.put("layers", "32");
    m.put("max-steps", String.valueOf(STEPS));
    m.put("seed", "5");
    m.put("out", dir.resolve(out).toString());
    for (int i = 0; i < flags.length; i += 2) {
      m.put((String) flags[i], flags[i + 1]);
    }
    return LocalTraining.run(Fixtures.settings(m), m.keySet(), EjmlKernel.INSTANCE, new TrainingListener() {});
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
    assertTrue(lines.get(0).startsWith("{\"type\":\"step\",\"step\":1,\"epoch\":1,\"loss\":"), lines.get(0));
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
