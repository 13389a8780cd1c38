package io.syncgrad.deploy;

import akka.actor.typed.ActorSystem;
import io.syncgrad.common.error.ClusterUnavailableException;
import io.syncgrad.common.math.Kernels;
import io.syncgrad.common.metrics.Telemetry;
import io.syncgrad.deploy.cluster.NodeConfig;
import io.syncgrad.deploy.cluster.Nodes;
import io.syncgrad.deploy.tls.NodeTls;
import io.syncgrad.worker.DataRoots;
import io.syncgrad.worker.Worker;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code syncgrad worker}: a worker node; joins the cluster, serves one run, then leaves. */
@Command(name = "worker", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Start a worker node: it joins the cluster through the seed nodes, registers with the coordinator, "
        + "computes its shards, and exits when the run is over. If the coordinator is lost, it rejoins.")
final class WorkerCommand implements Callable<Integer> {

  @Option(names = "--seed-nodes", required = true, split = ",", paramLabel = "HOST:PORT",
      description = "Nodes to join through, e.g. the coordinator's 127.0.0.1:25520.")
  private List<String> seedNodes;

  @Option(names = "--port", defaultValue = "0", description = "Port of this node (default: any free port).")
  private int port;

  @Mixin
  private NodeAddress address;

  @Option(names = "--id", description = "The worker's name in the cluster (default worker-<pid>).")
  private String id;

  @Option(names = "--kernel", defaultValue = "auto", description = "Matrix products: " + Kernels.CHOICES + " (see syncgrad train --help).")
  private String kernel;

  @Option(names = "--join-timeout", defaultValue = "10m", paramLabel = "DURATION",
      description = "How long to wait for a coordinator to start a run on this worker, at the start and after "
          + "losing one, before exiting with status 3 (default 10m).")
  private String joinTimeout;

  @Option(names = "--data-root", paramLabel = "DIR",
      description = "A folder this worker reads training data from, symbolic links resolved (repeatable; default: "
          + "the working directory and /usr/share/datasets). A run naming data outside them is refused; the default "
          + "data is read in any case.")
  private List<java.nio.file.Path> dataRoots = new java.util.ArrayList<>();

  @Mixin
  private MetricsOptions metrics;

  @Option(names = "--log-file", paramLabel = "FILE",
      description = "Write this node's full log here (appending) and show only warnings on the console "
          + "(default: the full log on the console).")
  private java.nio.file.Path logFile;

  @Option(names = "--verbose", description = "With --log-file: the full log on the console too.")
  private boolean verbose;

  @Override
  public Integer call() {
    NodeTls tls = address.check();
    metrics.check();
    if (logFile != null) {
      NodeLogs.console(verbose);
      NodeLogs.toFile(logFile);
    } else {
      NodeLogs.console(true);
    }
    String name = id != null ? id : "worker-" + ProcessHandle.current().pid();
    address.warnIfInsecure("worker " + name);
    Duration wait = Durations.parse("--join-timeout", joinTimeout);
    var matrixKernel = Kernels.select(kernel);
    com.typesafe.config.Config config = DataRoots.configure(NodeConfig.of(address.host, port, seedNodes, "worker",
        tls), dataRoots);
    // A root that is not there is the user's mistake: said now, not when the first run comes.
    DataRoots.fromConfig(config);
    Telemetry telemetry = new Telemetry(Telemetry.Role.WORKER);
    try (MetricsServer server = MetricsServer.start(telemetry, metrics.host(address.host), metrics.port)) {
      while (true) {
        AtomicReference<Worker.Outcome> outcome = new AtomicReference<>(Worker.Outcome.RUN_OVER);
        java.util.concurrent.CompletableFuture<Void> stopped = new java.util.concurrent.CompletableFuture<>();
        ActorSystem<Void> node = Nodes.worker(name, matrixKernel, config, o -> {
          outcome.set(o);
          stopped.complete(null);
        }, telemetry, wait);
        // The run lasts as long as it lasts; the node's shutdown after it is bounded.
        java.util.concurrent.CompletableFuture.anyOf(node.getWhenTerminated().toCompletableFuture(), stopped).join();
        Nodes.awaitTermination(node);
        if (outcome.get() == Worker.Outcome.NO_COORDINATOR) {
          throw new ClusterUnavailableException("worker " + name + ": no coordinator started a run on it within "
              + "--join-timeout " + joinTimeout + " (seed nodes " + String.join(",", seedNodes) + ")");
        }
        if (outcome.get() == Worker.Outcome.FAILED) {
          // A bug: its stack trace is in the node's log; the process must not look like a finished run.
          throw new IllegalStateException("worker " + name + " stopped on an internal error (see its log)");
        }
        if (outcome.get() != Worker.Outcome.COORDINATOR_LOST) {
          return 0;
        }
        // The coordinator's node is gone: start afresh and join whichever coordinator comes back.
      }
    }
  }
}
