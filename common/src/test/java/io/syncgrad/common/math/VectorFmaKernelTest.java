package io.syncgrad.common.math;

import static io.syncgrad.common.math.KernelTest.transpose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import org.ejml.data.FMatrixRMaj;
import org.junit.jupiter.api.Test;

/**
 * The portable kernel gives the same bytes with 128-, 256- and 512-bit vectors and the preferred
 * width, and the bytes of a scalar {@link Math#fma} chain over the inner index: the bytes a node
 * with any vector unit computes. Exact equality of the IEEE-754 bits, no tolerance.
 */
class VectorFmaKernelTest {

  private static final long SEED = 11;
  /** n×m outputs with an inner dimension k: edges, tails of every width, k = 0, n = 0, m = 0, and the MLP's shapes. */
  private static final int[][] SHAPES = {
      {1, 1, 1}, {3, 17, 5}, {2, 3, 1}, {5, 33, 7}, {7, 65, 3}, {9, 63, 2}, {17, 129, 31}, {13, 100, 64},
      {4, 5, 0}, {0, 5, 3}, {3, 0, 4}, {0, 0, 0}, {1, 300, 1}, {300, 1, 9},
      {16, 256, 784}, {16, 784, 256}, {784, 256, 16}, {16, 128, 256}, {256, 128, 16}, {16, 10, 128},
      {16, 128, 10}, {128, 10, 16}, {6, 20, 9}, {9, 56, 5},
  };

  private static final int[] WIDTHS = {128, 256, 512};

  /** The three widths, then the preferred one (the production kernel). */
  private static List<MatrixKernel> kernels() {
    List<MatrixKernel> kernels = new ArrayList<>();
    for (int bits : WIDTHS) {
      kernels.add(VectorFmaKernel.withWidth(bits));
    }
    kernels.add(new VectorFmaKernel());
    return kernels;
  }

  @Test
  void theCopiesHaveTheirWidths() {
    List<MatrixKernel> kernels = kernels();
    for (int w = 0; w < WIDTHS.length; w++) {
      assertEquals("io.syncgrad.common.math.VectorFmaKernel/", kernels.get(w).getClass().getName().substring(0, 40));
      assertEquals(WIDTHS[w] + " bits", species(kernels.get(w)));
    }
    assertEquals(FloatVector.SPECIES_PREFERRED.vectorBitSize() + " bits", species(kernels.get(3)));
  }

  @Test
  void everyWidthGivesTheBytesOfScalarFmaChains() {
    SplittableRandom r = new SplittableRandom(SEED);
    List<MatrixKernel> kernels = kernels();
    for (int[] shape : SHAPES) {
      int n = shape[0];
      int m = shape[1];
      int k = shape[2];
      FMatrixRMaj a = awkward(n, k, r);
      FMatrixRMaj b = awkward(k, m, r);
      FMatrixRMaj at = transpose(a);
      FMatrixRMaj bt = transpose(b);
      int[] expected = bits(reference(a, b));
      for (int w = 0; w < kernels.size(); w++) {
        MatrixKernel kernel = kernels.get(w);
        String where = " n=" + n + " m=" + m + " k=" + k + " (" + species(kernel) + ")";
        FMatrixRMaj c = new FMatrixRMaj(2, 3); // wrong shape and stale values: must be reshaped and overwritten
        c.fill(Float.NaN);
        kernel.mult(a, b, c);
        assertEquals(n + "x" + m, c.numRows + "x" + c.numCols, "mult shape" + where);
        assertArrayEquals(expected, bits(c), "mult" + where);
        c.fill(Float.NaN);
        kernel.multTransA(at, b, c);
        assertArrayEquals(expected, bits(c), "multTransA" + where);
        c.fill(Float.NaN);
        kernel.multTransB(a, bt, c);
        assertArrayEquals(expected, bits(c), "multTransB" + where);
        // The same product read in place from rows 2.. of taller operands (a worker's block of shards).
        FMatrixRMaj tallAt = new FMatrixRMaj(k + 3, n);
        FMatrixRMaj tallB = new FMatrixRMaj(k + 3, m);
        tallAt.fill(Float.NaN);
        tallB.fill(Float.NaN);
        System.arraycopy(at.data, 0, tallAt.data, 2 * n, k * n);
        System.arraycopy(b.data, 0, tallB.data, 2 * m, k * m);
        c.fill(Float.NaN);
        kernel.multTransARows(tallAt, tallB, 2, k, false, c);
        assertArrayEquals(expected, bits(c), "multTransARows" + where);
        // Accumulated: fl(c + p) element by element, p the product's bytes, over values of c that
        // include both zeros (-0 + +0 is +0, -0 + -0 is -0) and every tail position.
        FMatrixRMaj before = awkward(n, m, r);
        for (int i = 0; i < before.data.length; i += 3) {
          before.data[i] = i % 2 == 0 ? -0f : 0f;
        }
        int[] added = new int[n * m];
        for (int i = 0; i < added.length; i++) {
          added[i] = Float.floatToRawIntBits(before.data[i] + Float.intBitsToFloat(expected[i]));
        }
        c.setTo(before);
        kernel.multTransARows(tallAt, tallB, 2, k, true, c);
        assertArrayEquals(added, bits(c), "multTransARows accumulated" + where);
      }
    }
  }

