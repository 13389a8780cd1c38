package io.syncgrad.common.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.syncgrad.common.data.Dataset;
import io.syncgrad.common.math.EjmlKernel;
import io.syncgrad.common.math.MatrixKernel;
import io.syncgrad.common.math.NetlibKernel;
import io.syncgrad.common.model.Activation;
import io.syncgrad.common.model.Initializer;
import io.syncgrad.common.model.LossFunction;
import io.syncgrad.common.model.ModelSpec;
import io.syncgrad.common.model.Network;
import io.syncgrad.common.model.OutputActivation;
import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.optim.Optimizer;
import io.syncgrad.common.run.TrainingConfig;
import io.syncgrad.common.testing.Fixtures;
import java.util.List;
import java.util.stream.Stream;
import org.ejml.data.FMatrixRMaj;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Computing a block of shards at once ({@link ShardComputer#computeBlock}) gives every shard the
 * bytes of computing it alone, for every kernel, layout and layer kind; where a kernel's products
 * over a block would differ from its products per shard, the block falls back to per-shard work.
 */
class BlockComputeTest {

  private static final long SEED = 11;
  private static final int STEPS = 3;

  /** (input, hidden, batch, shards, activation, output, loss, dropout). */
  static Stream<Object[]> layouts() {
    return Stream.of(
        new Object[] {784, List.of(256, 128), 128, 8, Activation.RELU, OutputActivation.SOFTMAX,
            LossFunction.CROSS_ENTROPY, 0f},
        new Object[] {784, List.of(64), 64, 8, Activation.SIGMOID, OutputActivation.SIGMOID, LossFunction.MSE, 0f},
        new Object[] {20, List.of(16, 8), 100, 3, Activation.TANH, OutputActivation.SOFTMAX, LossFunction.MSE, 0.2f},
        new Object[] {33, List.of(17), 37, 5, Activation.RELU, OutputActivation.IDENTITY, LossFunction.MSE, 0.1f},
        new Object[] {12, List.of(16, 8), 64, 2, Activation.RELU, OutputActivation.SOFTMAX,
            LossFunction.CROSS_ENTROPY, 0.3f});
  }

  static Stream<MatrixKernel> kernels() {
    return Stream.of(NetlibKernel.nativeKernel(), NetlibKernel.javaKernel(), EjmlKernel.INSTANCE,
        new RowCountSensitive());
  }

  @ParameterizedTest
  @MethodSource("kernels")
  void aBlockGivesEveryShardItsOwnBytes(MatrixKernel kernel) {
    layouts().forEach(l -> {
      @SuppressWarnings("unchecked")
      List<Integer> hidden = (List<Integer>) l[1];
      ModelSpec model = Fixtures.model((int) l[0], hidden, 10, (Activation) l[4], (OutputActivation) l[5],
          (LossFunction) l[6], (float) l[7]);
      int batch = (int) l[2];
      int shards = (int) l[3];
      Dataset data = Fixtures.randomData(batch * STEPS, (int) l[0], 10, SEED);
      TrainingConfig config = Fixtures.config(SEED, batch, shards, Optimizer.Kind.MOMENTUM, 0.01, data.size());
      Parameters params = Parameters.zeros(model);
      Initializer.HE.initialize(model, SEED, params);
      ShardComputer alone = new ShardComputer(model, config, data, kernel);
      ShardComputer together = new ShardComputer(model, config, data, kernel);
      for (long step = 0; step < STEPS; step++) {
        alone.prepare(step);
        together.prepare(step);
        for (int s = 0; s < shards; s++) {
          alone.compute(params, step, s);
        }
        // The whole step as one block, and as two blocks the way two threads split it.
        together.computeBlock(params, step, 0, shards);
        assertSame(alone, together, shards, kernel + " " + model + " step " + step + ", one block");
        together.computeBlock(params, step, 0, shards / 2);
        together.computeBlock(params, step, shards / 2, shards);
        assertSame(alone, together, shards, kernel + " " + model + " step " + step + ", two blocks");
      }
    });
  }

  /** The check that guards the block path sees a kernel whose rows depend on the row count. */
  @Test
  void aKernelWhoseRowsDependOnTheRowCountIsMultipliedShardByShard() {
    ModelSpec model = Fixtures.model(12, List.of(8), 3, Activation.RELU, OutputActivation.SOFTMAX,
        LossFunction.CROSS_ENTROPY, 0f);
    int[] bounds = {0, 6, 12};
    assertFalse(Network.blockMatchesShards(new RowCountSensitive(), model, bounds, 2));
    assertFalse(Network.blockMatchesShards(EjmlKernel.INSTANCE, model, bounds, 2), "EJML does not promise it");
    assertTrue(Network.blockMatchesShards(new RowCountSensitive().honest(), model, bounds, 2));
  }

  private static void assertSame(ShardComputer a, ShardComputer b, int shards, String what) {
    for (int s = 0; s < shards; s++) {
      assertEquals(a.samples(s), b.samples(s), what + ": samples of shard " + s);
      assertEquals(Double.doubleToRawLongBits(a.lossSum(s)), Double.doubleToRawLongBits(b.lossSum(s)),
          what + ": loss of shard " + s);
      for (int t = 0; t < a.gradient(s).tensorCount(); t++) {
        assertArrayEquals(a.gradient(s).tensor(t).data, b.gradient(s).tensor(t).data,
            what + ": shard " + s + " tensor " + t);
      }
    }
  }

  /**
   * EJML's products, but claiming row independence while rounding the first output element
   * differently when a product has more than 8 rows: what a BLAS with a size-dependent code path
   * looks like. {@link #honest()} drops the difference.
   */
  private static final class RowCountSensitive implements MatrixKernel {
    private boolean lies = true;

    RowCountSensitive honest() {
      lies = false;
      return this;
    }

    @Override
    public void mult(FMatrixRMaj a, FMatrixRMaj b, FMatrixRMaj c) {
      EjmlKernel.INSTANCE.mult(a, b, c);
      skew(a, c);
    }

    @Override
    public void multTransA(FMatrixRMaj a, FMatrixRMaj b, FMatrixRMaj c) {
      EjmlKernel.INSTANCE.multTransA(a, b, c);
    }

    @Override
    public void multTransB(FMatrixRMaj a, FMatrixRMaj b, FMatrixRMaj c) {
      EjmlKernel.INSTANCE.multTransB(a, b, c);
      skew(a, c);
    }

    private void skew(FMatrixRMaj a, FMatrixRMaj c) {
      if (lies && a.numRows > 8 && c.data.length > 0) {
        c.data[0] = Math.nextUp(c.data[0]);
      }
    }

    @Override
    public boolean rowsIndependent() {
      return true;
    }

    @Override
    public String identity() {
      return "row-count-sensitive";
    }

    @Override
    public String toString() {
      return identity();
    }
  }
}
