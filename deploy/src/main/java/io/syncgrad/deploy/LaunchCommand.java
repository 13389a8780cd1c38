package io.syncgrad.deploy;

import io.syncgrad.common.error.UserException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Unmatched;

/**
 * {@code syncgrad launch}: the coordinator and N workers as separate JVM processes on this
 * machine, their output forwarded line by line with the node's name, all of them stopped when
 * the launcher ends or is interrupted.
 */
@Command(name = "launch", mixinStandardHelpOptions = true,
    description = "Run a cluster of separate JVM processes on this machine: a coordinator and N workers. "
        + "Every other option is passed to the coordinator (the options of train).")
final class LaunchCommand implements Callable<Integer> {

  private static final long WORKER_EXIT_SECONDS = 30;

  @Option(names = "--workers", defaultValue = "2", paramLabel = "N", description = "Worker processes (default 2).")
  private int workers;

  @Option(names = "--kernel", defaultValue = "auto", description = "Matrix products of every node: auto, native, java or ejml.")
  private String kernel;

  @Unmatched
  private List<String> trainArgs = new ArrayList<>();

  private final List<Process> processes = new ArrayList<>();

  @Override
  public Integer call() throws Exception {
    if (workers < 1) {
      throw new UserException("--workers must be >= 1, got " + workers);
    }
    Thread cleanup = new Thread(this::destroyAll, "launch-cleanup");
    Runtime.getRuntime().addShutdownHook(cleanup);
    try {
      int port = freePort();
      List<String> coordinatorArgs = new ArrayList<>(List.of("coordinator", "--workers", String.valueOf(workers),
          "--port", String.valueOf(port), "--kernel", kernel, "--plain"));
      coordinatorArgs.addAll(trainArgs);
      Process coordinator = start("coordinator", coordinatorArgs);
      List<Process> workerProcesses = new ArrayList<>();
      for (int i = 0; i < workers; i++) {
        String id = String.format("worker-%02d", i);
        workerProcesses.add(start(id, List.of("worker", "--seed-nodes", "127.0.0.1:" + port, "--id", id,
            "--kernel", kernel)));
      }
      int rc = coordinator.waitFor();
      for (Process w : workerProcesses) {
        if (!w.waitFor(WORKER_EXIT_SECONDS, TimeUnit.SECONDS)) {
          w.destroyForcibly();
        }
      }
      return rc;
    } finally {
      destroyAll();
      try {
        Runtime.getRuntime().removeShutdownHook(cleanup);
      } catch (IllegalStateException shuttingDown) {
        // The hook is running already.
      }
    }
  }

  /** Starts one node of the cluster: this jar's CLI in a new JVM. */
  private Process start(String name, List<String> args) throws IOException, URISyntaxException {
    List<String> command = new ArrayList<>();
    command.add(ProcessHandle.current().info().command().orElse("java"));
    command.add("--add-modules");
    command.add("jdk.incubator.vector");
    String extra = System.getenv("SYNCGRAD_JAVA_OPTS");
    if (extra != null && !extra.isBlank()) {
      command.addAll(List.of(extra.trim().split("\\s+")));
    }
    command.add("-cp");
    command.add(Path.of(SyncgradCli.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString());
    command.add(SyncgradCli.class.getName());
    command.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    pb.environment().putIfAbsent("OMP_NUM_THREADS", "1");
    pb.environment().putIfAbsent("OPENBLAS_NUM_THREADS", "1");
    Process p = pb.start();
    synchronized (processes) {
      processes.add(p);
    }
    Thread forward = new Thread(() -> forward(name, p), "forward-" + name);
    forward.setDaemon(true);
    forward.start();
    return p;
  }

  private static void forward(String name, Process p) {
    PrintStream out = System.out;
    try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null) {
        synchronized (out) {
          out.println("[" + name + "] " + line);
        }
      }
    } catch (IOException e) {
      // The process ended.
    }
  }

  private void destroyAll() {
    synchronized (processes) {
      for (Process p : processes) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
      }
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
