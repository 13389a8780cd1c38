package io.syncgrad.common.math;

import dev.ludovic.netlib.blas.BLAS;
import dev.ludovic.netlib.blas.JavaBLAS;
import dev.ludovic.netlib.blas.NativeBLAS;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.TreeSet;
import org.ejml.data.FMatrixRMaj;

/**
 * Products through {@code dev.ludovic.netlib:blas}: JNI to OpenBLAS (the one bundled with the
 * build, or the system's libblas.so.3), or the library's pure-Java implementation on the Vector API.
 *
 * <p>EJML's matrices are row-major and BLAS is column-major. A row-major n×m matrix is the
 * column-major m×n transpose, so {@code C = A·B} is computed as {@code Cᵀ = Bᵀ·Aᵀ} with the
 * operands swapped, and no data moves.
 *
 * <p>netlib's JNI shim opens its BLAS once per JVM (the file named by the system property
 * {@code dev.ludovic.netlib.blas.nativeLibPath}, else {@code libblas.so.3}), so a process computes
 * with one native BLAS: asking for the other one afterwards is refused rather than answered
 * with a kernel whose identity would lie.
 *
 * <p>One call runs on the calling thread alone when the BLAS's own threading is off
 * ({@code openblas_set_num_threads(1)} for the bundled library; {@code OMP_NUM_THREADS=1}, set by
 * the launcher and the build, for the system's): then a product is a fixed sequence of operations
 * for a given library, CPU path and shape.
 */
public final class NetlibKernel implements MatrixKernel {

  private final BLAS blas;
  /** {@link #blas} when its native sgemm is called without netlib's argument checks (see {@link NativeGemm}). */
  private final NativeBLAS direct;
  private final String identity;

  private final int rowPanel;
  /** Whether a product of at least {@link #FILL_MIN_WORK} multiply-adds zero-fills c itself. */
  private final boolean fillsZeros;

  /** The row panel found for each library and CPU path (by its identity), once per process. */
  private static final java.util.Map<String, Integer> PANELS = new java.util.concurrent.ConcurrentHashMap<>();
  /** Whether zero-filling matches beta 0, per library and CPU path, once per process. */
  private static final java.util.Map<String, Boolean> FILLS = new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * Products of at least this many multiply-adds (n·m·k) zero-fill their output and call the BLAS
   * with beta 1. Twice the most for which OpenBLAS takes its small-matrix kernels, which have a
   * beta-0 variant of their own (100³ on SkylakeX-class cores, 84³ to 100³ on POWER10, 64³ with
   * SVE, in its permit functions).
   */
  static final long FILL_MIN_WORK = 1 << 21;

  private NetlibKernel(BLAS blas, String identity) {
    this.blas = blas;
    this.direct = NativeGemm.of(blas);
    this.rowPanel = PANELS.computeIfAbsent(identity, id -> RowPanels.probe(new NetlibKernel(blas, id, 1)));
    this.fillsZeros = FILLS.computeIfAbsent(identity, id -> fillMatchesBetaZero(blas));
    // The panel decides how a block's rows are laid out, and so the bytes: it is part of the name.
    this.identity = rowPanel > 1 ? identity + "/rows-" + rowPanel : identity;
  }

  private NetlibKernel(BLAS blas, String identity, int rowPanel) {
    this.blas = blas;
    this.direct = NativeGemm.of(blas);
    this.identity = identity;
    this.rowPanel = rowPanel;
    this.fillsZeros = false;
  }

  /** Which native BLAS netlib's shim opened in this JVM: {@link #BUNDLED}, {@link #SYSTEM} or null. */
  private static String boundTo;
  private static final String BUNDLED = "the bundled OpenBLAS";
  private static final String SYSTEM = "the system BLAS";
  private static final String LIB_PATH = "dev.ludovic.netlib.blas.nativeLibPath";

