package io.syncgrad.common.testing;

import io.syncgrad.common.math.EjmlKernel;
import io.syncgrad.common.math.MatrixKernel;
import org.ejml.data.FMatrixRMaj;

/**
 * EJML's products with rows independent only in full panels of {@code u} rows, as OpenBLAS on its
 * Haswell and Zen paths: a row's bytes depend on its lane (its index modulo u; lane 1 is rounded
 * up) and on whether it sits in the last, partial panel of the call (rounded down).
 * (Each row stays row-independent in full panels, so {@code RowPanels.probe} finds u.)
 */
public record PanelKernel(int u) implements MatrixKernel {

  @Override
  public void mult(FMatrixRMaj a, FMatrixRMaj b, FMatrixRMaj c) {
    EjmlKernel.INSTANCE.mult(a, b, c);
    lanes(c);
  }

  /**
   * Xᵀ·Δ sums over the rows, and a BLAS blocks that sum by the row count: here a product over a
   * multiple of u rows rounds its first element up, so that summing a padded block's zero rows
   * along with the real ones would show.
   */
  @Override
  public void multTransA(FMatrixRMaj a, FMatrixRMaj b, FMatrixRMaj c) {
    EjmlKernel.INSTANCE.multTransA(a, b, c);
    if (a.numRows % u == 0 && c.data.length > 0) {
      c.data[0] = Math.nextUp(c.data[0]);
    }
  }

  @Override
  public void multTransB(FMatrixRMaj a, FMatrixRMaj b, FMatrixRMaj c) {
    EjmlKernel.INSTANCE.multTransB(a, b, c);
    lanes(c);
  }

  private void lanes(FMatrixRMaj c) {
    int full = c.numRows / u * u;
    for (int i = 0; i < c.numRows; i++) {
      int base = i * c.numCols;
      for (int j = 0; j < c.numCols; j++) {
        if (i >= full) {
          c.data[base + j] = Math.nextDown(c.data[base + j]);
        } else if (i % u == 1) {
          c.data[base + j] = Math.nextUp(c.data[base + j]);
        }
      }
    }
  }

  @Override
  public boolean rowsIndependent() {
    return true;
  }

  /** The panel it has; {@code RowPanels.probe} is to find the same. */
  @Override
  public int rowPanel() {
    return u;
  }

  @Override
  public boolean addsProductOnce(int rows) {
    return true;
  }

  @Override
  public String identity() {
    return "panels(" + u + ")";
  }
}
