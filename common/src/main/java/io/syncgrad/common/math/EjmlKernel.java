package io.syncgrad.common.math;

import org.ejml.data.FMatrixRMaj;
import org.ejml.dense.row.CommonOps_FDRM;

/**
 * EJML's own single-threaded float32 products: portable and exact to reproduce on any JVM,
 * but without SIMD.
 */
public final class EjmlKernel implements MatrixKernel {

  /** The one instance; the kernel holds no state. */
  public static final EjmlKernel INSTANCE = new EjmlKernel();

  private static final String IDENTITY = "ejml-" + ejmlVersion() + "/java";

  private EjmlKernel() {}

  @Override
  public void mult(FMatrixRMaj a, FMatrixRMaj b, FMatrixRMaj c) {
    CommonOps_FDRM.mult(a, b, c);
  }

  @Override
  public void multTransA(FMatrixRMaj a, FMatrixRMaj b, FMatrixRMaj c) {
    CommonOps_FDRM.multTransA(a, b, c);
  }

  @Override
  public void multTransB(FMatrixRMaj a, FMatrixRMaj b, FMatrixRMaj c) {
    CommonOps_FDRM.multTransB(a, b, c);
  }

  @Override
  public String identity() {
    return IDENTITY;
  }

  private static String ejmlVersion() {
    String v = CommonOps_FDRM.class.getPackage().getImplementationVersion();
    return v != null ? v : "0.46.1";
  }
}