  /**
   * The OpenBLAS bundled with the build (org.bytedeco:openblas) through netlib's JNI shim.
   *
   * @throws IllegalStateException when this platform has no bundled library, it does not load,
   *     or this JVM already computes with the system BLAS
   */
  public static NetlibKernel nativeKernel() {
    synchronized (NetlibKernel.class) {
      BundledOpenBlas.Loaded lib = BundledOpenBlas.load();
      if (boundTo == null) {
        System.setProperty(LIB_PATH, lib.path());
      }
      return new NetlibKernel(bind(BUNDLED), lib.identity());
    }
  }

  /**
   * The system BLAS (libblas.so.3, or what {@code dev.ludovic.netlib.blas.nativeLib} names)
   * through JNI.
   *
   * @throws IllegalStateException when no system BLAS loads, with the loader's reason, or this JVM
   *     already computes with the bundled OpenBLAS
   */
  public static NetlibKernel systemKernel() {
    synchronized (NetlibKernel.class) {
      return new NetlibKernel(bind(SYSTEM), "netlib-native/" + loadedBlasLibrary() + "/" + cpu());
    }
  }

  /** netlib's one native instance, opened on {@code library} (the property set before) or refused. */
  private static NativeBLAS bind(String library) {
    if (boundTo != null && !boundTo.equals(library)) {
      throw new IllegalStateException("this JVM already computes with " + boundTo
          + " (netlib opens one native BLAS per process)");
    }
    try {
      NativeBLAS blas = NativeBLAS.getInstance();
      boundTo = library;
      return blas;
    } catch (RuntimeException | LinkageError e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      throw new IllegalStateException(cause.getMessage() != null ? cause.getMessage() : cause.toString(), e);
    }
  }

  /** The pure-Java implementation: the Vector API where the module is present, else plain loops. */
  public static NetlibKernel javaKernel() {
    JavaBLAS blas = JavaBLAS.getInstance();
    return new NetlibKernel(blas, "netlib-java/" + blas.getClass().getSimpleName() + "/java-"
        + System.getProperty("java.specification.version") + "/" + cpu());
  }

  @Override
  public void mult(FMatrixRMaj a, FMatrixRMaj b, FMatrixRMaj c) {
    if (a.numCols != b.numRows) {
      throw new IllegalArgumentException("Inconsistent shapes: a=" + a.numRows + "x" + a.numCols + ", b="
          + b.numRows + "x" + b.numCols);
    }
    c.reshape(a.numRows, b.numCols);
    int n = a.numRows;
    int m = b.numCols;
    int k = a.numCols;
    if (EmptyProducts.done(n, m, k, c)) {
      return;
    }
    sgemm("N", "N", m, n, k, b.data, 0, m, a.data, 0, k, beta(c.data, n, m, k), c.data, 0, m);
  }

  @Override
  public void multTransA(FMatrixRMaj a, FMatrixRMaj b, FMatrixRMaj c) {
    if (a.numRows != b.numRows) {
      throw new IllegalArgumentException("Inconsistent shapes: a=" + a.numRows + "x" + a.numCols + ", b="
          + b.numRows + "x" + b.numCols);
    }
    c.reshape(a.numCols, b.numCols);
    int n = a.numCols;
    int m = b.numCols;
    int k = a.numRows;
    if (EmptyProducts.done(n, m, k, c)) {
      return;
    }
    sgemm("N", "T", m, n, k, b.data, 0, m, a.data, 0, n, beta(c.data, n, m, k), c.data, 0, m);
  }

  /**
   * The same BLAS call as {@link #multTransA} on the rows' offsets, with beta 1 to accumulate: no
   * copy. Whether this kernel computes rows independently, and adds a product once, is checked
   * bit for bit where it is used ({@code Network.blockMatchesShards}, {@code Network.pairsAccumulate}).
   */
  @Override
  public void multTransARows(FMatrixRMaj a, FMatrixRMaj b, int first, int rows, boolean accumulate,
      FMatrixRMaj c) {
    if (!RowBlocks.shape(a, b, first, rows, accumulate, c)) {
      return;
    }
    int n = a.numCols;
    int m = b.numCols;
    if (rows == 0) {
      // An empty product is zeros, and adding them is still an addition (-0 + 0 = +0).
      for (int i = 0; i < n * m; i++) {
        c.data[i] = accumulate ? c.data[i] + 0f : 0f;
      }
      return;
    }
    sgemm("N", "T", m, n, rows, b.data, first * m, m, a.data, first * n, n,
        accumulate ? 1f : beta(c.data, n, m, rows), c.data, 0, m);
  }

