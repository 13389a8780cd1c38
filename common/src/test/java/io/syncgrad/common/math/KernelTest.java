package io.syncgrad.common.math;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.syncgrad.common.error.UserException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.ejml.data.FMatrixRMaj;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every kernel against a naive double-precision reference, over many shapes including 0 and 1;
 * and the kernels with per-thread state, called from several threads at once, give the bits they
 * give alone.
 */
class KernelTest {

  private static final long SEED = 77;
  /** float32 products of length k drift from the exact value by about k·ε relative. */
  private static final double RELATIVE_TOLERANCE = 1e-5;
  private static final int[] SIZES = {0, 1, 2, 3, 7, 16, 33, 130};

  static Stream<MatrixKernel> kernels() {
    return Stream.of(NetlibKernel.nativeKernel(), NetlibKernel.javaKernel(), new VectorFmaKernel(), EjmlKernel.INSTANCE);
  }

  @ParameterizedTest
  @MethodSource("kernels")
  void productsMatchANaiveReference(MatrixKernel kernel) {
    SplittableRandom r = new SplittableRandom(SEED);
    for (int n : SIZES) {
      for (int m : SIZES) {
        for (int k : SIZES) {
          FMatrixRMaj a = random(n, k, r);
          FMatrixRMaj b = random(k, m, r);
          FMatrixRMaj c = random(3, 3, r); // wrong shape and stale values: must be reshaped and overwritten
          kernel.mult(a, b, c);
          check(reference(a, false, b, false), c, kernel, "mult", n, m, k);

          FMatrixRMaj at = transpose(a);
          kernel.multTransA(at, b, c);
          check(reference(at, true, b, false), c, kernel, "multTransA", n, m, k);

          FMatrixRMaj bt = transpose(b);
          kernel.multTransB(a, bt, c);
          check(reference(a, false, bt, true), c, kernel, "multTransB", n, m, k);
        }
      }
    }
  }

  /** The kernels that may hold per-thread state: the system BLAS, and the Java kernel's packing buffers. */
  static Stream<MatrixKernel> threadedKernels() {
    return Stream.of(NetlibKernel.nativeKernel(), new VectorFmaKernel());
  }

  @ParameterizedTest
  @MethodSource("threadedKernels")
  void callsFromManyThreadsGiveTheBitsOfOneThread(MatrixKernel kernel) throws Exception {
    SplittableRandom r = new SplittableRandom(SEED);
    int cases = 24;
    List<FMatrixRMaj[]> inputs = new ArrayList<>();
    List<float[]> serial = new ArrayList<>();
    for (int i = 0; i < cases; i++) {
      FMatrixRMaj a = random(64 + i, 300, r);
      FMatrixRMaj b = random(300, 120 + i, r);
      inputs.add(new FMatrixRMaj[] {a, b, transpose(b)});
      serial.add(products(kernel, a, b, transpose(b)));
    }
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      for (int round = 0; round < 5; round++) {
        List<Future<float[]>> results = new ArrayList<>();
        for (FMatrixRMaj[] in : inputs) {
          results.add(pool.submit(() -> products(kernel, in[0], in[1], in[2])));
        }
        for (int i = 0; i < cases; i++) {
          assertTrue(Arrays.equals(serial.get(i), results.get(i).get()), "case " + i + ", round " + round);
        }
      }
    } finally {
      pool.shutdownNow();
    }
  }

  /** a·b followed by a·(bᵀ)ᵀ, the same values by the two routes. */
  private static float[] products(MatrixKernel kernel, FMatrixRMaj a, FMatrixRMaj b, FMatrixRMaj bt) {
    FMatrixRMaj c = new FMatrixRMaj(1, 1);
    kernel.mult(a, b, c);
    float[] both = Arrays.copyOf(c.data, 2 * c.getNumElements());
    kernel.multTransB(a, bt, c);
    System.arraycopy(c.data, 0, both, c.getNumElements(), c.getNumElements());
    return both;
  }

  @Test
  void selectionByName() {
    assertTrue(Kernels.select("native").identity().startsWith("netlib-native/"));
    assertEquals(new VectorFmaKernel().identity(), Kernels.select("java").identity());
    assertTrue(Kernels.select("ejml").identity().startsWith("ejml-"));
    assertTrue(Kernels.select("auto").identity().startsWith("netlib-native/"), "auto prefers the system BLAS");
    UserException e = assertThrows(UserException.class, () -> Kernels.select("cuda"));
    assertEquals("--kernel must be auto, native, java or ejml, got 'cuda'", e.getMessage());
  }

  private static void check(double[] expected, FMatrixRMaj c, MatrixKernel kernel, String op, int n, int m, int k) {
    String where = kernel.identity() + " " + op + " n=" + n + " m=" + m + " k=" + k;
    assertEquals(expected.length, c.getNumElements(), where);
    for (int i = 0; i < expected.length; i++) {
      double tol = RELATIVE_TOLERANCE * Math.max(1, k) + 1e-6;
      assertEquals(expected[i], c.data[i], tol * Math.max(1, Math.abs(expected[i])), where + " element " + i);
    }
  }

  /** op(a)·op(b) in double precision, row-major. */
  private static double[] reference(FMatrixRMaj a, boolean ta, FMatrixRMaj b, boolean tb) {
    int n = ta ? a.numCols : a.numRows;
    int k = ta ? a.numRows : a.numCols;
    int m = tb ? b.numRows : b.numCols;
    double[] c = new double[n * m];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < m; j++) {
        double s = 0;
        for (int p = 0; p < k; p++) {
          double x = ta ? a.get(p, i) : a.get(i, p);
          double y = tb ? b.get(j, p) : b.get(p, j);
          s += x * y;
        }
        c[i * m + j] = s;
      }
    }
    return c;
  }

  private static FMatrixRMaj random(int rows, int cols, SplittableRandom r) {
    FMatrixRMaj m = new FMatrixRMaj(rows, cols);
    for (int i = 0; i < rows * cols; i++) {
      m.data[i] = (float) (2 * r.nextDouble() - 1);
    }
    return m;
  }

  static FMatrixRMaj transpose(FMatrixRMaj m) {
    FMatrixRMaj t = new FMatrixRMaj(m.numCols, m.numRows);
    for (int i = 0; i < m.numRows; i++) {
      for (int j = 0; j < m.numCols; j++) {
        t.set(j, i, m.get(i, j));
      }
    }
    return t;
  }
}
