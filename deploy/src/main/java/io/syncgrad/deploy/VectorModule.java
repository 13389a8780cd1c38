package io.syncgrad.deploy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.syncgrad.common.config.TrainSettings;
import io.syncgrad.common.math.Kernels;
import java.io.File;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The JDK's Vector API module, which only the pure-Java kernel uses. The JVM prints a warning on
 * every start that adds an incubator module, so the launcher does not add it: when a command is
 * about to compute with the pure-Java kernel (asked for, or {@code auto} where no native BLAS
 * loads), this JVM starts the same command again in a JVM that has the module.
 */
final class VectorModule {

  static final String NAME = "jdk.incubator.vector";

  /** The commands that compute products on this node. */
  private static final Set<String> COMPUTING = Set.of("train", "coordinator", "worker", "evaluate", "predict",
      "verify", "export");

  private VectorModule() {}

  /** Whether this JVM has the module. */
  static boolean present() {
    return ModuleLayer.boot().findModule(NAME).isPresent();
  }

  /** Whether nodes computing with the kernel named {@code kernel} need the module. */
  static boolean neededFor(String kernel) {
    return switch (kernel) {
      case "java" -> true;
      case "auto" -> !nativeLoads();
      default -> false;
    };
  }

  /** Whether this command line will compute with the pure-Java kernel in a JVM without the module. */
  static boolean relaunchNeeded(String[] args) {
    if (present() || args.length == 0 || !COMPUTING.contains(args[0]) || List.of(args).contains("--help")) {
      return false;
    }
    return neededFor(kernel(args));
  }

  /** Runs the same command in a JVM with the module; returns its exit status. */
  static int relaunch(String[] args) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(ProcessHandle.current().info().command().orElse("java"));
    command.addAll(List.of("--add-modules", NAME));
    command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), SyncgradCli.class.getName()));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).inheritIO().start();
    Runtime.getRuntime().addShutdownHook(new Thread(p::destroy, "relaunched-stop"));
    return p.waitFor();
  }

  /** The kernel a command line names: its --kernel, else its --config file's, else auto. */
  private static String kernel(String[] args) {
    String config = null;
    for (int i = 1; i < args.length; i++) {
      if (args[i].equals("--kernel") && i + 1 < args.length) {
        return args[i + 1];
      }
      if (args[i].startsWith("--kernel=")) {
        return args[i].substring("--kernel=".length());
      }
      if (args[i].equals("--config") && i + 1 < args.length) {
        config = args[i + 1];
      } else if (args[i].startsWith("--config=")) {
        config = args[i].substring("--config=".length());
      }
    }
    if (config != null) {
      try {
        Config c = ConfigFactory.parseFile(new File(config));
        c = c.hasPath(TrainSettings.PATH) ? c.getConfig(TrainSettings.PATH) : c;
        if (c.hasPath("kernel")) {
          return c.getString("kernel");
        }
      } catch (RuntimeException e) {
        // The command reports a bad file itself.
      }
    }
    return "auto";
  }

  private static boolean nativeLoads() {
    return Kernels.nativeLoads();
  }
}
