package io.syncgrad.common.math;

import io.syncgrad.common.error.UserException;
import java.util.Locale;

/**
 * Picks the matrix kernel by name: {@code native} (the system BLAS), {@code java} (pure Java on
 * the Vector API, {@link VectorFmaKernel}: the same bytes on every processor), {@code ejml} (EJML's
 * own loops) or {@code auto} (native where a system BLAS loads, else java). Different kernels round differently, so the kernel is part of the result:
 * its identity goes into every summary and checkpoint.
 */
public final class Kernels {

  private Kernels() {}

  /** The choices {@link #select} takes. */
  public static final String CHOICES = "auto, native, java or ejml";

  /**
   * @throws UserException when {@code native} is asked for and no system BLAS loads, or the name is unknown
   */
  public static MatrixKernel select(String name) {
    switch (name.toLowerCase(Locale.ROOT)) {
      case "native":
        try {
          return NetlibKernel.nativeKernel();
        } catch (IllegalStateException e) {
          throw new UserException("--kernel native: no system BLAS could be loaded (" + e.getMessage()
              + "); install one with 'apt-get install -y libopenblas0-openmp', or use --kernel java", e);
        }
      case "java":
        return javaKernel();
      case "ejml":
        return EjmlKernel.INSTANCE;
      case "auto":
        try {
          return NetlibKernel.nativeKernel();
        } catch (IllegalStateException e) {
          return javaKernel();
        }
      default:
        throw new UserException("--kernel must be " + CHOICES + ", got '" + name + "'");
    }
  }

  /**
   * The portable kernel, whose bytes are the same on every processor. Checked here because its
   * class cannot even be linked in a JVM without the Vector API module.
   */
  private static MatrixKernel javaKernel() {
    if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
      throw new UserException("the java kernel needs the JVM option '--add-modules jdk.incubator.vector' "
          + "(the syncgrad launcher adds it itself)");
    }
    return new VectorFmaKernel();
  }
}