  /**
   * OpenBLAS adds the finished product of one K block to C, and 128 rows fit one block on every
   * x86-64 path; the pure-Java BLAS forms each dot product before it touches C.
   */
  @Override
  public boolean addsProductOnce(int rows) {
    return rows <= 128;
  }

  /**
   * OpenBLAS (bundled or system) and the pure-Java BLAS: each row of a product is its own loop,
   * in full panels of {@link #rowPanel} rows.
   */
  @Override
  public boolean rowsIndependent() {
    return true;
  }

  /**
   * Found by {@link RowPanels#probe} when the kernel is made: 12 on OpenBLAS's Haswell and Zen
   * paths, whose last, partial panel of rows takes another code path with another rounding.
   */
  @Override
  public int rowPanel() {
    return rowPanel;
  }

  @Override
  public void multTransB(FMatrixRMaj a, FMatrixRMaj b, FMatrixRMaj c) {
    if (a.numCols != b.numCols) {
      throw new IllegalArgumentException("Inconsistent shapes: a=" + a.numRows + "x" + a.numCols + ", b="
          + b.numRows + "x" + b.numCols);
    }
    c.reshape(a.numRows, b.numRows);
    int n = a.numRows;
    int m = b.numRows;
    int k = a.numCols;
    if (EmptyProducts.done(n, m, k, c)) {
      return;
    }
    sgemm("T", "N", m, n, k, b.data, 0, k, a.data, 0, k, beta(c.data, n, m, k), c.data, 0, m);
  }

  /**
   * {@code c = op(a)·op(b) + beta·c} with alpha 1, in BLAS's column-major terms ({@code a} is the
   * first operand, m×k after {@code transA}). The native BLAS is called directly when it can be
   * (see {@link NativeGemm}), after the checks netlib would make; otherwise, and for empty
   * products, through netlib.
   */
  void sgemm(String transA, String transB, int m, int n, int k, float[] a, int offA, int lda, float[] b,
      int offB, int ldb, float beta, float[] c, int offC, int ldc) {
    if (direct == null || m < 1 || n < 1 || k < 1) {
      // netlib checks the arguments and returns early for empty products.
      blas.sgemm(transA, transB, m, n, k, 1f, a, offA, lda, b, offB, ldb, beta, c, offC, ldc);
      return;
    }
    // Exactly "N" or "T": the native BLAS reads only the first letter, in either case.
    boolean aPlain = plain(transA);
    boolean bPlain = plain(transB);
    if (lda < (aPlain ? m : k) || ldb < (bPlain ? k : n) || ldc < m) {
      throw new IllegalArgumentException("sgemm: leading dimensions " + lda + ", " + ldb + ", " + ldc
          + " too small for " + m + "x" + n + "x" + k);
    }
    // Each operand from its offset to the last element of its last column (as netlib checks
    // them, and the offsets not negative): nothing native reads or writes outside an array.
    java.util.Objects.checkFromIndexSize((long) offA, (long) (aPlain ? k : m) * lda, a.length);
    java.util.Objects.checkFromIndexSize((long) offB, (long) (bPlain ? n : k) * ldb, b.length);
    java.util.Objects.checkFromIndexSize((long) offC, (long) n * ldc, c.length);
    NativeGemm.call(direct, transA, transB, m, n, k, a, offA, lda, b, offB, ldb, beta, c, offC, ldc);
  }

  /** Whether {@code trans} leaves its operand as it is ("N") rather than transposing it ("T"). */
  private static boolean plain(String trans) {
    return switch (trans) {
      case "N" -> true;
      case "T" -> false;
      default -> throw new IllegalArgumentException("sgemm: transposition '" + trans + "', not N or T");
    };
  }

