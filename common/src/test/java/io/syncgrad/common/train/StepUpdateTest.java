package io.syncgrad.common.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.syncgrad.common.model.Activation;
import io.syncgrad.common.model.LossFunction;
import io.syncgrad.common.model.ModelSpec;
import io.syncgrad.common.model.OutputActivation;
import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.optim.GradientTransforms;
import io.syncgrad.common.optim.Optimizer;
import io.syncgrad.common.run.TrainingConfig;
import io.syncgrad.common.testing.Fixtures;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.IntConsumer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The update cut into parts, as the one-node trainer's threads run it, gives the bytes of the
 * update on one thread: every element once, whatever the number of parts and their order, with
 * penalties, clipping and every optimiser.
 */
class StepUpdateTest {

  @ParameterizedTest
  @EnumSource(Optimizer.Kind.class)
  void anyNumberOfPartsInAnyOrderGivesTheBytesOfOne(Optimizer.Kind kind) {
    ModelSpec model = Fixtures.model(37, List.of(19, 7), 5, Activation.RELU, OutputActivation.SOFTMAX,
        LossFunction.CROSS_ENTROPY, 0f);
    TrainingConfig base = Fixtures.config(1, 64, 4, kind, 0.01, 640);
    // Penalties and a clipping bound the gradient exceeds: every pass runs.
    TrainingConfig config = new TrainingConfig(base.seed(), base.batchSize(), base.shards(), kind, base.momentum(),
        base.beta1(), base.beta2(), base.epsilon(), 1e-4, 1e-3, 0.05, base.schedule(), base.init(),
        base.trainExamples(), base.dataFingerprint());
    Parameters start = random(model, 1);
    Parameters left = random(model, 2);
    Parameters right = random(model, 3);
    Parameters whole = left.copy();
    for (int t = 0; t < whole.tensorCount(); t++) {
      for (int i = 0; i < whole.tensor(t).getNumElements(); i++) {
        whole.tensor(t).data[i] += right.tensor(t).data[i];
      }
    }
    // The update as its definition reads, pass by pass over whole tensors.
    Parameters expected = start.copy();
    Optimizer reference = config.newOptimizer(expected);
    Parameters mean = start.zerosLike();
    for (long step = 0; step < 3; step++) {
      GradientTransforms.sumAndDivide(whole, null, 64, mean);
      GradientTransforms.addPenalties(expected, config.l1(), config.l2(), mean);
      double norm = GradientTransforms.clipByGlobalNorm(mean, config.clipNorm());
      assertTrue(norm > config.clipNorm(), "the gradient is clipped at step " + step + " (norm " + norm + ")");
      reference.update(expected, mean, config.schedule().at(step));
    }
    for (int count : new int[] {1, 2, 3, 7, 40}) {  // 1: the workers' path
      Parameters actual = start.copy();
      Optimizer optimizer = config.newOptimizer(actual);
      StepUpdate parted = new StepUpdate(config, actual);
      for (long step = 0; step < 3; step++) {
        assertTrue(parted.apply(step, left, right, 64, actual, optimizer, backwards(count)));
      }
      for (int t = 0; t < actual.tensorCount(); t++) {
        assertArrayEquals(expected.tensor(t).data, actual.tensor(t).data, kind + ", " + count + " parts, tensor " + t);
        if (reference.firstMoment() != null) {
          assertArrayEquals(reference.firstMoment().tensor(t).data, optimizer.firstMoment().tensor(t).data,
              kind + ", " + count + " parts, first moment of tensor " + t);
        }
      }
    }
  }

  /** {@code count} parts, run last to first on the calling thread. */
  private static StepParts backwards(int count) {
    return new StepParts() {
      @Override
      public int count() {
        return count;
      }

      @Override
      public void run(IntConsumer part) {
        for (int p = count - 1; p >= 0; p--) {
          part.accept(p);
        }
      }
    };
  }

  private static Parameters random(ModelSpec model, long seed) {
    Parameters p = Parameters.zeros(model);
    SplittableRandom r = new SplittableRandom(seed);
    for (int t = 0; t < p.tensorCount(); t++) {
      for (int i = 0; i < p.tensor(t).getNumElements(); i++) {
        p.tensor(t).data[i] = (float) r.nextDouble(-1, 1);
      }
    }
    return p;
  }
}
