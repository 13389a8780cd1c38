package io.syncgrad.common.math;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ludovic.netlib.blas.BLAS;
import dev.ludovic.netlib.blas.NativeBLAS;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.ejml.data.FMatrixRMaj;
import org.junit.jupiter.api.Test;

/**
 * The native kernel zero-fills the outputs of large products and calls the BLAS with beta 1
 * (faster than OpenBLAS's own beta-0 pass): its products still give, bit for bit, what the BLAS
 * gives with beta 0, and the probe that allows it refuses a BLAS whose beta-0 path computes
 * otherwise. It calls the native sgemm without netlib's argument checks, and its own checks stop
 * what netlib's would have stopped.
 */
class NetlibKernelTest {

  private static final long SEED = 5;

  @Test
  void largeProductsGiveTheBytesOfBetaZero() {
    NetlibKernel kernel = NetlibKernel.nativeKernel();
    // The bundled builds (x86-64 and arm64) zero c in their driver and then add, as with beta 1.
    assertTrue(kernel.fillsZeros(), kernel.identity() + " fills large outputs itself");
    BLAS blas = NativeBLAS.getInstance();
    SplittableRandom r = new SplittableRandom(SEED);
    // A weight gradient over one shard and over a block, a forward and an input-gradient product
    // of the first layers, each at least FILL_MIN_WORK multiply-adds.
    FMatrixRMaj x = reluLike(132, 784, r);
    FMatrixRMaj delta = reluLike(132, 256, r);
    FMatrixRMaj w = reluLike(784, 256, r);
    FMatrixRMaj w1 = reluLike(256, 128, r);
    FMatrixRMaj delta1 = reluLike(132, 128, r);
    assertTrue(784L * 256 * 16 >= NetlibKernel.FILL_MIN_WORK && 132L * 256 * 128 >= NetlibKernel.FILL_MIN_WORK);

    sameAsBetaZero("Xᵀ·Δ over 16 rows", 784, 256, c -> kernel.multTransARows(x, delta, 4, 16, false, c),
        e -> blas.sgemm("N", "T", 256, 784, 16, 1f, delta.data, 4 * 256, 256, x.data, 4 * 784, 784, 0f, e, 0, 256));
    sameAsBetaZero("Xᵀ·Δ over 132 rows", 784, 256, c -> kernel.multTransA(x, delta, c),
        e -> blas.sgemm("N", "T", 256, 784, 132, 1f, delta.data, 256, x.data, 784, 0f, e, 256));
    sameAsBetaZero("X·W", 132, 256, c -> kernel.mult(x, w, c),
        e -> blas.sgemm("N", "N", 256, 132, 784, 1f, w.data, 256, x.data, 784, 0f, e, 256));
    sameAsBetaZero("Δ·Wᵀ", 132, 256, c -> kernel.multTransB(delta1, w1, c),
        e -> blas.sgemm("T", "N", 256, 132, 128, 1f, w1.data, 128, delta1.data, 128, 0f, e, 256));
  }

  /**
   * The kernel's product into an output of the right shape full of NaN (a product that adds to it
   * without filling it shows) against the BLAS's own beta-0 call, bit for bit.
   */
  private static void sameAsBetaZero(String what, int rows, int cols, Consumer<FMatrixRMaj> product,
      Consumer<float[]> betaZero) {
    FMatrixRMaj c = new FMatrixRMaj(rows, cols);
    Arrays.fill(c.data, Float.NaN);
    product.accept(c);
    float[] expected = new float[rows * cols];
    betaZero.accept(expected);
    assertArrayEquals(bits(expected), bits(c.data), what);
  }

