package io.syncgrad.common.math;

import java.util.SplittableRandom;
import org.ejml.data.FMatrixRMaj;

/**
 * Finds a kernel's row panel ({@link MatrixKernel#rowPanel}): the smallest number of rows u such
 * that its products give a row the same bytes in every call whose rows start and end on multiples
 * of u, as long as the row keeps its place modulo u.
 *
 * <p>Why it exists: OpenBLAS multiplies the rows of {@code a·b} in panels (12 at a time on its
 * Haswell and Zen paths), with another code path, and another order of additions, for a last
 * panel that is not full, and even within a panel a row's bytes depend on its lane. So a 16-row
 * shard's rows 12 to 15 come out differently alone than inside a 128-row block, and a worker could
 * not multiply its block of shards at once. Padded to full panels with every row in its lane, the
 * rows are independent again, which the probe checks on the shapes of real models.
 *
 * <p>The probe is a fixed sequence of products for a given library and CPU path, so every node
 * that runs the same kernel finds the same panel. What a product over one block of shards gives is
 * still checked bit for bit, for exactly that block, where it is used ({@code Network.blockMatchesShards}).
 */
final class RowPanels {

  /** The panels tried, smallest first: the row unrolls of common GEMM kernels and their multiples. */
  private static final int[] CANDIDATES = {1, 2, 4, 6, 8, 12, 16, 24, 32};
  /** (fan-in, fan-out) of the products probed: the default model's layers and smaller ones. */
  private static final int[][] SHAPES = {{784, 256}, {256, 128}, {128, 10}, {100, 30}};

  private RowPanels() {}

  /**
   * The smallest candidate panel under which {@code kernel}'s {@code mult} and {@code multTransB}
   * keep every row's bytes across calls of several sizes and offsets; 1 when none does (then only
   * the per-block check decides, as for a kernel without panels). Allocates; call once per kernel.
   */
  static int probe(MatrixKernel kernel) {
    if (!kernel.rowsIndependent()) {
      return 1;
    }
    for (int u : CANDIDATES) {
      if (holds(kernel, u)) {
        return u;
      }
    }
    return 1;
  }

  /**
   * Whether calls over rows {@code [o, o + c)} give the rows of one call over all of them, for
   * offsets o in {0, u} and counts c the multiples of u from the first one of at least 16 rows (a
   * real shard's size; smaller products may take a library's small-matrix path) up.
   */
  private static boolean holds(MatrixKernel kernel, int u) {
    int first = u * ((16 + u - 1) / u);
    int[] counts = {first, first + u, first + 2 * u, first + 3 * u, first + 5 * u};
    int total = u + counts[counts.length - 1];
    SplittableRandom random = new SplittableRandom(0x5eed);
    for (int[] shape : SHAPES) {
      for (boolean transB : new boolean[] {false, true}) {
        int inner = transB ? shape[1] : shape[0];
        FMatrixRMaj w = random(shape[0], shape[1], random); // a layer's weights, fan-in x fan-out
        FMatrixRMaj all = random(total, inner, random);
        FMatrixRMaj whole = product(kernel, all, w, transB);
        for (int offset : new int[] {0, u}) {
          for (int count : counts) {
            FMatrixRMaj part = new FMatrixRMaj(count, inner);
            System.arraycopy(all.data, offset * inner, part.data, 0, count * inner);
            FMatrixRMaj got = product(kernel, part, w, transB);
            int cols = got.numCols;
            for (int i = 0; i < count * cols; i++) {
              if (Float.floatToRawIntBits(got.data[i]) != Float.floatToRawIntBits(whole.data[offset * cols + i])) {
                return false;
              }
            }
          }
        }
      }
    }
    return true;
  }

  private static FMatrixRMaj product(MatrixKernel kernel, FMatrixRMaj a, FMatrixRMaj w, boolean transB) {
    FMatrixRMaj c = new FMatrixRMaj(1, 1);
    if (transB) {
      kernel.multTransB(a, w, c);
    } else {
      kernel.mult(a, w, c);
    }
    return c;
  }

  private static FMatrixRMaj random(int rows, int cols, SplittableRandom random) {
    FMatrixRMaj m = new FMatrixRMaj(rows, cols);
    for (int i = 0; i < m.data.length; i++) {
      m.data[i] = (float) random.nextDouble(-1, 1);
    }
    return m;
  }
}
