package io.syncgrad.deploy;

import io.syncgrad.common.math.Kernels;
import io.syncgrad.common.testing.Fixtures;
import io.syncgrad.common.train.LocalTraining;
import io.syncgrad.common.train.TrainingListener;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The bytes every cluster run must match: the one-node trainer's, run in the test's JVM. */
final class OneNode {

  private OneNode() {}

  /**
   * The weights hash of the one-node trainer for command-line options given as flag-value pairs
   * ({@code --max-steps 25 ...}), writing its outputs to {@code out}; {@code --kernel} native.
   */
  static String hash(List<String> options, Path out) throws IOException {
    Map<String, Object> flags = new HashMap<>();
    for (int i = 0; i < options.size(); i += 2) {
      flags.put(options.get(i).substring(2), options.get(i + 1));
    }
    flags.put("out", out.toString());
    return LocalTraining.run(Fixtures.settings(flags), flags.keySet(), Kernels.select("native"),
        new TrainingListener() {}).weightsSha256();
  }
}
