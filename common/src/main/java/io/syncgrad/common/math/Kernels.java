package io.syncgrad.common.math;

import io.syncgrad.common.error.UserException;
import java.util.List;
import java.util.Locale;

/**
 * Picks the matrix kernel by name: {@code native} (the OpenBLAS bundled with the build),
 * {@code system} (the system BLAS, libblas.so.3), {@code java} (pure Java on the Vector API,
 * {@link VectorFmaKernel}: the same bytes on every processor), {@code ejml} (EJML's own loops) or
 * {@code auto} (native, else system, else java). Different
 * kernels round differently, so the kernel is part of the result: its identity goes into every
 * summary and checkpoint.
 */
public final class Kernels {

  private Kernels() {}

  /** The names {@link #select} takes. */
  public static final List<String> NAMES = List.of("auto", "native", "system", "java", "ejml");

  /** The choices {@link #select} takes, for messages. */
  public static final String CHOICES = "auto, native, system, java or ejml";

  /**
   * @throws UserException when {@code native} or {@code system} is asked for and does not load, or
   *     the name is unknown
   */
  public static MatrixKernel select(String name) {
    switch (name.toLowerCase(Locale.ROOT)) {
      case "native":
        try {
          return NetlibKernel.nativeKernel();
        } catch (IllegalStateException e) {
          throw new UserException("--kernel native: the bundled OpenBLAS could not be loaded (" + e.getMessage()
              + "); use --kernel system (a system BLAS: 'apt-get install -y libopenblas0-openmp') or --kernel java", e);
        }
      case "system":
        try {
          return NetlibKernel.systemKernel();
        } catch (IllegalStateException e) {
          throw new UserException("--kernel system: no system BLAS could be loaded (" + e.getMessage()
              + "); install one with 'apt-get install -y libopenblas0-openmp', or use --kernel native", e);
        }
      case "java":
        return javaKernel();
      case "ejml":
        return EjmlKernel.INSTANCE;
      case "auto":
        return auto();
      default:
        throw new UserException("--kernel must be " + CHOICES + ", got '" + name + "'");
    }
  }

  /** Whether {@code auto} computes natively here (bundled or system BLAS). */
  public static boolean nativeLoads() {
    return nativeOrSystem() != null;
  }

  private static MatrixKernel auto() {
    MatrixKernel blas = nativeOrSystem();
    return blas != null ? blas : javaKernel();
  }

  /** The bundled OpenBLAS, else the system BLAS, else null. */
  private static MatrixKernel nativeOrSystem() {
    try {
      return NetlibKernel.nativeKernel();
    } catch (IllegalStateException bundled) {
      try {
        return NetlibKernel.systemKernel();
      } catch (IllegalStateException system) {
        return null;
      }
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
