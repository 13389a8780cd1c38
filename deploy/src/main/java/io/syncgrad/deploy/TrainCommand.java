package io.syncgrad.deploy;

import io.syncgrad.common.error.UserException;
import io.syncgrad.common.math.Kernels;
import io.syncgrad.common.metrics.Telemetry;
import io.syncgrad.common.train.LocalTraining;
import io.syncgrad.common.train.RunSummary;
import io.syncgrad.deploy.cluster.LocalCluster;
import io.syncgrad.deploy.report.RunReportPage;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine;

/** {@code syncgrad train}: on this node, or as a cluster simulated in this JVM. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Train a model on this node. Defaults train a Fashion-MNIST classifier.")
final class TrainCommand implements Callable<Integer> {

  @CommandLine.Spec
  private CommandLine.Model.CommandSpec spec;

  @Mixin
  private TrainOptions options;

  @Option(names = "--workers", paramLabel = "N", defaultValue = "0",
      description = "Simulate a cluster in this JVM: a coordinator and N worker nodes on 127.0.0.1, every message over Artery (default 0: the one-node trainer). The weights are the same for any N.")
  private int workers;

  @Option(names = "--allow-mixed-kernels", description = "Accept workers whose kernel differs (the result is then not reproducible).")
  private boolean allowMixedKernels;

  @Mixin
  private FaultOptions faults;

  @Option(names = "--ship-data", description = "With --workers: the coordinator sends the workers their training data "
      + "instead of each reading it.")
  private boolean shipData;

  @Mixin
  private ConsoleOptions console;

  @Mixin
  private MetricsOptions metrics;

  @Override
  public Integer call() throws Exception {
    TrainOptions.Resolved r = options.resolve(spec.commandLine().getParseResult());
    if (workers < 0) {
      throw new UserException("--workers must be >= 0, got " + workers);
    }
    if (workers == 0 && !faults.specs.isEmpty()) {
      throw new UserException("--fault needs a cluster: add --workers N (or use syncgrad launch)");
    }
    if (workers == 0 && faults.auditFraction() > 0) {
      throw new UserException("--audit-fraction needs a cluster: add --workers N (or use syncgrad launch)");
    }
    metrics.check();
    if (workers > 0) {
      faults.checkMinWorkers(workers);
    }
    console.logTo(Path.of(r.settings().out()), "train");
    Telemetry telemetry = new Telemetry(workers == 0 ? Telemetry.Role.TRAINER : Telemetry.Role.COORDINATOR);
    ProgressReporter reporter = new ProgressReporter(console.plain);
    RunSummary summary;
    try (MetricsServer server = MetricsServer.start(telemetry, metrics.host("127.0.0.1"), metrics.port)) {
      summary = workers == 0
          ? LocalTraining.run(r.settings(), r.explicit(), Kernels.select(r.settings().kernel()),
              ConsoleOptions.openingLogs(reporter), telemetry)
          : LocalCluster.run(r.settings(), r.explicit(), Kernels.select(r.settings().kernel()),
              ConsoleOptions.openingLogs(reporter),
              new LocalCluster.Options(workers, allowMixedKernels, faults.stepTimeout(), faults.plan(workers), shipData,
                  faults.minWorkers, faults.waitTimeout(), faults.joinTimeout(), faults.auditFraction()), telemetry);
    } finally {
      reporter.close();
      writeReport(Path.of(r.settings().out()));
    }
    report(summary);
    return 0;
  }

  /**
   * Writes the run's {@code report.html}, after a finished run and after a failed one (whose page
   * says it did not finish). A report that cannot be written is a warning: the run's own outputs
   * are complete without it.
   */
  static void writeReport(Path runDir) {
    if (!java.nio.file.Files.isRegularFile(runDir.resolve("metrics.jsonl"))) {
      return;
    }
    try {
      RunReportPage.write(runDir);
    } catch (Exception e) {
      org.slf4j.LoggerFactory.getLogger(TrainCommand.class).warn("Could not write {}: {}",
          runDir.resolve("report.html"), e.getMessage());
    }
  }

  /** The closing lines every training command prints. */
  static void report(RunSummary summary) {
    System.out.printf("test accuracy %.4f, test loss %.4f after %d steps (%.2f epochs), %.0f samples/s, %d worker(s)%n",
        summary.testAccuracy(), summary.testLoss(), summary.steps(), summary.epochs(), summary.samplesPerSecond(),
        summary.workers());
    if (summary.validation() != null && !summary.validation().isEmpty()) {
      var v = summary.validation();
      System.out.printf("validation accuracy %.4f, validation loss %.4f; best validation loss %.4f after step %s "
          + "(best.pb)%s%n", (Double) v.get("accuracy"), (Double) v.get("loss"), (Double) v.get("best_loss"),
          v.get("best_step"), Boolean.TRUE.equals(v.get("stopped_early")) ? ", stopped early" : "");
    }
    System.out.println("weights sha256 " + summary.weightsSha256() + " (kernel " + summary.kernel() + ")");
    System.out.println("outputs in " + summary.out() + " (model.pb, report.html, metrics.jsonl, summary.json, logs/)");
  }
}
