package io.syncgrad.common.math;

import org.ejml.data.FMatrixRMaj;

/** What every kernel does with a product that has nothing to compute, so that all agree on it. */
final class EmptyProducts {

  private EmptyProducts() {}

  /**
   * An empty product is zeros (k = 0) or nothing (n or m = 0); BLAS also refuses zero leading
   * dimensions.
   *
   * @return whether the product of an n×k and a k×m matrix into {@code c} is done already
   */
  static boolean done(int n, int m, int k, FMatrixRMaj c) {
    if (n == 0 || m == 0) {
      return true;
    }
    if (k == 0) {
      c.zero();
      return true;
    }
    return false;
  }
}