  /** A shard's rows alone give the bytes they give inside a larger call: no result depends on its neighbours. */
  @Test
  void rowsComputeAloneAsTheyDoTogether() {
    SplittableRandom r = new SplittableRandom(SEED + 1);
    MatrixKernel kernel = new VectorFmaKernel();
    int n = 16;
    int m = 70;
    int k = 45;
    FMatrixRMaj a = awkward(n, k, r);
    FMatrixRMaj b = awkward(k, m, r);
    FMatrixRMaj bt = transpose(b);
    FMatrixRMaj whole = new FMatrixRMaj(1, 1);
    FMatrixRMaj wholeT = new FMatrixRMaj(1, 1);
    kernel.mult(a, b, whole);
    kernel.multTransB(a, bt, wholeT);
    for (int rows : new int[] {1, 3, 5, 8}) {
      for (int first = 0; first < n; first += rows) {
        int count = Math.min(rows, n - first);
        FMatrixRMaj part = new FMatrixRMaj(count, k);
        System.arraycopy(a.data, first * k, part.data, 0, count * k);
        FMatrixRMaj c = new FMatrixRMaj(1, 1);
        kernel.mult(part, b, c);
        assertArrayEquals(slice(bits(whole), first * m, count * m), bits(c), "mult rows " + first + "+" + count);
        kernel.multTransB(part, bt, c);
        assertArrayEquals(slice(bits(wholeT), first * m, count * m), bits(c), "multTransB rows " + first + "+" + count);
      }
    }
  }

  /**
   * The byte comparison notices another order of additions: unfused sums, and fma chains run
   * backwards over the inner index, both give other bytes on this data. (So were the kernel to
   * sum in lanes along the inner index, as a dot-product kernel does, the tests above would fail.)
   */
  @Test
  void anotherOrderOfAdditionsGivesOtherBytes() {
    SplittableRandom r = new SplittableRandom(SEED + 2);
    FMatrixRMaj a = awkward(16, 256, r);
    FMatrixRMaj b = awkward(256, 128, r);
    FMatrixRMaj c = new FMatrixRMaj(1, 1);
    new VectorFmaKernel().mult(a, b, c);
    int[] kernel = bits(c);
    assertArrayEquals(bits(reference(a, b)), kernel);
    float[] unfused = new float[16 * 128];
    float[] backwards = new float[16 * 128];
    for (int i = 0; i < 16; i++) {
      for (int j = 0; j < 128; j++) {
        float u = 0f;
        float back = 0f;
        for (int p = 0; p < 256; p++) {
          u += a.get(i, p) * b.get(p, j);
          back = Math.fma(a.get(i, 255 - p), b.get(255 - p, j), back);
        }
        unfused[i * 128 + j] = u;
        backwards[i * 128 + j] = back;
      }
    }
    assertFalse(Arrays.equals(kernel, bits(unfused)), "unfused sums give the same bytes");
    assertFalse(Arrays.equals(kernel, bits(backwards)), "backwards chains give the same bytes");
  }

  @Test
  void theIdentityNamesNoProcessor() {
    String identity = new VectorFmaKernel().identity();
    assertEquals("java-fma/vector-api/java-" + System.getProperty("java.specification.version"), identity);
    assertEquals(identity, VectorFmaKernel.withWidth(128).identity(), "the width is not part of it");
  }

  /** The definition: one fma chain per element over p in increasing order, from +0. */
  private static float[] reference(FMatrixRMaj a, FMatrixRMaj b) {
    int n = a.numRows;
    int k = a.numCols;
    int m = b.numCols;
    float[] c = new float[n * m];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < m; j++) {
        float s = 0f;
        for (int p = 0; p < k; p++) {
          s = Math.fma(a.data[i * k + p], b.data[p * m + j], s);
        }
        c[i * m + j] = s;
      }
    }
    return c;
  }

  /** Mostly uniform in (−1, 1), with zeros of both signs, denormals, tiny and large magnitudes mixed in. */
  private static FMatrixRMaj awkward(int rows, int cols, SplittableRandom r) {
    FMatrixRMaj m = new FMatrixRMaj(rows, cols);
    for (int i = 0; i < rows * cols; i++) {
      float sign = r.nextBoolean() ? 1f : -1f;
      int kind = r.nextInt(20);
      m.data[i] = switch (kind) {
        case 0 -> sign * 0f;
        case 1 -> sign * Float.MIN_VALUE * (1 + r.nextInt(1 << 20));
        case 2 -> sign * (float) (r.nextDouble() * 1e-20);
        case 3 -> sign * (float) (r.nextDouble() * 1e6);
        default -> (float) (2 * r.nextDouble() - 1);
      };
    }
    return m;
  }

  private static int[] bits(FMatrixRMaj m) {
    return bits(Arrays.copyOf(m.data, m.getNumElements()));
  }

  private static int[] bits(float[] v) {
    int[] b = new int[v.length];
    for (int i = 0; i < v.length; i++) {
      b[i] = Float.floatToRawIntBits(v[i]);
    }
    return b;
  }

  private static int[] slice(int[] v, int from, int length) {
    return Arrays.copyOfRange(v, from, from + length);
  }

  /** The width of a copy made by {@link VectorFmaKernel#withWidth}, whose class this test cannot name. */
  private static String species(MatrixKernel kernel) {
    try {
      java.lang.reflect.Method width = kernel.getClass().getDeclaredMethod("width");
      return width.invoke(kernel) + " bits";
    } catch (ReflectiveOperationException e) {
      throw new AssertionError(e);
    }
  }
}