  /**
   * The bundled library is called without netlib's argument checks (the products above compare it
   * with netlib's checked call, bit for bit), and the kernel's own checks still stop a call that
   * would read or write past an array, or name too small a leading dimension, before it is made.
   */
  @Test
  void theNativeCallIsDirectAndStillChecked() {
    NetlibKernel kernel = NetlibKernel.nativeKernel();
    assertTrue(kernel.callsNativeDirectly(), kernel.identity());
    float[] a = new float[4 * 3];
    float[] b = new float[3 * 5];
    float[] c = new float[4 * 5];
    // c (4x5) = a (4x3) · b (3x5), and with each operand transposed: every one of these fits.
    kernel.sgemm("N", "N", 4, 5, 3, a, 0, 4, b, 0, 3, 0f, c, 0, 4);
    kernel.sgemm("T", "N", 4, 5, 3, a, 0, 3, b, 0, 3, 0f, c, 0, 4);
    kernel.sgemm("N", "T", 4, 5, 3, a, 0, 4, b, 0, 5, 0f, c, 0, 4);
    assertThrows(IndexOutOfBoundsException.class,
        () -> kernel.sgemm("N", "N", 4, 5, 3, a, 1, 4, b, 0, 3, 0f, c, 0, 4), "a read past a");
    assertThrows(IndexOutOfBoundsException.class,
        () -> kernel.sgemm("T", "N", 4, 5, 3, a, 1, 3, b, 0, 3, 0f, c, 0, 4), "a read past aᵀ");
    assertThrows(IndexOutOfBoundsException.class,
        () -> kernel.sgemm("N", "N", 4, 5, 3, a, 0, 4, b, 1, 3, 0f, c, 0, 4), "a read past b");
    assertThrows(IndexOutOfBoundsException.class,
        () -> kernel.sgemm("N", "T", 4, 5, 3, a, 0, 4, b, 1, 5, 0f, c, 0, 4), "a read past bᵀ");
    assertThrows(IndexOutOfBoundsException.class,
        () -> kernel.sgemm("N", "N", 4, 5, 3, a, 0, 4, b, 0, 3, 0f, new float[19], 0, 4), "a write past c");
    assertThrows(IndexOutOfBoundsException.class,
        () -> kernel.sgemm("N", "N", 4, 5, 3, new float[13], -1, 4, b, 0, 3, 0f, c, 0, 4), "a negative offset");
    assertThrows(IllegalArgumentException.class,
        () -> kernel.sgemm("N", "N", 4, 5, 3, a, 0, 3, b, 0, 3, 0f, c, 0, 4), "lda below m");
    assertThrows(IllegalArgumentException.class,
        () -> kernel.sgemm("N", "N", 4, 5, 3, a, 0, 4, new float[3 * 5], 0, 2, 0f, c, 0, 4), "ldb below k");
    assertThrows(IllegalArgumentException.class,
        () -> kernel.sgemm("N", "N", 4, 5, 3, a, 0, 4, b, 0, 3, 0f, new float[3 * 5], 0, 3), "ldc below m");
    // The native BLAS reads "n" as "N": checked as a transposed operand it would read past a.
    assertThrows(IllegalArgumentException.class,
        () -> kernel.sgemm("n", "N", 4, 5, 3, a, 0, 4, b, 0, 3, 0f, c, 0, 4), "a lower-case transposition");
    assertThrows(IllegalArgumentException.class,
        () -> kernel.sgemm("N", "X", 4, 5, 3, a, 0, 4, b, 0, 3, 0f, c, 0, 4), "no transposition at all");
  }

  /** Rows whose end overflows an int are refused, not turned into a negative offset for the BLAS. */
  @Test
  void rowsPastTheEndAreRefusedWhereTheirSumOverflows() {
    NetlibKernel kernel = NetlibKernel.nativeKernel();
    FMatrixRMaj a = new FMatrixRMaj(2, 2);
    FMatrixRMaj b = new FMatrixRMaj(2, 2);
    assertThrows(IllegalArgumentException.class,
        () -> kernel.multTransARows(a, b, 1 << 30, (1 << 30) + 1, false, new FMatrixRMaj(2, 2)));
  }

  @Test
  void theProbeAcceptsTheBundledLibraryAsItIsAndRefusesAnotherBetaZero() {
    NetlibKernel.nativeKernel();
    BLAS real = NativeBLAS.getInstance();
    assertTrue(NetlibKernel.fillMatchesBetaZero(withBetaZero(real, false)), "the same library behind a proxy");
    // A beta-0 path that stores its products without adding them to zeros keeps negative zeros,
    // which an addition to +0 turns positive.
    assertFalse(NetlibKernel.fillMatchesBetaZero(withBetaZero(real, true)), "a beta-0 path of its own");
  }

  /**
   * {@code blas}, whose 13-argument sgemm with beta 0 gives, where {@code ownPath}, -0 for every
   * zero of the product (as a kernel that stores its sums without adding them to zeros would
   * where they are -0).
   */
  private static BLAS withBetaZero(BLAS blas, boolean ownPath) {
    return (BLAS) Proxy.newProxyInstance(BLAS.class.getClassLoader(), new Class<?>[] {BLAS.class},
        (proxy, method, args) -> {
          Object result;
          try {
            result = method.invoke(blas, args);
          } catch (InvocationTargetException e) {
            throw e.getCause();
          }
          if (ownPath && method.getName().equals("sgemm") && args.length == 13 && (float) args[10] == 0f) {
            float[] c = (float[]) args[11];
            for (int i = 0; i < c.length; i++) {
              if (c[i] == 0f) {
                c[i] = -0f;
              }
            }
          }
          return result;
        });
  }

  /** Values in [-1, 1], a third of them exact zeros, and whole zero columns at the start. */
  private static FMatrixRMaj reluLike(int rows, int cols, SplittableRandom r) {
    FMatrixRMaj m = new FMatrixRMaj(rows, cols);
    for (int i = 0; i < m.data.length; i++) {
      m.data[i] = i % cols < 8 || r.nextInt(3) == 0 ? 0f : (float) r.nextDouble(-1, 1);
    }
    return m;
  }

  private static int[] bits(float[] v) {
    int[] b = new int[v.length];
    for (int i = 0; i < v.length; i++) {
      b[i] = Float.floatToRawIntBits(v[i]);
    }
    return b;
  }
}
