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
 * the kernels with per-thread state (the bundled OpenBLAS, the Java kernel's packing buffers)
 * called from several threads at once give the bits they give alone; the native kernel is exact
 * where float32 is and names its build. The system BLAS needs a JVM of its own:
 * {@link SystemKernelIT}.
 */
class KernelTest {

  private static final long SEED = 77;
  /** float32 products of length k drift from the exact value by about k·ε relative. */
  private static final double RELATIVE_TOLERANCE = 1e-5;
  private static final int[] SIZES = {0, 1, 2, 3, 7, 16, 33, 130};

  static Stream<MatrixKernel> kernels() {
    return Stream.of(NetlibKernel.nativeKernel(), NetlibKernel.javaKernel(), new VectorFmaKernel(), EjmlKernel.INSTANCE);
  }

  /**
   * multTransARows reads a block of rows in place with the bytes of multTransA on copies of them,
   * and where a kernel says it adds a finished product once, accumulating gives exactly
   * {@code fl(c + p)}: the shapes of the 784-256-128-10 model's weight gradients and small ones.
   */
  @ParameterizedTest
  @MethodSource("kernels")
  void rowBlocksAndAccumulationAreExact(MatrixKernel kernel) {
    SplittableRandom r = new SplittableRandom(SEED);
    int[][] shapes = {{784, 256}, {256, 128}, {128, 10}, {784, 64}, {33, 7}, {1, 1}};
    for (int[] shape : shapes) {
      for (int rows : new int[] {0, 1, 8, 16, 17, 64, 128}) {
        int first = 5;
        FMatrixRMaj a = random(first + rows + 3, shape[0], r);
        FMatrixRMaj b = random(first + rows + 3, shape[1], r);
        for (int i = 0; i < b.data.length; i += 3) {
          b.data[i] = 0f; // ReLU leaves exact zeros in Δ
        }
        FMatrixRMaj as = new FMatrixRMaj(rows, shape[0]);
        FMatrixRMaj bs = new FMatrixRMaj(rows, shape[1]);
        System.arraycopy(a.data, first * shape[0], as.data, 0, rows * shape[0]);
        System.arraycopy(b.data, first * shape[1], bs.data, 0, rows * shape[1]);
        FMatrixRMaj expected = new FMatrixRMaj(1, 1);
        kernel.multTransA(as, bs, expected);
        FMatrixRMaj actual = random(2, 2, r);
        kernel.multTransARows(a, b, first, rows, false, actual);
        String what = kernel.identity() + " rows " + rows + " of " + shape[0] + "x" + shape[1];
        assertTrue(Arrays.equals(expected.data, 0, expected.getNumElements(), actual.data, 0,
            actual.getNumElements()), what);
        if (kernel.addsProductOnce(rows)) {
          FMatrixRMaj c = random(shape[0], shape[1], r);
          FMatrixRMaj sum = c.copy();
          for (int i = 0; i < sum.getNumElements(); i++) {
            sum.data[i] += expected.data[i];
          }
          kernel.multTransARows(a, b, first, rows, true, c);
          assertTrue(Arrays.equals(sum.data, 0, sum.getNumElements(), c.data, 0, c.getNumElements()),
              what + ", accumulated");
        }
      }
    }
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

  /** The kernels that may hold per-thread state: the bundled BLAS, and the Java kernel's packing buffers. */
  static Stream<MatrixKernel> threadedKernels() {
    return Stream.of(NetlibKernel.nativeKernel(), new VectorFmaKernel());
  }

  @ParameterizedTest
  @MethodSource("threadedKernels")
  void callsFromManyThreadsGiveTheBitsOfOneThread(MatrixKernel kernel) throws Exception {
    SplittableRandom r = new SplittableRandom(SEED);
    int cases = 24;
    List<FMatrixRMaj[]> inputs = new ArrayList<>();
    List<float[][]> serial = new ArrayList<>();
    for (int i = 0; i < cases; i++) {
      FMatrixRMaj a = random(64 + i, 300, r);
      FMatrixRMaj b = random(300, 120 + i, r);
      FMatrixRMaj delta = random(64 + i, 120 + i, r);
      inputs.add(new FMatrixRMaj[] {a, b, delta});
      serial.add(products(kernel, a, b, delta));
    }
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      for (int round = 0; round < 5; round++) {
        List<Future<float[][]>> results = new ArrayList<>();
        for (FMatrixRMaj[] in : inputs) {
          results.add(pool.submit(() -> products(kernel, in[0], in[1], in[2])));
        }
        for (int i = 0; i < cases; i++) {
          assertTrue(Arrays.deepEquals(serial.get(i), results.get(i).get()), "case " + i + ", round " + round);
        }
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void selectionByName() {
    String bundled = Kernels.select("native").identity();
    assertTrue(bundled.startsWith("openblas-0.3.31/bytedeco-1.5.13/"), bundled);
    assertEquals(new VectorFmaKernel().identity(), Kernels.select("java").identity());
    assertTrue(Kernels.select("ejml").identity().startsWith("ejml-"));
    assertEquals(bundled, Kernels.select("auto").identity(), "auto prefers the bundled OpenBLAS");
    UserException e = assertThrows(UserException.class, () -> Kernels.select("cuda"));
    assertEquals("--kernel must be auto, native, system, java or ejml, got 'cuda'", e.getMessage());
  }

  @Test
  void theSystemBlasIsRefusedOnceTheBundledOneComputesInThisJvm() {
    Kernels.select("native");
    UserException e = assertThrows(UserException.class, () -> Kernels.select("system"));
    assertTrue(e.getMessage().contains("already computes with the bundled OpenBLAS"), e.getMessage());
  }

  @Test
  void theBundledIdentityNamesTheBuildPlatformAndCore() {
    String identity = NetlibKernel.nativeKernel().identity();
    String platform = org.bytedeco.javacpp.Loader.getPlatform();
    assertTrue(identity.matches("openblas-0\\.3\\.31/bytedeco-1\\.5\\.13/" + platform + "/[A-Za-z0-9_.-]+(/.*)?"), identity);
    if (platform.equals("linux-x86_64")) {
      // A DYNAMIC_ARCH build: the core OpenBLAS dispatched to, never the CPU fallback; then the
      // row panel where the core has one.
      assertTrue(identity.matches(".*/linux-x86_64/[A-Z0-9]+(/rows-[0-9]+)?"), identity);
    }
  }

  @Test
  void bundledProductsAreExactOnSmallIntegersAndRepeatBitForBit() {
    MatrixKernel kernel = NetlibKernel.nativeKernel();
    SplittableRandom r = new SplittableRandom(SEED);
    // Integers in [-7, 7] with k <= 784: every partial sum is an integer below 49·784 < 2^24, so exact in
    // float32 whatever the order of additions. Shapes: the three products of 784-256 at 16 rows.
    FMatrixRMaj x = integers(16, 784, r);
    FMatrixRMaj w = integers(784, 256, r);
    FMatrixRMaj delta = integers(16, 256, r);
    float[][] exact = products(kernel, x, w, delta);
    assertExact(reference(x, false, w, false), exact[0], "mult");
    assertExact(reference(x, true, delta, false), exact[1], "multTransA");
    assertExact(reference(delta, false, w, true), exact[2], "multTransB");

    FMatrixRMaj rx = random(16, 784, r);
    FMatrixRMaj rw = random(784, 256, r);
    FMatrixRMaj rd = random(16, 256, r);
    float[][] first = products(kernel, rx, rw, rd);
    for (int i = 0; i < 20; i++) {
      float[][] again = products(kernel, rx, rw, rd);
      for (int p = 0; p < first.length; p++) {
        assertTrue(Arrays.equals(first[p], again[p]), "product " + p + ", call " + i);
      }
    }
  }

  private static float[][] products(MatrixKernel kernel, FMatrixRMaj x, FMatrixRMaj w, FMatrixRMaj delta) {
    FMatrixRMaj out = new FMatrixRMaj(1, 1);
    FMatrixRMaj grad = new FMatrixRMaj(1, 1);
    FMatrixRMaj back = new FMatrixRMaj(1, 1);
    kernel.mult(x, w, out);
    kernel.multTransA(x, delta, grad);
    kernel.multTransB(delta, w, back);
    return new float[][] {Arrays.copyOf(out.data, out.getNumElements()), Arrays.copyOf(grad.data, grad.getNumElements()),
        Arrays.copyOf(back.data, back.getNumElements())};
  }

  private static void assertExact(double[] expected, float[] c, String op) {
    assertEquals(expected.length, c.length, op);
    for (int i = 0; i < expected.length; i++) {
      assertEquals((float) expected[i], c[i], op + " element " + i);
    }
  }

  private static FMatrixRMaj integers(int rows, int cols, SplittableRandom r) {
    FMatrixRMaj m = new FMatrixRMaj(rows, cols);
    for (int i = 0; i < rows * cols; i++) {
      m.data[i] = r.nextInt(-7, 8);
    }
    return m;
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
