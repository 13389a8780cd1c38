package io.syncgrad.common.math;

import org.ejml.data.FMatrixRMaj;

/**
 * The seam between the layers and whatever multiplies their matrices.
 *
 * <p>A dense layer's step is three products; everything else is cheap elementwise work. Keeping
 * the products behind this interface lets a faster BLAS replace EJML's own loops without the
 * layers noticing. Every implementation must be a fixed sequence of floating-point operations
 * for given shapes: one call on one thread, so the same inputs always give the same bits.
 *
 * <p>Outputs go last, are reshaped to fit (reusing their storage) and must not alias an input.
 */
public interface MatrixKernel {

  /** {@code c = a·b}. a: n×k, b: k×m, c: n×m (modified). */
  void mult(FMatrixRMaj a, FMatrixRMaj b, FMatrixRMaj c);

  /** {@code c = aᵀ·b}. a: k×n, b: k×m, c: n×m (modified). */
  void multTransA(FMatrixRMaj a, FMatrixRMaj b, FMatrixRMaj c);

  /** {@code c = a·bᵀ}. a: n×k, b: m×k, c: n×m (modified). */
  void multTransB(FMatrixRMaj a, FMatrixRMaj b, FMatrixRMaj c);

  /**
   * Whether {@link #mult} and {@link #multTransB} compute every row of {@code c} from the same row
   * of {@code a} by the same operations whatever {@code a}'s row count (with a {@link #rowPanel}
   * above 1: in calls laid out in full panels, each row in its lane). Then one product over the
   * rows of several shards gives, row by row, the bytes of one product per shard, and a network
   * may multiply a worker's whole block of rows at once (one packing of the weights instead of
   * one per shard). A kernel says so only where a test has checked it bit for bit; the default
   * promises nothing, and callers then multiply shard by shard.
   */
  default boolean rowsIndependent() {
    return false;
  }

  /**
   * Where {@link #rowsIndependent} holds only in full panels: the number of rows u such that a
   * row of {@link #mult} and {@link #multTransB} gets the same bytes in any call whose rows start
   * and end on multiples of u, provided the row keeps its place modulo u (its lane). Callers lay
   * their rows out so (a network pads a block to full panels, each row in the lane of its place in
   * the batch), and then every row's bytes are a function of its values and its lane alone. 1, the
   * default, is the plain promise of {@link #rowsIndependent}.
   */
  default int rowPanel() {
    return 1;
  }

  /**
   * {@code c = a[first, first+rows)ᵀ · b[first, first+rows)}, or with {@code accumulate}
   * {@code c += } that product: {@link #multTransA} over a block of consecutive rows of both
   * operands. a: n×d, b: n×m, c: d×m (modified; must not alias a or b; with {@code accumulate}
   * already d×m).
   *
   * <p>Without {@code accumulate} the bytes are those of {@code multTransA} on copies of the rows.
   * With it they are {@code fl(c + p)}, p being those bytes, only where {@link #addsProductOnce}
   * says so; otherwise the kernel may add partial products to c, with other rounding. This
   * default copies the rows and adds the finished product (so it always adds it once, but
   * allocates); kernels that say {@link #rowsIndependent} read the rows in place.
   */
  default void multTransARows(FMatrixRMaj a, FMatrixRMaj b, int first, int rows, boolean accumulate,
      FMatrixRMaj c) {
    if (a.numRows != b.numRows || first < 0 || rows < 0 || first + rows > a.numRows) {
      throw new IllegalArgumentException("Inconsistent shapes: a=" + a.numRows + "x" + a.numCols + ", b="
          + b.numRows + "x" + b.numCols + ", rows [" + first + ", " + (first + rows) + ")");
    }
    FMatrixRMaj as = new FMatrixRMaj(rows, a.numCols);
    FMatrixRMaj bs = new FMatrixRMaj(rows, b.numCols);
    System.arraycopy(a.data, first * a.numCols, as.data, 0, rows * a.numCols);
    System.arraycopy(b.data, first * b.numCols, bs.data, 0, rows * b.numCols);
    if (!accumulate) {
      multTransA(as, bs, c);
      return;
    }
    FMatrixRMaj p = new FMatrixRMaj(a.numCols, b.numCols);
    multTransA(as, bs, p);
    for (int i = 0; i < p.getNumElements(); i++) {
      c.data[i] += p.data[i];
    }
  }

  /**
   * Whether {@link #multTransARows} with {@code accumulate} over {@code rows} rows computes the
   * whole product first and adds it to c once, so that accumulating shard 2k+1's Xᵀ·Δ into shard
   * 2k's gives {@code fl(g[2k] + g[2k+1])}, the tree's first level, without a buffer of its own.
   * The default promises nothing (callers then add separately); a kernel that says yes is still
   * checked bit for bit on the products it is used for.
   */
  default boolean addsProductOnce(int rows) {
    return false;
  }

  /**
   * What produced the bytes: binding, library and version. Two nodes with different identities
   * may round differently, so the identity is recorded with every run and checkpoint.
   */
  String identity();
}
