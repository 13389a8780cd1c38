package io.syncgrad.common.math;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The kernels that need a JVM each: the system BLAS (netlib opens one native BLAS per process, and
 * the unit tests' JVM computes with the bundled one), and {@code auto} where no system BLAS can be
 * found, which must still compute natively with the bundled OpenBLAS.
 */
class SystemKernelIT {

  /** A libblas.so.3 that does not exist: hides the system BLAS from netlib's loader. */
  private static final String NO_SYSTEM_BLAS = "-Ddev.ludovic.netlib.blas.nativeLib=/nonexistent/libblas.so.3";

  @Test
  void withoutASystemBlasAutoIsTheBundledOpenBlasAndSystemIsRefused() throws Exception {
    Map<String, String> auto = probe("auto", NO_SYSTEM_BLAS);
    assertTrue(auto.get("identity").startsWith("openblas-0.3.31/bytedeco-1.5.13/"), auto.toString());
    Map<String, String> system = probe("system", NO_SYSTEM_BLAS);
    assertTrue(system.get("refused").startsWith("--kernel system: no system BLAS could be loaded"), system.toString());
    assertEquals(probe("native").get("sha256"), auto.get("sha256"), "auto and native are one kernel");
  }

  @Test
  void theSystemBlasComputesInAJvmOfItsOwn() throws Exception {
    assumeTrue(systemBlasInstalled(), "no system libblas.so.3 installed");
    Map<String, String> system = probe("system");
    assertTrue(system.get("identity").startsWith("netlib-native/"), system.toString());
    assertEquals(system.get("sha256"), probe("system").get("sha256"), "the same inputs give the same bits");
  }

  private static boolean systemBlasInstalled() {
    for (String dir : List.of("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib")) {
      if (Files.exists(Path.of(dir, "libblas.so.3"))) {
        return true;
      }
    }
    return false;
  }

  private static Map<String, String> probe(String kernel, String... jvmOptions) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(ProcessHandle.current().info().command().orElse("java"));
    command.addAll(List.of(jvmOptions));
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), KernelProbeMain.class.getName(), kernel));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "probe " + kernel + " did not end");
    assertEquals(0, p.exitValue(), out);
    Map<String, String> result = new HashMap<>();
    for (String line : out.split("\n")) {
      int eq = line.indexOf('=');
      if (eq > 0 && line.matches("[a-z0-9]+=.*")) {
        result.put(line.substring(0, eq), line.substring(eq + 1));
      }
    }
    assertTrue(result.containsKey("identity") || result.containsKey("refused"), out);
    return result;
  }
}