  /**
   * netlib's native sgemm ({@code JNIBLAS.sgemmK}) without the public method's argument checks.
   * Those checks compare the transposition strings eleven times a call and make a method of
   * about 7 kB of bytecode once inlined, which the optimising compiler took 290-380 ms to compile
   * in the middle of every run's training (one-core runs and cluster workers alike, measured with
   * JFR), on a core the products need. The kernel checks what they check (the transpositions,
   * exactly "N" or "T"; leading dimensions; offsets and bounds) itself, with a switch on the
   * two letters and integer comparisons, and calls the same native function: the bytes are the
   * same. Where the method cannot be reached (another netlib version), products go through
   * netlib's public method as before.
   */
  private static final class NativeGemm {
    private static final Class<?> JNI = jni();
    private static final java.lang.invoke.MethodHandle SGEMM = find();

    private static Class<?> jni() {
      try {
        return Class.forName("dev.ludovic.netlib.blas.JNIBLAS", false, NativeBLAS.class.getClassLoader());
      } catch (ClassNotFoundException | LinkageError e) {
        return null;
      }
    }

    private static java.lang.invoke.MethodHandle find() {
      if (JNI == null) {
        return null;
      }
      try {
        java.lang.invoke.MethodHandle h = java.lang.invoke.MethodHandles.privateLookupIn(JNI,
            java.lang.invoke.MethodHandles.lookup()).findVirtual(JNI, "sgemmK",
            java.lang.invoke.MethodType.methodType(void.class, String.class, String.class, int.class, int.class,
                int.class, float.class, float[].class, int.class, int.class, float[].class, int.class, int.class,
                float.class, float[].class, int.class, int.class));
        return h.asType(h.type().changeParameterType(0, NativeBLAS.class));
      } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
        return null;
      }
    }

    /** {@code blas} when its native sgemm can be called directly, else null. */
    static NativeBLAS of(BLAS blas) {
      return SGEMM != null && blas instanceof NativeBLAS n && JNI.isInstance(n) ? n : null;
    }

