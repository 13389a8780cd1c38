package io.syncgrad.deploy;

import io.syncgrad.common.checkpoint.CheckpointStore;
import io.syncgrad.common.error.ClusterUnavailableException;
import io.syncgrad.common.error.UserException;
import io.syncgrad.common.protocol.DataSpec;
import io.syncgrad.deploy.cluster.FaultPlan;
import io.syncgrad.deploy.tls.NodeTls;
import io.syncgrad.deploy.tls.PrivateFiles;
import io.syncgrad.deploy.tls.RunCredentials;
import io.syncgrad.worker.DataRoots;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code syncgrad launch}: the coordinator and N workers as separate JVM processes on this
 * machine, all of them stopped when the launcher ends or is interrupted. The console shows what
 * the coordinator prints (progress and results) and the nodes' warnings, each line with the
 * node's name; each node's full log is in {@code RUN/logs/}.
 */
@Command(name = "launch", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Run a cluster of separate JVM processes on this machine: a coordinator and N workers. "
        + "Takes every option of train; the nodes' full logs go to RUN/logs/.")
final class LaunchCommand implements Callable<Integer> {

  private static final long WORKER_EXIT_SECONDS = 30;
  /** How often the launcher looks whether its worker processes can still carry the run. */
  private static final long WORKER_POLL_MILLIS = 250;
  /** How long a coordinator whose workers are all gone gets to shut down in order. */
  private static final long COORDINATOR_STOP_SECONDS = 15;

  /** Options that are the launcher's own: every other one goes to the coordinator as given. */
  private static final Set<String> OWN = Set.of("--workers", "--metrics-port", "--plain", "--out", "--help",
      "--version");

  @CommandLine.Spec
  private CommandLine.Model.CommandSpec spec;

  @Option(names = "--workers", defaultValue = "2", paramLabel = "N", description = "Worker processes (default 2).")
  private int workers;

  @Option(names = "--allow-mixed-kernels", description = "Accept workers whose kernel differs (the result is then not reproducible).")
  private boolean allowMixedKernels;

  @Mixin
  private FaultOptions faults;

  @Option(names = "--ship-data", description = "The coordinator sends the workers their training data instead of "
      + "each reading it.")
  private boolean shipData;

  @Mixin
  private ConsoleOptions console;

  @Option(names = "--metrics-port", paramLabel = "PORT",
      description = "Serve metrics and health: the coordinator on PORT, worker i on PORT+1+i (default: none).")
  private Integer metricsPort;

  @Option(names = "--metrics-host", paramLabel = "HOST",
      description = "Address the metrics endpoints bind to (default 127.0.0.1).")
  private String metricsHost;

  @Mixin
  private TrainOptions options;

  private static final String COORDINATOR = "coordinator";

  private RunCredentials credentials;
  private final List<Process> processes = new ArrayList<>();
  private final List<Process> workerProcesses = new ArrayList<>();
  private volatile Process coordinator;
  private volatile boolean coordinatorRestarting;
  private boolean vectorModule;
  /** Whether the run's kernel is a BLAS (see {@link #COORDINATOR_JIT}). */
  private boolean blasKernel;

