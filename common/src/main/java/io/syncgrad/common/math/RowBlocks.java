package io.syncgrad.common.math;

import org.ejml.data.FMatrixRMaj;

/** The shapes {@link MatrixKernel#multTransARows} accepts, checked alike by every kernel. */
final class RowBlocks {

  private RowBlocks() {}

  /**
   * Checks that rows {@code [first, first+rows)} exist in both operands and, with
   * {@code accumulate}, that c already has the product's shape; then shapes c for the product.
   *
   * @return false when the product has no elements (nothing to compute)
   * @throws IllegalArgumentException naming the shapes when they do not fit
   */
  static boolean shape(FMatrixRMaj a, FMatrixRMaj b, int first, int rows, boolean accumulate, FMatrixRMaj c) {
    // rows > numRows - first, not first + rows > numRows: the sum could overflow past the check.
    if (a.numRows != b.numRows || first < 0 || rows < 0 || rows > a.numRows - first) {
      throw new IllegalArgumentException("Inconsistent shapes: a=" + a.numRows + "x" + a.numCols + ", b="
          + b.numRows + "x" + b.numCols + ", rows [" + first + ", " + ((long) first + rows) + ")");
    }
    if (accumulate && (c.numRows != a.numCols || c.numCols != b.numCols)) {
      throw new IllegalArgumentException("Inconsistent shapes: c=" + c.numRows + "x" + c.numCols + " to add "
          + a.numCols + "x" + b.numCols + " to");
    }
    c.reshape(a.numCols, b.numCols);
    return a.numCols > 0 && b.numCols > 0;
  }
}