    static void call(NativeBLAS blas, String transA, String transB, int m, int n, int k, float[] a, int offA,
        int lda, float[] b, int offB, int ldb, float beta, float[] c, int offC, int ldc) {
      try {
        SGEMM.invokeExact(blas, transA, transB, m, n, k, 1f, a, offA, lda, b, offB, ldb, beta, c, offC, ldc);
      } catch (RuntimeException | Error e) {
        throw e;
      } catch (Throwable e) {
        throw new IllegalStateException(e);
      }
    }
  }

  /** Whether products call the native sgemm directly, without netlib's argument checks. */
  boolean callsNativeDirectly() {
    return direct != null;
  }

  /**
   * The beta of a product that overwrites c (n×m, inner size k): 0, or, for a large product where
   * {@link #fillsZeros}, 1 after c is filled with zeros here. OpenBLAS computes beta 0 as a pass
   * that writes zeros over c before the product is added to it; that pass is several times slower
   * than {@link Arrays#fill} (the eight 784×256 weight-gradient products of a one-node step took
   * 1.14 ms with beta 0 and 0.89 ms on zero-filled outputs, one Zen 3 core). The product then
   * adds to the same zeros, so the bytes are the same, which {@link #fillMatchesBetaZero} checks
   * once per library and CPU path.
   */
  private float beta(float[] c, int n, int m, int k) {
    // A product with one row or column may become a matrix-vector product (OpenBLAS on arm64),
    // which scales c instead: it keeps beta 0.
    if (!fillsZeros || n == 1 || m == 1 || (long) n * m * k < FILL_MIN_WORK) {
      return 0f;
    }
    Arrays.fill(c, 0, n * m, 0f);
    return 1f;
  }

  /**
   * Whether the products this kernel makes (the three transpositions it calls) give the same bits
   * on a zero-filled c with beta 1 as with beta 0, on values with exact zeros (a ReLU's), negative
   * zeros, and whole zero columns (inputs that are zero in every row, as the edges of an image
   * are), whose sums are signed zeros: a beta-0 path that stores its sums without adding them to
   * zeros, starting from its first product, shows as -0 where an addition to +0 gives +0. It
   * cannot tell apart paths that agree on these values; a BLAS call is a fixed sequence of
   * operations for given shapes, and both shapes here are above every small-matrix kernel's
   * bound, where OpenBLAS's driver zeroes c and then adds as with beta 1.
   */
  static boolean fillMatchesBetaZero(BLAS blas) {
    SplittableRandom random = new SplittableRandom(0x2e70);
    int[][] shapes = {{784, 256, 16}, {256, 128, 64}};
    String[][] transpositions = {{"N", "N"}, {"N", "T"}, {"T", "N"}};
    for (int[] shape : shapes) {
      int n = shape[0];
      int m = shape[1];
      int k = shape[2];
      for (String[] t : transpositions) {
        // c (n×m row-major, m×n column-major) = op(b)·op(a), as mult, multTransA and multTransB call it.
        int ldb = t[0].equals("N") ? m : k;
        int lda = t[1].equals("N") ? k : n;
        float[] a = new float[k * n];
        float[] b = new float[k * m];
        for (int i = 0; i < a.length; i++) {
          a[i] = i % lda < 8 || random.nextInt(4) == 0 ? 0f : (float) random.nextDouble(-1, 1);
        }
        for (int i = 0; i < b.length; i++) {
          b[i] = random.nextInt(3) == 0 ? -0f : (float) random.nextDouble(-1, 1);
        }
        float[] zero = new float[n * m];
        float[] filled = new float[n * m];
        Arrays.fill(zero, Float.NaN);
        blas.sgemm(t[0], t[1], m, n, k, 1f, b, ldb, a, lda, 0f, zero, m);
        blas.sgemm(t[0], t[1], m, n, k, 1f, b, ldb, a, lda, 1f, filled, m);
        for (int i = 0; i < zero.length; i++) {
          if (Float.floatToRawIntBits(zero[i]) != Float.floatToRawIntBits(filled[i])) {
            return false;
          }
        }
      }
    }
    return true;
  }

  /** Whether large products zero-fill their output themselves (see {@link #fillMatchesBetaZero}). */
  boolean fillsZeros() {
    return fillsZeros;
  }

  @Override
  public String identity() {
    return identity;
  }

  /** The real file of the BLAS this process mapped, e.g. {@code libopenblasp-r0.3.21.so}. */
  private static String loadedBlasLibrary() {
    TreeSet<String> libs = new TreeSet<>();
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
        int slash = line.indexOf('/');
        if (slash < 0) {
          continue;
        }
        String path = line.substring(slash);
        String name = Path.of(path).getFileName().toString();
        if (name.contains("blas") && !name.contains("netlibblasjni") && !path.contains(".javacpp")) {
          libs.add(Path.of(path).toRealPath().getFileName().toString());
        }
      }
    } catch (IOException | RuntimeException e) {
      return "libblas.so.3";
    }
    return libs.isEmpty() ? "libblas.so.3" : String.join("+", libs);
  }

  /** The CPU: BLAS libraries choose their kernels (and so their rounding) by it. */
  static String cpu() {
    String model = "unknown";
    String simd = "";
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name") && model.equals("unknown")) {
          model = line.substring(line.indexOf(':') + 1).trim();
        }
        if (line.startsWith("flags") && simd.isEmpty()) {
          String flags = " " + line + " ";
          simd = flags.contains(" avx512f ") ? "avx512" : flags.contains(" avx2 ") ? "avx2" : "sse";
        }
      }
    } catch (IOException | RuntimeException e) {
      // Not Linux: the architecture alone.
    }
    String coretype = System.getenv("OPENBLAS_CORETYPE");
    return System.getProperty("os.arch") + "/" + simd + "/" + model.replace('/', '-').toLowerCase(Locale.ROOT)
        + (coretype != null ? "/coretype-" + coretype : "");
  }
}
