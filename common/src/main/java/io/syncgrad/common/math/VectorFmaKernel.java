package io.syncgrad.common.math;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.constant.ConstantDescs;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.ejml.data.FMatrixRMaj;

/**
 * Pure-Java products on the Vector API whose bytes are the same on every processor.
 *
 * <p>Every output element is one chain of fused multiply-adds over the inner index in increasing
 * order, starting from {@code +0f}: {@code c = Math.fma(a[i][p], b[p][j], c)} for p = 0, 1, ..., k−1.
 * The vectors run across output elements (never along the inner index), and
 * {@link FloatVector#fma} is {@link Math#fma} in each lane, so the bits depend neither on the
 * vector width nor on the CPU: AVX, AVX2, AVX-512 and ARM nodes compute the same weights, and a
 * cluster of mixed processors trains bit-exactly. That is why {@link #identity()} names no CPU.
 *
 * <p>All three products reduce to one register-blocked loop, {@code out = X·Y} with X read as
 * scalars through two strides (so it may be a transpose in place) and Y's rows contiguous in the
 * vector direction:
 * <ul>
 *   <li>{@code a·b}: X = a, Y = b, out = c.</li>
 *   <li>{@code aᵀ·b}: X = aᵀ read in place, Y = b, out = c.</li>
 *   <li>{@code a·bᵀ}: computed as {@code cᵀ = b·aᵀ}, with aᵀ packed (zero-padded to whole vectors;
 *       it is the small operand, a shard's rows by k) and cᵀ transposed back into c. Vectorising
 *       along c's rows instead would need bᵀ (the weights, the large operand) packed on every call.</li>
 * </ul>
 * Blocks are 4 rows × 4 vectors of accumulators with 512-bit vectors, 4 rows × 3 vectors with
 * narrower ones, 8 rows × 1 vector where fewer remain, and single rows at the edges. AVX2 and SSE
 * have 16 vector registers: 16 accumulators, 4 row vectors and a broadcast do not fit them, and
 * the spilled 4 × 4 block ran at half the speed of 4 × 3 (1.7-2.1 ms against 0.85-1.1 ms for a
 * 132×784·784×256 product on a Zen 3 core); AVX-512 has 32. (The width stands for the register
 * count: AArch64's NEON and SVE have 32 registers too and still get 4 × 3, which costs them speed
 * only.) The blocking decides only which output elements are computed together, never an
 * element's own chain, so it changes no bit. The blocks are written out by hand, one method per
 * shape (so 4 × 3 and 4 × 4 look alike): the JIT keeps accumulators in registers only where each
 * is a variable of its own. Each panel of Y that the main blocks read (k rows by one block's
 * vectors) is first copied into consecutive floats when at least two blocks of rows read it: the
 * blocks then stream it instead of reading a few floats from each of k rows a row length apart.
 * Measured on a Zen 3 core, six alternating pairs of rounds in one JVM: the 132×784·784×256
 * forward product took 15-27 % less time in every pair (0.86-1.28 ms with the copies, 1.09-1.53
 * without). Columns short of a vector are copied into a
 * zero-padded panel and computed as one more vector; the padding lanes are thrown away.
 *
 * <p>Packing buffers belong to the calling thread and grow to the largest shape seen, so a
 * steady-state call allocates nothing, and calls from several threads at once do not interfere.
 *
 * <p>The vector width is a {@code static final}: the JIT compiles the Vector API to vector
 * instructions only where the species is a constant, and a width held per instance ran about 25
 * times slower (8 ms against 0.08 ms for a 16×784·784×256 product). Production uses the
 * preferred width; {@link #withWidth} makes a copy of this class with another, for the tests.
 */
public final class VectorFmaKernel implements MatrixKernel {

  /**
   * The Java version names the JLS whose {@code Math.fma} defines the bits; no CPU, because none
   * changes them.
   */
  private static final String IDENTITY = "java-fma/vector-api/java-" + System.getProperty("java.specification.version");

