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
import io.syncgrad.common.reduce.TreeSum;
import io.syncgrad.common.run.TrainingConfig;
import io.syncgrad.common.testing.Fixtures;
import io.syncgrad.common.testing.PanelKernel;
import java.util.List;
import java.util.stream.Stream;
import org.ejml.data.FMatrixRMaj;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Computing a block of shards at once ({@link ShardComputer#computeBlock}) gives every tree node
 * the bytes of computing its shards alone and adding them in the tree, for every kernel, layout
 * and layer kind; where a kernel's products over a block would differ from its products per
 * shard, or its accumulation from an addition, the block falls back to what is exact.
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
        new Object[] {40, List.of(24), 60, 6, Activation.TANH, OutputActivation.SOFTMAX, LossFunction.CROSS_ENTROPY,
            0.1f},
        new Object[] {40, List.of(24, 12), 70, 7, Activation.RELU, OutputActivation.SOFTMAX,
            LossFunction.CROSS_ENTROPY, 0f},
        new Object[] {12, List.of(16, 8), 64, 2, Activation.RELU, OutputActivation.SOFTMAX,
            LossFunction.CROSS_ENTROPY, 0.3f});
  }

  static Stream<MatrixKernel> kernels() {
    return Stream.of(NetlibKernel.nativeKernel(), NetlibKernel.javaKernel(), EjmlKernel.INSTANCE,
        new Fake(true, false), new Fake(false, true), new PanelKernel(4), new PanelKernel(12));
  }

  @ParameterizedTest
  @MethodSource("kernels")
  void aBlockGivesEveryNodeTheBytesOfItsShardsAddedInTheTree(MatrixKernel kernel) {
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
        // The whole step as one block, as two blocks the way two threads split it, and as three.
        for (int parts = 1; parts <= Math.min(3, shards); parts++) {
          for (int p = 0; p < parts; p++) {
            together.computeBlock(params, step, p * shards / parts, (p + 1) * shards / parts);
          }
          assertSame(alone, together, params, shards, kernel + " " + model + " step " + step + ", " + parts
              + " block(s)");
        }
      }
    });
  }

  /** The checks that guard the block path see a kernel whose rows depend on the row count. */
  @Test
  void aKernelWhoseRowsDependOnTheRowCountIsMultipliedShardByShard() {
    ModelSpec model = Fixtures.model(12, List.of(8), 3, Activation.RELU, OutputActivation.SOFTMAX,
        LossFunction.CROSS_ENTROPY, 0f);
    int[] bounds = {0, 6, 12};
    assertFalse(Network.blockMatchesShards(new Fake(true, false), model, bounds, 2, 0));
    assertFalse(Network.blockMatchesShards(EjmlKernel.INSTANCE, model, bounds, 2, 0), "EJML does not promise it");
    assertTrue(Network.blockMatchesShards(new Fake(false, false), model, bounds, 2, 0));
  }

  /**
   * A kernel whose rows are independent only in full panels, each row in its lane (OpenBLAS on
   * Haswell and Zen), still multiplies a block at once: the network pads the block to full
   * panels and puts every row in the lane of its place in the batch, as it does a shard alone.
   */
  @Test
  void aKernelWithRowPanelsMultipliesBlocksAtOnce() {
    ModelSpec model = Fixtures.model(20, List.of(16, 8), 3, Activation.RELU, OutputActivation.SOFTMAX,
        LossFunction.CROSS_ENTROPY, 0f);
    int[] eights = {0, 16, 32, 48, 64, 80, 96, 112, 128};
    for (int u : new int[] {4, 12}) {
      assertTrue(Network.blockMatchesShards(new PanelKernel(u), model, eights, 8, 0), "8 shards of 16, panel " + u);
      // The second half of the batch, as the second of two threads or workers computes it.
      assertTrue(Network.blockMatchesShards(new PanelKernel(u), model, new int[] {0, 16, 32, 48, 64}, 4, 64),
          "4 shards from row 64, panel " + u);
      assertTrue(Network.blockMatchesShards(new PanelKernel(u), model, new int[] {0, 7, 20, 33}, 3, 5),
          "uneven shards from row 5, panel " + u);
    }
  }

  /**
   * The bundled OpenBLAS multiplies the default model's block of 8 shards at once, on the cores
   * where that was measured: its Haswell and Zen paths (row panel 12) and SkylakeX (none). Where
   * it does not, a run computes shard by shard: correct, but slower.
   */
  @Test
  void theNativeKernelMultipliesTheDefaultBlockAtOnce() {
    MatrixKernel kernel = NetlibKernel.nativeKernel();
    org.junit.jupiter.api.Assumptions.assumeTrue(kernel.rowPanel() == 12 || kernel.identity().endsWith("/SKYLAKEX"),
        kernel.identity() + ": a core this was not measured on");
    ModelSpec model = Fixtures.model(784, List.of(256, 128), 10, Activation.RELU, OutputActivation.SOFTMAX,
        LossFunction.CROSS_ENTROPY, 0f);
    assertTrue(Network.blockMatchesShards(kernel, model, new int[] {0, 16, 32, 48, 64, 80, 96, 112, 128}, 8, 0),
        kernel.identity() + ": the default run would compute its 8 shards one by one");
    assertTrue(Network.blockMatchesShards(kernel, model, new int[] {0, 16, 32, 48, 64}, 4, 64),
        kernel.identity() + ": the second of two threads would compute its 4 shards one by one");
  }

  /** A kernel that adds partial products to C is never asked to accumulate a shard onto its sibling. */
  @Test
  void aKernelThatAddsPartialProductsDoesNotAccumulatePairs() {
    ModelSpec model = Fixtures.model(12, List.of(8), 3, Activation.RELU, OutputActivation.SOFTMAX,
        LossFunction.CROSS_ENTROPY, 0f);
    int[] bounds = {0, 6, 12, 18, 24};
    assertFalse(Network.pairsAccumulate(new Fake(false, true), model, bounds, 4));
    assertTrue(Network.pairsAccumulate(new Fake(false, false), model, bounds, 4));
    assertFalse(Network.pairsAccumulate(new Fake(false, false), model, new int[] {0, 6, 6, 12}, 3),
        "an empty shard");
    assertFalse(Network.pairsAccumulate(EjmlKernel.INSTANCE, model, bounds, 4), "EJML does not promise it");
  }

  /** Node sums of {@code b}'s blocks (or its shards) against {@code a}'s shards added in the tree. */
  private static void assertSame(ShardComputer a, ShardComputer b, Parameters shape, int shards, String what) {
    for (int s = 0; s < shards; s++) {
      assertEquals(a.samples(s), b.samples(s), what + ": samples of shard " + s);
      assertEquals(Double.doubleToRawLongBits(a.lossSum(s)), Double.doubleToRawLongBits(b.lossSum(s)),
          what + ": loss of shard " + s);
    }
    Parameters expected = new TreeSum(shape, shards).sum(0, shards, a, shape.zerosLike());
    Parameters actual = new TreeSum(shape, shards).sum(0, shards, b, shape.zerosLike());
    for (int t = 0; t < expected.tensorCount(); t++) {
      assertArrayEquals(expected.tensor(t).data, actual.tensor(t).data, what + ": tensor " + t);
    }
  }

  /**
   * EJML's products claiming row independence and a product added once. {@code rowsLie}: the first
   * output element is rounded differently when a product has more than 8 rows, as a BLAS with a
   * size-dependent code path would. {@code partialAdds}: accumulating adds the product of each
   * half of the rows to C in turn, as a kernel blocking the inner dimension would.
   */
  private record Fake(boolean rowsLie, boolean partialAdds) implements MatrixKernel {
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

    @Override
    public void multTransARows(FMatrixRMaj a, FMatrixRMaj b, int first, int rows, boolean accumulate,
        FMatrixRMaj c) {
      if (accumulate && partialAdds && rows > 1) {
        MatrixKernel.super.multTransARows(a, b, first, rows / 2, true, c);
        MatrixKernel.super.multTransARows(a, b, first + rows / 2, rows - rows / 2, true, c);
      } else {
        MatrixKernel.super.multTransARows(a, b, first, rows, accumulate, c);
      }
    }

    private void skew(FMatrixRMaj a, FMatrixRMaj c) {
      if (rowsLie && a.numRows > 8 && c.data.length > 0) {
        c.data[0] = Math.nextUp(c.data[0]);
      }
    }

    @Override
    public boolean rowsIndependent() {
      return true;
    }

    @Override
    public boolean addsProductOnce(int rows) {
      return true;
    }

    @Override
    public String identity() {
      return "fake(rowsLie=" + rowsLie + ", partialAdds=" + partialAdds + ")";
    }
  }
}
