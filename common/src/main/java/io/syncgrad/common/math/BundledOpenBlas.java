package io.syncgrad.common.math;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.openblas.global.openblas_nolapack;

/**
 * The OpenBLAS that ships inside the build ({@code org.bytedeco:openblas}), so that the native
 * kernel needs no system BLAS: JavaCPP unpacks the library for this platform from the class path
 * into its cache ({@code ~/.javacpp/cache}) and loads it with its runtime dependencies (libgfortran
 * and friends), in the order they need.
 *
 * <p>Only loading and identifying happen here. The products go through netlib's JNI shim
 * ({@link NetlibKernel}), pointed at the file loaded here: the shim pins the Java arrays
 * ({@code GetPrimitiveArrayCritical}), where JavaCPP's {@code float[]} overloads copy every array
 * in and out on each call (measured: 1.4 to 1.9 times the shim's time per product, deploy/bench/RESULTS.md).
 *
 * <p>OpenBLAS's own threads are turned off here ({@code openblas_set_num_threads(1)}), whatever
 * the environment says: one call then runs on the calling thread alone, a fixed sequence of
 * operations for a given build, core and shape.
 */
final class BundledOpenBlas {

  /**
   * The per-core kernel tables of a {@code DYNAMIC_ARCH} x86-64 build ({@code gotoblas_<CORE>}).
   * OpenBLAS picks one at load time from CPUID (or {@code OPENBLAS_CORETYPE}) and points its
   * {@code gotoblas} at it; {@code openblas_get_corename()} reports the same choice, but the
   * bindings JavaCPP ships for the BLAS-only library leave that function out.
   */
  private static final List<String> X86_64_CORES = List.of("SAPPHIRERAPIDS", "COOPERLAKE", "SKYLAKEX",
      "ZEN", "HASWELL", "SANDYBRIDGE", "EXCAVATOR", "STEAMROLLER", "PILEDRIVER", "BULLDOZER", "BARCELONA",
      "NEHALEM", "CORE2", "PRESCOTT", "NORTHWOOD", "ATHLON", "BANIAS", "COPPERMINE", "KATMAI");

  /** A loaded library: the file to hand to the JNI shim, and what produced the bytes. */
  record Loaded(String path, String identity) {}

  private static Loaded loaded;

  private BundledOpenBlas() {}

  /**
   * Loads the bundled OpenBLAS once per JVM.
   *
   * @throws IllegalStateException when this platform's library is not on the class path or does
   *     not load, with the reason
   */
  static synchronized Loaded load() {
    if (loaded != null) {
      return loaded;
    }
    String platform = Loader.getPlatform();
    try {
      Loader.load(openblas_nolapack.class);
    } catch (RuntimeException | LinkageError e) {
      throw new IllegalStateException("no bundled OpenBLAS for " + platform + " loads (" + e + ")", e);
    }
    String path = libraryPath(Loader.getLoadedLibraries());
    if (path == null) {
      throw new IllegalStateException("JavaCPP loaded no OpenBLAS file for " + platform);
    }
    openblas_nolapack.blas_set_num_threads(1);
    loaded = new Loaded(path, "openblas-" + openblas_nolapack.OPENBLAS_VERSION.trim().replace("OpenBLAS ", "")
        + "/bytedeco-" + bytedecoVersion() + "/" + platform + "/" + core());
    return loaded;
  }

  /** The file of OpenBLAS itself among what JavaCPP loaded (it is cached as libopenblas_nolapack). */
  private static String libraryPath(Map<String, String> libraries) {
    for (Map.Entry<String, String> e : libraries.entrySet()) {
      String key = e.getKey();
      if (e.getValue() != null && (key.startsWith("openblas_nolapack") || key.startsWith("libopenblas"))) {
        return e.getValue();
      }
    }
    return null;
  }

  /** "1.5.13" of the presets version "0.3.31-1.5.13". */
  private static String bytedecoVersion() {
    String v;
    try {
      v = Loader.getVersion("org.bytedeco", "openblas");
    } catch (IOException e) {
      v = null;
    }
    if (v == null) {
      return "unknown";
    }
    int dash = v.lastIndexOf('-');
    return dash >= 0 ? v.substring(dash + 1) : v;
  }

  /**
   * The core whose kernels compute: the active {@code gotoblas_<CORE>} table where the build
   * exports them (Linux x86-64); {@code fixed} for a build without runtime dispatch (no
   * {@code gotoblas}, e.g. Linux arm64: the platform names its kernels); elsewhere (macOS and
   * Windows hide the tables) the CPU it runs on, which decides the choice.
   */
  private static String core() {
    Pointer gotoblas = Loader.addressof("gotoblas");
    if (gotoblas == null) {
      return Loader.addressof("gotoblas_init") != null && !hiddenTables() ? "fixed" : "cpu-" + NetlibKernel.cpu();
    }
    long active = new PointerPointer<Pointer>(gotoblas).get(0).address();
    for (String core : X86_64_CORES) {
      Pointer table = Loader.addressof("gotoblas_" + core);
      if (table != null && table.address() == active) {
        return core;
      }
    }
    return "cpu-" + NetlibKernel.cpu();
  }

  /** macOS and Windows builds dispatch at run time but export no tables. */
  private static boolean hiddenTables() {
    String os = System.getProperty("os.name", "");
    return os.startsWith("Mac") || os.startsWith("Windows");
  }
}