  private static final VectorSpecies<Float> SPECIES = species();
  private static final int LANES = SPECIES.length();

  /** Rows and vectors of the main block: as many accumulators as the vector registers hold. */
  private static final int ROWS = 4;
  private static final int VECTORS = SPECIES.vectorBitSize() >= 512 ? 4 : 3;
  /** Rows of the block used where fewer than {@link #VECTORS} vectors remain. */
  private static final int NARROW_ROWS = 8;

  /** The per-thread buffers: aᵀ and cᵀ of {@link #multTransB}, and a padded tail panel and its output. */
  private static final int PACKED_A = 0;
  private static final int PACKED_OUT = 1;
  private static final int TAIL_Y = 2;
  private static final int TAIL_OUT = 3;
  /** The product that {@link #multTransARows} adds to its output. */
  private static final int ROWS_PRODUCT = 4;
  /** A panel of Y's rows, {@link #VECTORS} vectors wide, copied out of Y for {@link #product}. */
  private static final int PANEL = 5;
  /**
   * The fewest rows for which {@link #product} copies each panel of Y before its blocks read it:
   * two blocks of {@link #ROWS}, so that every copied value is read at least twice.
   */
  private static final int PACK_MIN_ROWS = 2 * ROWS;

  /**
   * One thread's buffers, grown and never shrunk. A plain {@code ThreadLocal} without an initial
   * value supplier: a lambda or nested class would not link in {@link #withWidth}'s copies.
   */
  private final ThreadLocal<float[][]> scratch = new ThreadLocal<>();

  /** The widest vectors this CPU computes natively. */
  public VectorFmaKernel() {}

