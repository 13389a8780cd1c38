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
   * What produced the bytes: binding, library and version. Two nodes with different identities
   * may round differently, so the identity is recorded with every run and checkpoint.
   */
  String identity();
}
