package io.syncgrad.common.checkpoint;

import io.syncgrad.common.data.Normalization;
import io.syncgrad.common.model.Activation;
import io.syncgrad.common.model.LossFunction;
import io.syncgrad.common.model.ModelSpec;
import io.syncgrad.common.model.OutputActivation;
import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.optim.Optimizer;
import io.syncgrad.common.run.TrainingConfig;
import io.syncgrad.common.run.TrainingState;
import io.syncgrad.common.testing.Fixtures;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * A process that writes checkpoints of a 6 MB state in a loop, as a run does, printing each step
 * once its checkpoint is in place: the victim of {@link CheckpointCrashIT}.
 */
public final class CheckpointWriterMain {

  private CheckpointWriterMain() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    ModelSpec model = Fixtures.model(784, List.of(512, 256), 10, Activation.RELU, OutputActivation.SOFTMAX,
        LossFunction.CROSS_ENTROPY, 0f);
    TrainingConfig config = Fixtures.config(1, 128, 8, Optimizer.Kind.ADAM, 0.001, 60_000);
    Parameters params = Parameters.zeros(model);
    config.init().initialize(model, 1, params);
    Optimizer opt = config.newOptimizer(params);
    float[] offset = new float[784];
    float[] factor = new float[784];
    Arrays.fill(factor, 1f / 255f);
    Normalization norm = new Normalization(Normalization.Kind.SCALE, offset, factor);
    for (long step = 1; ; step++) {
      params.weights(0).data[(int) (step % 1000)] += 1e-3f;
      TrainingState state = new TrainingState("crash-test", model, norm, config, params, opt, step, "test");
      CheckpointStore.write(state, CheckpointStore.periodicPath(dir, step));
      CheckpointStore.retain(dir, 3);
      System.out.println("wrote " + step);
      System.out.flush();
    }
  }
}