  /**
   * This kernel with vectors of {@code bits} (128, 256 or 512; wider than the CPU's runs in
   * software, slowly): a hidden copy of this class whose {@link #SPECIES} is that width. Use the
   * copies in a JVM of their own: all widths share the JDK's Vector API methods and their type
   * profiles, and a kernel compiled after several widths were seen boxes its vectors (allocates).
   */
  static MatrixKernel withWidth(int bits) {
    try (InputStream in = VectorFmaKernel.class.getResourceAsStream("VectorFmaKernel.class")) {
      MethodHandles.Lookup copy = MethodHandles.lookup().defineHiddenClassWithClassData(in.readAllBytes(), bits, true);
      return (MatrixKernel) copy.findConstructor(copy.lookupClass(), MethodType.methodType(void.class)).invoke();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (Throwable e) {
      throw new IllegalStateException("cannot make a " + bits + "-bit copy of the kernel", e);
    }
  }

  /** The width {@link #withWidth} gave this copy of the class, else the preferred one. */
  private static VectorSpecies<Float> species() {
    try {
      Integer bits = MethodHandles.classData(MethodHandles.lookup(), ConstantDescs.DEFAULT_NAME, Integer.class);
      return bits == null ? FloatVector.SPECIES_PREFERRED : VectorSpecies.of(float.class, VectorShape.forBitSize(bits));
    } catch (IllegalAccessException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The vectors' width in bits. */
  int width() {
    return SPECIES.vectorBitSize();
  }

  @Override
  public void mult(FMatrixRMaj a, FMatrixRMaj b, FMatrixRMaj c) {
    productOf(a, false, b, c);
  }

  @Override
  public void multTransA(FMatrixRMaj a, FMatrixRMaj b, FMatrixRMaj c) {
    productOf(a, true, b, c);
  }

  /** {@code c = op(a)·b}, with aᵀ read in place through its strides. */
  private void productOf(FMatrixRMaj a, boolean transposeA, FMatrixRMaj b, FMatrixRMaj c) {
    int n = transposeA ? a.numCols : a.numRows;
    int k = transposeA ? a.numRows : a.numCols;
    if (k != b.numRows) {
      throw shapes(a, b);
    }
    int m = b.numCols;
    c.reshape(n, m);
    if (!EmptyProducts.done(n, m, k, c)) {
      product(a.data, 0, transposeA ? 1 : k, transposeA ? n : 1, b.data, 0, m, c.data, m, n, m, k);
    }
  }

  @Override
  public void multTransB(FMatrixRMaj a, FMatrixRMaj b, FMatrixRMaj c) {
    if (a.numCols != b.numCols) {
      throw shapes(a, b);
    }
    int n = a.numRows;
    int m = b.numRows;
    int k = a.numCols;
    c.reshape(n, m);
    if (EmptyProducts.done(n, m, k, c)) {
      return;
    }
    int width = (n + LANES - 1) / LANES * LANES;
    float[] at = buffer(PACKED_A, k * width);
    float[] ct = buffer(PACKED_OUT, m * width);
    float[] ad = a.data;
    for (int p = 0; p < k; p++) {
      int row = p * width;
      for (int i = 0; i < n; i++) {
        at[row + i] = ad[i * k + p];
      }
      // Lanes past n are never copied out; zeros keep stale (perhaps denormal, slow) values out of them.
      for (int i = n; i < width; i++) {
        at[row + i] = 0f;
      }
    }
    product(b.data, 0, k, 1, at, 0, width, ct, width, m, width, k);
    float[] cd = c.data;
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < m; j++) {
        cd[i * m + j] = ct[j * width + i];
      }
    }
  }

  /**
   * Every output element is its own fma chain over the inner index, whatever the number of rows
   * (the vectors run across output elements, and a lane never sees another): one product over
   * several shards' rows is, row by row, each shard's product.
   */
  @Override
  public boolean rowsIndependent() {
    return true;
  }

  /**
   * The product over the rows in place (aᵀ read through its strides from row {@code first}, b's
   * rows from the same), without copies; with {@code accumulate}, formed whole in this thread's
   * buffer and then added to c, so that it is added once.
   */
  @Override
  public void multTransARows(FMatrixRMaj a, FMatrixRMaj b, int first, int rows, boolean accumulate,
      FMatrixRMaj c) {
    if (!RowBlocks.shape(a, b, first, rows, accumulate, c)) {
      return;
    }
    int size = c.getNumElements();
    float[] out = accumulate ? buffer(ROWS_PRODUCT, size) : c.data;
    if (rows == 0) {
      Arrays.fill(out, 0, size, 0f);
    } else {
      product(a.data, first * a.numCols, 1, a.numCols, b.data, first * b.numCols, b.numCols, out, b.numCols,
          a.numCols, b.numCols, rows);
    }
    if (accumulate) {
      float[] cd = c.data;
      for (int i = 0; i < size; i++) {
        cd[i] += out[i];
      }
    }
  }

  /** The product is formed whole before it touches c, whatever the rows. */
  @Override
  public boolean addsProductOnce(int rows) {
    return true;
  }

  @Override
  public String identity() {
    return IDENTITY;
  }


  private static IllegalArgumentException shapes(FMatrixRMaj a, FMatrixRMaj b) {
    return new IllegalArgumentException("Inconsistent shapes: a=" + a.numRows + "x" + a.numCols + ", b="
        + b.numRows + "x" + b.numCols);
  }

  /**
   * {@code out[r·os + j] = Σ_p x[xb + r·xr + p·xp] · y[yb + p·ys + j]} for r &lt; rows, j &lt; cols,
   * each sum one fma chain in increasing p. Blocking runs over r and j only.
   */
  private void product(float[] x, int xb, int xr, int xp, float[] y, int yb, int ys, float[] out, int os, int rows,
      int cols, int k) {
    int wide = VECTORS * LANES;
    int vectorCols = cols - cols % LANES;
    int j = 0;
    // Y's rows lie ys floats apart (a 784×256 weight matrix: 1 KiB), so a block's k steps read
    // one short run from each of k rows, k cache lines and pages apart. A panel of them copied
    // once into consecutive floats is read by every block of rows after it in one stream.
    boolean pack = rows >= PACK_MIN_ROWS && ys != wide;
    float[] panel = pack ? buffer(PANEL, k * wide) : null;
    for (; j + wide <= vectorCols; j += wide) {
      float[] py = y;
      int pyb = yb + j;
      int pys = ys;
      if (pack) {
        for (int p = 0; p < k; p++) {
          System.arraycopy(y, yb + p * ys + j, panel, p * wide, wide);
        }
        py = panel;
        pyb = 0;
        pys = wide;
      }
      int r = 0;
      if (VECTORS == 4) {
        for (; r + ROWS <= rows; r += ROWS) {
          block4x4(x, xb + r * xr, xr, xp, py, pyb, pys, out, r * os + j, os, k);
        }
        for (; r < rows; r++) {
          block1x4(x, xb + r * xr, xp, py, pyb, pys, out, r * os + j, k);
        }
      } else {
        for (; r + ROWS <= rows; r += ROWS) {
          block4x3(x, xb + r * xr, xr, xp, py, pyb, pys, out, r * os + j, os, k);
        }
        for (; r < rows; r++) {
          block1x3(x, xb + r * xr, xp, py, pyb, pys, out, r * os + j, k);
        }
      }
    }
    if (j + 2 * LANES <= vectorCols) {
      // Two vectors left (the last 16 of 256 columns on AVX2): a block of 8 accumulators loads
      // 6 values for 8 fmas, where a column of 8 rows loads 9.
      int r = 0;
      for (; r + ROWS <= rows; r += ROWS) {
        block4x2(x, xb + r * xr, xr, xp, y, yb + j, ys, out, r * os + j, os, k);
      }
      for (; r < rows; r++) {
        block1x2(x, xb + r * xr, xp, y, yb + j, ys, out, r * os + j, k);
      }
      j += 2 * LANES;
    }
    for (; j < vectorCols; j += LANES) {
      column(x, xb, xr, xp, y, yb + j, ys, out, j, os, rows, k);
    }
    if (j < cols) {
      int w = cols - j;
      float[] yt = buffer(TAIL_Y, k * LANES);
      float[] ot = buffer(TAIL_OUT, rows * LANES);
      for (int p = 0; p < k; p++) {
        System.arraycopy(y, yb + p * ys + j, yt, p * LANES, w);
        Arrays.fill(yt, p * LANES + w, (p + 1) * LANES, 0f);
      }
      column(x, xb, xr, xp, yt, 0, LANES, ot, 0, LANES, rows, k);
      for (int r = 0; r < rows; r++) {
        System.arraycopy(ot, r * LANES, out, r * os + j, w);
      }
    }
  }

  /** One vector of columns, starting at {@code yo} in y and {@code oo} in out, for every row. */
  private void column(float[] x, int xb, int xr, int xp, float[] y, int yo, int ys, float[] out, int oo, int os,
      int rows, int k) {
    int r = 0;
    for (; r + NARROW_ROWS <= rows; r += NARROW_ROWS) {
      block8x1(x, xb + r * xr, xr, xp, y, yo, ys, out, r * os + oo, os, k);
    }
    for (; r < rows; r++) {
      block1x1(x, xb + r * xr, xp, y, yo, ys, out, r * os + oo, k);
    }
  }

  private void block4x4(float[] x, int xo, int xr, int xp, float[] y, int yo, int ys, float[] out, int oo, int os,
      int k) {
    VectorSpecies<Float> s = SPECIES;
    int v = LANES;
    FloatVector c00 = FloatVector.zero(s);
    FloatVector c01 = c00;
    FloatVector c02 = c00;
    FloatVector c03 = c00;
    FloatVector c10 = c00;
    FloatVector c11 = c00;
    FloatVector c12 = c00;
    FloatVector c13 = c00;
    FloatVector c20 = c00;
    FloatVector c21 = c00;
    FloatVector c22 = c00;
    FloatVector c23 = c00;
    FloatVector c30 = c00;
    FloatVector c31 = c00;
    FloatVector c32 = c00;
    FloatVector c33 = c00;
    for (int p = 0; p < k; p++) {
      int yp = yo + p * ys;
      int xq = xo + p * xp;
      FloatVector b0 = FloatVector.fromArray(s, y, yp);
      FloatVector b1 = FloatVector.fromArray(s, y, yp + v);
      FloatVector b2 = FloatVector.fromArray(s, y, yp + 2 * v);
      FloatVector b3 = FloatVector.fromArray(s, y, yp + 3 * v);
      FloatVector a = FloatVector.broadcast(s, x[xq]);
      c00 = a.fma(b0, c00);
      c01 = a.fma(b1, c01);
      c02 = a.fma(b2, c02);
      c03 = a.fma(b3, c03);
      a = FloatVector.broadcast(s, x[xq + xr]);
      c10 = a.fma(b0, c10);
      c11 = a.fma(b1, c11);
      c12 = a.fma(b2, c12);
      c13 = a.fma(b3, c13);
      a = FloatVector.broadcast(s, x[xq + 2 * xr]);
      c20 = a.fma(b0, c20);
      c21 = a.fma(b1, c21);
      c22 = a.fma(b2, c22);
      c23 = a.fma(b3, c23);
      a = FloatVector.broadcast(s, x[xq + 3 * xr]);
      c30 = a.fma(b0, c30);
      c31 = a.fma(b1, c31);
      c32 = a.fma(b2, c32);
      c33 = a.fma(b3, c33);
    }
    c00.intoArray(out, oo);
    c01.intoArray(out, oo + v);
    c02.intoArray(out, oo + 2 * v);
    c03.intoArray(out, oo + 3 * v);
    c10.intoArray(out, oo + os);
    c11.intoArray(out, oo + os + v);
    c12.intoArray(out, oo + os + 2 * v);
    c13.intoArray(out, oo + os + 3 * v);
    c20.intoArray(out, oo + 2 * os);
    c21.intoArray(out, oo + 2 * os + v);
    c22.intoArray(out, oo + 2 * os + 2 * v);
    c23.intoArray(out, oo + 2 * os + 3 * v);
    c30.intoArray(out, oo + 3 * os);
    c31.intoArray(out, oo + 3 * os + v);
    c32.intoArray(out, oo + 3 * os + 2 * v);
    c33.intoArray(out, oo + 3 * os + 3 * v);
  }

  private void block4x3(float[] x, int xo, int xr, int xp, float[] y, int yo, int ys, float[] out, int oo, int os,
      int k) {
    VectorSpecies<Float> s = SPECIES;
    int v = LANES;
    FloatVector c00 = FloatVector.zero(s);
    FloatVector c01 = c00;
    FloatVector c02 = c00;
    FloatVector c10 = c00;
    FloatVector c11 = c00;
    FloatVector c12 = c00;
    FloatVector c20 = c00;
    FloatVector c21 = c00;
    FloatVector c22 = c00;
    FloatVector c30 = c00;
    FloatVector c31 = c00;
    FloatVector c32 = c00;
    for (int p = 0; p < k; p++) {
      int yp = yo + p * ys;
      int xq = xo + p * xp;
      FloatVector b0 = FloatVector.fromArray(s, y, yp);
      FloatVector b1 = FloatVector.fromArray(s, y, yp + v);
      FloatVector b2 = FloatVector.fromArray(s, y, yp + 2 * v);
      FloatVector a = FloatVector.broadcast(s, x[xq]);
      c00 = a.fma(b0, c00);
      c01 = a.fma(b1, c01);
      c02 = a.fma(b2, c02);
      a = FloatVector.broadcast(s, x[xq + xr]);
      c10 = a.fma(b0, c10);
      c11 = a.fma(b1, c11);
      c12 = a.fma(b2, c12);
      a = FloatVector.broadcast(s, x[xq + 2 * xr]);
      c20 = a.fma(b0, c20);
      c21 = a.fma(b1, c21);
      c22 = a.fma(b2, c22);
      a = FloatVector.broadcast(s, x[xq + 3 * xr]);
      c30 = a.fma(b0, c30);
      c31 = a.fma(b1, c31);
      c32 = a.fma(b2, c32);
    }
    c00.intoArray(out, oo);
    c01.intoArray(out, oo + v);
    c02.intoArray(out, oo + 2 * v);
    c10.intoArray(out, oo + os);
    c11.intoArray(out, oo + os + v);
    c12.intoArray(out, oo + os + 2 * v);
    c20.intoArray(out, oo + 2 * os);
    c21.intoArray(out, oo + 2 * os + v);
    c22.intoArray(out, oo + 2 * os + 2 * v);
    c30.intoArray(out, oo + 3 * os);
    c31.intoArray(out, oo + 3 * os + v);
    c32.intoArray(out, oo + 3 * os + 2 * v);
  }

  private void block4x2(float[] x, int xo, int xr, int xp, float[] y, int yo, int ys, float[] out, int oo, int os,
      int k) {
    VectorSpecies<Float> s = SPECIES;
    int v = LANES;
    FloatVector c00 = FloatVector.zero(s);
    FloatVector c01 = c00;
    FloatVector c10 = c00;
    FloatVector c11 = c00;
    FloatVector c20 = c00;
    FloatVector c21 = c00;
    FloatVector c30 = c00;
    FloatVector c31 = c00;
    for (int p = 0; p < k; p++) {
      int yp = yo + p * ys;
      int xq = xo + p * xp;
      FloatVector b0 = FloatVector.fromArray(s, y, yp);
      FloatVector b1 = FloatVector.fromArray(s, y, yp + v);
      FloatVector a = FloatVector.broadcast(s, x[xq]);
      c00 = a.fma(b0, c00);
      c01 = a.fma(b1, c01);
      a = FloatVector.broadcast(s, x[xq + xr]);
      c10 = a.fma(b0, c10);
      c11 = a.fma(b1, c11);
      a = FloatVector.broadcast(s, x[xq + 2 * xr]);
      c20 = a.fma(b0, c20);
      c21 = a.fma(b1, c21);
      a = FloatVector.broadcast(s, x[xq + 3 * xr]);
      c30 = a.fma(b0, c30);
      c31 = a.fma(b1, c31);
    }
    c00.intoArray(out, oo);
    c01.intoArray(out, oo + v);
    c10.intoArray(out, oo + os);
    c11.intoArray(out, oo + os + v);
    c20.intoArray(out, oo + 2 * os);
    c21.intoArray(out, oo + 2 * os + v);
    c30.intoArray(out, oo + 3 * os);
    c31.intoArray(out, oo + 3 * os + v);
  }

  private void block1x2(float[] x, int xo, int xp, float[] y, int yo, int ys, float[] out, int oo, int k) {
    VectorSpecies<Float> s = SPECIES;
    int v = LANES;
    FloatVector c0 = FloatVector.zero(s);
    FloatVector c1 = c0;
    for (int p = 0; p < k; p++) {
      int yp = yo + p * ys;
      FloatVector a = FloatVector.broadcast(s, x[xo + p * xp]);
      c0 = a.fma(FloatVector.fromArray(s, y, yp), c0);
      c1 = a.fma(FloatVector.fromArray(s, y, yp + v), c1);
    }
    c0.intoArray(out, oo);
    c1.intoArray(out, oo + v);
  }

  private void block1x3(float[] x, int xo, int xp, float[] y, int yo, int ys, float[] out, int oo, int k) {
    VectorSpecies<Float> s = SPECIES;
    int v = LANES;
    FloatVector c0 = FloatVector.zero(s);
    FloatVector c1 = c0;
    FloatVector c2 = c0;
    for (int p = 0; p < k; p++) {
      int yp = yo + p * ys;
      FloatVector a = FloatVector.broadcast(s, x[xo + p * xp]);
      c0 = a.fma(FloatVector.fromArray(s, y, yp), c0);
      c1 = a.fma(FloatVector.fromArray(s, y, yp + v), c1);
      c2 = a.fma(FloatVector.fromArray(s, y, yp + 2 * v), c2);
    }
    c0.intoArray(out, oo);
    c1.intoArray(out, oo + v);
    c2.intoArray(out, oo + 2 * v);
  }

  private void block1x4(float[] x, int xo, int xp, float[] y, int yo, int ys, float[] out, int oo, int k) {
    VectorSpecies<Float> s = SPECIES;
    int v = LANES;
    FloatVector c0 = FloatVector.zero(s);
    FloatVector c1 = c0;
    FloatVector c2 = c0;
    FloatVector c3 = c0;
    for (int p = 0; p < k; p++) {
      int yp = yo + p * ys;
      FloatVector a = FloatVector.broadcast(s, x[xo + p * xp]);
      c0 = a.fma(FloatVector.fromArray(s, y, yp), c0);
      c1 = a.fma(FloatVector.fromArray(s, y, yp + v), c1);
      c2 = a.fma(FloatVector.fromArray(s, y, yp + 2 * v), c2);
      c3 = a.fma(FloatVector.fromArray(s, y, yp + 3 * v), c3);
    }
    c0.intoArray(out, oo);
    c1.intoArray(out, oo + v);
    c2.intoArray(out, oo + 2 * v);
    c3.intoArray(out, oo + 3 * v);
  }

  private void block8x1(float[] x, int xo, int xr, int xp, float[] y, int yo, int ys, float[] out, int oo, int os,
      int k) {
    VectorSpecies<Float> s = SPECIES;
    FloatVector c0 = FloatVector.zero(s);
    FloatVector c1 = c0;
    FloatVector c2 = c0;
    FloatVector c3 = c0;
    FloatVector c4 = c0;
    FloatVector c5 = c0;
    FloatVector c6 = c0;
    FloatVector c7 = c0;
    for (int p = 0; p < k; p++) {
      int xq = xo + p * xp;
      FloatVector b = FloatVector.fromArray(s, y, yo + p * ys);
      c0 = FloatVector.broadcast(s, x[xq]).fma(b, c0);
      c1 = FloatVector.broadcast(s, x[xq + xr]).fma(b, c1);
      c2 = FloatVector.broadcast(s, x[xq + 2 * xr]).fma(b, c2);
      c3 = FloatVector.broadcast(s, x[xq + 3 * xr]).fma(b, c3);
      c4 = FloatVector.broadcast(s, x[xq + 4 * xr]).fma(b, c4);
      c5 = FloatVector.broadcast(s, x[xq + 5 * xr]).fma(b, c5);
      c6 = FloatVector.broadcast(s, x[xq + 6 * xr]).fma(b, c6);
      c7 = FloatVector.broadcast(s, x[xq + 7 * xr]).fma(b, c7);
    }
    c0.intoArray(out, oo);
    c1.intoArray(out, oo + os);
    c2.intoArray(out, oo + 2 * os);
    c3.intoArray(out, oo + 3 * os);
    c4.intoArray(out, oo + 4 * os);
    c5.intoArray(out, oo + 5 * os);
    c6.intoArray(out, oo + 6 * os);
    c7.intoArray(out, oo + 7 * os);
  }

  private void block1x1(float[] x, int xo, int xp, float[] y, int yo, int ys, float[] out, int oo, int k) {
    VectorSpecies<Float> s = SPECIES;
    FloatVector c = FloatVector.zero(s);
    for (int p = 0; p < k; p++) {
      c = FloatVector.broadcast(s, x[xo + p * xp]).fma(FloatVector.fromArray(s, y, yo + p * ys), c);
    }
    c.intoArray(out, oo);
  }

  /** This thread's buffer {@code which}, at least {@code size} long. */
  private float[] buffer(int which, int size) {
    float[][] buffers = scratch.get();
    if (buffers == null) {
      buffers = new float[6][0];
      scratch.set(buffers);
    }
    if (buffers[which].length < size) {
      buffers[which] = new float[size];
    }
    return buffers[which];
  }
}
