package io.syncgrad.deploy;

import akka.actor.typed.ActorSystem;
import io.syncgrad.common.error.UserException;
import io.syncgrad.common.math.Kernels;
import io.syncgrad.common.metrics.Telemetry;
import io.syncgrad.common.protocol.DataSpec;
import io.syncgrad.common.train.RunSummary;
import io.syncgrad.common.train.TrainingRun;
import io.syncgrad.coordinator.CoordinatorSettings;
import io.syncgrad.deploy.cluster.NodeConfig;
import io.syncgrad.deploy.cluster.Nodes;
import io.syncgrad.deploy.tls.NodeTls;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code syncgrad coordinator}: the first node of a cluster; runs one training with its workers. */
@Command(name = "coordinator", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Start a cluster's coordinator node and run one training with the workers that join it. "
        + "Takes every option of train.")
final class CoordinatorCommand implements Callable<Integer> {

  @CommandLine.Spec
  private CommandLine.Model.CommandSpec spec;

  @Option(names = "--workers", required = true, paramLabel = "N", description = "Workers to wait for.")
  private int workers;

  @Option(names = "--port", defaultValue = "25520", description = "Port of this node (default 25520); workers name it in --seed-nodes.")
  private int port;

  @Mixin
  private NodeAddress address;

  @Option(names = "--allow-mixed-kernels", description = "Accept workers whose kernel differs (the result is then not reproducible).")
  private boolean allowMixedKernels;

  @Mixin
  private FaultOptions faults;

  @Option(names = "--ship-data", description = "Send the workers their training data instead of each reading it "
      + "from the path this node names (for workers without shared storage).")
  private boolean shipData;

  @Mixin
  private ConsoleOptions console;

  @Mixin
  private MetricsOptions metrics;

  @Mixin
  private TrainOptions options;

  @Override
  public Integer call() throws Exception {
    if (workers < 1) {
      throw new UserException("--workers must be >= 1, got " + workers);
    }
    NodeTls tls = address.check();
    metrics.check();
    faults.checkMinWorkers(workers);
    TrainOptions.Resolved r = options.resolve(spec.commandLine().getParseResult());
    console.logTo(Path.of(r.settings().out()), "coordinator");
    address.warnIfInsecure("coordinator");
    Telemetry telemetry = new Telemetry(Telemetry.Role.COORDINATOR);
    ProgressReporter reporter = new ProgressReporter(console.plain);
    try (MetricsServer server = MetricsServer.start(telemetry, metrics.host(address.host), metrics.port);
        TrainingRun run = TrainingRun.prepare(r.settings(), r.explicit(), Kernels.select(r.settings().kernel()),
            reporter, telemetry)) {
      // The inputs are valid and the run directory exists: the log file may be written.
      NodeLogs.open();
      CompletableFuture<RunSummary> result = new CompletableFuture<>();
      DataSpec data = DataSpec.of(r.settings());
      String self = address.host + ":" + port;
      ActorSystem<Void> node = Nodes.coordinator(run, new CoordinatorSettings(workers, data, allowMixedKernels,
          faults.stepTimeout(), faults.plan(workers).messages(), faults.plan(workers).processFaultSteps(), shipData,
          faults.plan(workers).partitions(), faults.minWorkers, faults.waitTimeout(), faults.joinTimeout(),
          faults.plan(workers).corruptions(), faults.auditFraction()),
          result, faults.plan(workers).coordinatorNodeConfig(
              NodeConfig.of(address.host, port, List.of(self), "coordinator", tls)));
      try {
        RunSummary summary = result.get();
        reporter.close();
        TrainCommand.report(summary);
        return 0;
      } catch (ExecutionException e) {
        throw e.getCause() instanceof Exception ex ? ex : e;
      } finally {
        node.terminate();
        Nodes.awaitTermination(node);
      }
    } finally {
      reporter.close();
      TrainCommand.writeReport(Path.of(r.settings().out()));
    }
  }
}