  @Override
  public Integer call() throws Exception {
    if (workers < 1) {
      throw new UserException("--workers must be >= 1, got " + workers);
    }
    if (metricsPort != null && (metricsPort < 1 || metricsPort + workers > 65535)) {
      throw new UserException("--metrics-port must leave room for the workers' ports in 1.." + (65535 - workers)
          + ", got " + metricsPort);
    }
    // Every option is checked here, before any process starts.
    faults.checkMinWorkers(workers);
    TrainOptions.Resolved resolved = options.resolve(spec.commandLine().getParseResult());
    FaultPlan plan = faults.plan(workers);
    Path out = Path.of(resolved.settings().out());
    String kernel = resolved.settings().kernel();
    vectorModule = VectorModule.present() || VectorModule.neededFor(kernel);
    // The coordinator's evaluations multiply with the run's kernel: a BLAS does that whatever the
    // JIT's tier, the Java kernels need the optimising compiler.
    blasKernel = kernel.equals("native") || kernel.equals("system")
        || (kernel.equals("auto") && !VectorModule.neededFor(kernel));
    Path logs = out.resolve(NodeLogs.DIR);
    boolean fresh = !Files.exists(out);
    Files.createDirectories(logs);
    // The run's own authority and a keystore per node, in a private temporary folder: only the
    // nodes this launcher starts can join, and the folder is gone when it ends.
    List<String> nodes = new ArrayList<>(List.of(COORDINATOR));
    for (int i = 0; i < workers; i++) {
      nodes.add(workerName(i));
    }
    credentials = RunCredentials.create(nodes);
    Thread cleanup = new Thread(this::destroyAll, "launch-cleanup");
    Runtime.getRuntime().addShutdownHook(cleanup);
    try {
      int port = freePort();
      List<String> coordinatorArgs = new ArrayList<>(List.of("coordinator", "--workers", String.valueOf(workers),
          "--port", String.valueOf(port), "--plain", "--out", out.toString()));
      coordinatorArgs.addAll(tlsArgs(COORDINATOR));
      if (metricsPort != null) {
        coordinatorArgs.addAll(List.of("--metrics-port", String.valueOf(metricsPort)));
      }
      coordinatorArgs.addAll(forwarded(spec.commandLine().getParseResult()));
      coordinator = start(COORDINATOR, coordinatorArgs);
      // The workers read the data the user named, where it is, and nothing else.
      List<String> dataRoots = new ArrayList<>();
      for (Path root : DataRoots.covering(DataSpec.of(resolved.settings()))) {
        dataRoots.addAll(List.of("--data-root", root.toString()));
      }
      for (int i = 0; i < workers; i++) {
        String id = workerName(i);
        List<String> workerArgs = new ArrayList<>(List.of("worker", "--seed-nodes", "127.0.0.1:" + port, "--id", id,
            "--kernel", kernel, "--log-file", logs.resolve(id + ".log").toString()));
        workerArgs.addAll(tlsArgs(id));
        workerArgs.addAll(dataRoots);
        if (console.verbose) {
          workerArgs.add("--verbose");
        }
        if (metricsPort != null) {
          workerArgs.addAll(List.of("--metrics-port", String.valueOf(metricsPort + 1 + i)));
        }
        if (metricsHost != null) {
          workerArgs.addAll(List.of("--metrics-host", metricsHost));
        }
        workerProcesses.add(start(id, workerArgs));
      }
      Thread injector = null;
      if (plan.processFaults().stream().anyMatch(f -> !f.kind().byCoordinator())) {
        injector = new Thread(() -> inject(plan, out, coordinatorArgs), "fault-injector");
        injector.setDaemon(true);
        injector.start();
      }
      int rc;
      Process current;
      do {
        current = coordinator;
        String gone = null;
        while (!current.waitFor(WORKER_POLL_MILLIS, TimeUnit.MILLISECONDS)) {
          gone = coordinatorRestarting ? null : WorkersGone.verdict(workerStates());
          if (gone != null) {
            break;
          }
        }
        if (gone != null) {
          stopCoordinator(current);
          String resume = Files.isDirectory(out.resolve(CheckpointStore.CHECKPOINT_DIR))
              ? "; --resume " + out + " continues from its last checkpoint" : "";
          throw new ClusterUnavailableException("every worker process ended before the run did (" + gone
              + ") and launch starts no others, so the run cannot go on; each node's log is in " + logs + resume);
        }
        rc = current.exitValue();
        // A killed coordinator is being replaced (the flag is set before the kill): wait for its successor.
        while (coordinatorRestarting) {
          Thread.sleep(50);
        }
      } while (coordinator != current);
      // After a finished run the workers leave by themselves; after a failed one nobody will tell them.
      long deadline = System.nanoTime() + (rc == 0 ? TimeUnit.SECONDS.toNanos(WORKER_EXIT_SECONDS) : 0);
      for (Process w : workerProcesses) {
        long left = deadline - System.nanoTime();
        if (left <= 0 || !w.waitFor(left, TimeUnit.NANOSECONDS)) {
          w.destroyForcibly();
        }
      }
      if (rc == SyncgradCli.USER_ERROR && fresh) {
        // The coordinator refused the run's input: leave nothing behind, as train does.
        destroyAll();
        PrivateFiles.deleteTree(out);
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

  /** Each worker process's name and exit status, for {@link WorkersGone}. */
  private List<WorkersGone.Worker> workerStates() {
    List<WorkersGone.Worker> states = new ArrayList<>();
    for (int i = 0; i < workerProcesses.size(); i++) {
      Process p = workerProcesses.get(i);
      states.add(new WorkersGone.Worker(workerName(i),
          p.isAlive() ? java.util.OptionalInt.empty() : java.util.OptionalInt.of(p.exitValue())));
    }
    return states;
  }

  /**
   * Stops a coordinator whose run cannot go on as its node would be stopped by hand: a SIGTERM,
   * so that it shuts down in order, then, after {@link #COORDINATOR_STOP_SECONDS}, a SIGKILL.
   */
  private static void stopCoordinator(Process coordinator) throws InterruptedException {
    coordinator.destroy();
    if (!coordinator.waitFor(COORDINATOR_STOP_SECONDS, TimeUnit.SECONDS)) {
      coordinator.destroyForcibly().waitFor();
    }
  }

  private static String workerName(int i) {
    return String.format("worker-%02d", i);
  }

  /** The node's stores; their passwords go through its environment (see {@link #start}). */
  private List<String> tlsArgs(String node) {
    NodeTls tls = credentials.of(node);
    return List.of("--tls-keystore", tls.keyStore(), "--tls-truststore", tls.trustStore());
  }

  /** The options the user gave that the coordinator takes, as given. */
  static List<String> forwarded(CommandLine.ParseResult parsed) {
    List<String> args = new ArrayList<>();
    for (CommandLine.Model.OptionSpec o : parsed.matchedOptions()) {
      if (OWN.contains(o.longestName())) {
        continue;
      }
      if (o.arity().max() == 0) {
        args.add(o.longestName());
        continue;
      }
      for (String v : o.originalStringValues()) {
        args.add(o.longestName());
        args.add(v);
      }
    }
    return args;
  }

  /**
   * Carries out the node faults of the plan: follows the run's {@code metrics.jsonl} and, after
   * the scripted step, kills (SIGKILL) or pauses (SIGSTOP, then SIGCONT) a worker process, or
   * kills the coordinator and starts it again with {@code --resume} on the same output directory.
   */
  private void inject(FaultPlan plan, Path out, List<String> coordinatorArgs) {
    // Partitions and corrupted results are the coordinator's to inject; the launcher handles the processes.
    List<FaultPlan.ProcessFault> pending = new ArrayList<>(plan.processFaults().stream()
        .filter(f -> !f.kind().byCoordinator()).toList());
    Path metrics = out.resolve("metrics.jsonl");
    long offset = 0;
    long step = 0;
    try {
      while (!pending.isEmpty()) {
        Thread.sleep(20);
        if (!java.nio.file.Files.isRegularFile(metrics)) {
          continue;
        }
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(metrics.toFile(), "r")) {
          if (f.length() < offset) {
            offset = 0;
          }
          f.seek(offset);
          String line;
          while ((line = f.readLine()) != null) {
            java.util.regex.Matcher m = STEP_LINE.matcher(line);
            if (m.find()) {
              step = Long.parseLong(m.group(1));
            }
          }
          offset = f.getFilePointer();
        }
        for (java.util.Iterator<FaultPlan.ProcessFault> it = pending.iterator(); it.hasNext(); ) {
          FaultPlan.ProcessFault f = it.next();
          if (step >= f.step()) {
            it.remove();
            strike(f, out, coordinatorArgs);
          }
        }
      }
    } catch (IOException | InterruptedException e) {
      System.err.println("syncgrad: fault injection stopped: " + e);
    }
  }

  private static final java.util.regex.Pattern STEP_LINE =
      java.util.regex.Pattern.compile("^\\{\"type\":\"step\",\"step\":(\\d+)");

  private void strike(FaultPlan.ProcessFault f, Path out, List<String> coordinatorArgs) throws IOException,
      InterruptedException {
    switch (f.kind()) {
      case KILL_WORKER -> {
        System.out.println("[launch] fault injected: SIGKILL worker-" + String.format("%02d", f.worker())
            + " after step " + f.step());
        workerProcesses.get(f.worker()).destroyForcibly();
      }
      case PAUSE_WORKER -> {
        long pid = workerProcesses.get(f.worker()).pid();
        System.out.println("[launch] fault injected: SIGSTOP worker-" + String.format("%02d", f.worker())
            + " after step " + f.step() + " for " + f.pause().toMillis() + " ms");
        signal("STOP", pid);
        Thread cont = new Thread(() -> {
          try {
            Thread.sleep(f.pause().toMillis());
            signal("CONT", pid);
            System.out.println("[launch] SIGCONT worker-" + String.format("%02d", f.worker()));
          } catch (IOException | InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }, "sigcont");
        cont.setDaemon(true);
        cont.start();
      }
      case KILL_COORDINATOR -> {
        System.out.println("[launch] fault injected: SIGKILL coordinator after step " + f.step()
            + "; restarting it with --resume " + out);
        coordinatorRestarting = true;
        coordinator.destroyForcibly().waitFor();
        List<String> args = withoutResume(coordinatorArgs);
        args.addAll(List.of("--resume", out.toString()));
        try {
          coordinator = start(COORDINATOR, args);
        } catch (java.net.URISyntaxException e) {
          throw new IOException(e);
        } finally {
          coordinatorRestarting = false;
        }
      }
      default -> throw new IllegalStateException("not the launcher's fault: " + f.kind());
    }
  }

  /** The arguments less any {@code --resume}: a restarted coordinator is given its own. */
  static List<String> withoutResume(List<String> args) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      if (a.equals("--resume")) {
        i++;
      } else if (!a.startsWith("--resume=")) {
        out.add(a);
      }
    }
    return out;
  }

  private static void signal(String signal, long pid) throws IOException, InterruptedException {
    new ProcessBuilder("kill", "-" + signal, String.valueOf(pid)).inheritIO().start().waitFor();
  }

  /**
   * The collector of every node unless SYNCGRAD_JAVA_OPTS names one: a step allocates a few
   * megabytes of frames, which the serial collector's young collections take in well under a
   * millisecond with no threads of their own; G1's concurrent threads take a core from the
   * compute whenever the nodes have fewer cores than busy threads (measured: 2 worker processes
   * on 2 cores, 19,000 samples/s with G1, 27,500 with the serial collector; the one-node trainer
   * the same with either).
   */
  static final String SERIAL_GC = "-XX:+UseSerialGC";

  /**
   * The coordinator's compiler when the run multiplies with a BLAS and SYNCGRAD_JAVA_OPTS does not
   * set the tiers: the quick one only. On this machine the coordinator shares the cores with the
   * workers, and it is off the steps' path: what its optimising compiler would make faster (Akka,
   * TLS, the metrics' JSON, the element-wise part of its evaluations, whose products the BLAS
   * does) matters less than the cores that compiling takes from the workers while they train.
   * With a Java kernel (java, ejml) the evaluations' products need the optimising compiler, and
   * the coordinator keeps it. Measured on 2 cores (deploy/bench/RESULTS.md): the coordinator of
   * launch --workers 1 compiled for 1.8 s of a 5.5 s training; with this option and the
   * launcher's own JVM likewise, three interleaved rounds, --workers 1 went from 22,000-26,400
   * to 24,900-29,200 samples/s and --workers 2 from 14,500-16,800 to 16,500-19,300, every run
   * 2-7 s shorter, the same bytes.
   */
  static final String COORDINATOR_JIT = "-XX:TieredStopAtLevel=1";

  /** Starts one node of the cluster: this jar's CLI in a new JVM. */
  private Process start(String name, List<String> args) throws IOException, URISyntaxException {
    List<String> command = new ArrayList<>();
    command.add(ProcessHandle.current().info().command().orElse("java"));
    if (vectorModule) {
      command.add("--add-modules");
      command.add(VectorModule.NAME);
    }
    String extra = System.getenv("SYNCGRAD_JAVA_OPTS");
    if (extra == null || !extra.matches(".*-XX:\\+Use\\w*GC.*")) {
      command.add(SERIAL_GC);
    }
    if (name.equals(COORDINATOR) && blasKernel && (extra == null || !extra.contains("Tiered"))) {
      command.add(COORDINATOR_JIT);
    }
    Path jar = Path.of(SyncgradCli.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    command.addAll(ClassArchive.options(jar, extra, ManagementFactory.getRuntimeMXBean().getInputArguments()));
    if (extra != null && !extra.isBlank()) {
      command.addAll(List.of(extra.trim().split("\\s+")));
    }
    command.add("-cp");
    command.add(jar.toString());
    command.add(SyncgradCli.class.getName());
    command.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    // Never on the command line, where every user of the machine can read it.
    NodeTls tls = credentials.of(name);
    pb.environment().put(NodeAddress.KEYSTORE_PASSWORD, tls.keyStorePassword());
    pb.environment().put(NodeAddress.TRUSTSTORE_PASSWORD, tls.trustStorePassword());
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
      for (Process p : processes) {
        // The stores are deleted once no node can still be reading them.
        p.onExit().join();
      }
    }
    credentials.close();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
