package io.syncgrad.deploy;

import io.syncgrad.common.train.Evaluator;
import io.syncgrad.common.train.RunSummary;
import io.syncgrad.common.train.TrainingListener;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** What a command shows on the console: a progress bar or plain lines, and the full log or not. */
final class ConsoleOptions {

  @Option(names = "--plain", description = "Periodic log lines instead of a progress bar.")
  boolean plain;

  @Option(names = "--verbose", description = "Show the full log of every node on the console too "
      + "(it is always in RUN/logs/).")
  boolean verbose;

  /**
   * Sends the node's full log to {@code RUN/logs/NAME.log} once the run starts (see
   * {@link NodeLogs#open()}), and to the console with --verbose.
   */
  void logTo(Path runDir, String name) {
    NodeLogs.console(verbose);
    NodeLogs.toRunDirectory(runDir, name);
  }

  /** {@code listener}, which also opens the node's log file when the run starts. */
  static TrainingListener openingLogs(TrainingListener listener) {
    return new TrainingListener() {
      @Override
      public void started(long firstStep, long totalSteps, long stepsPerEpoch, String description) {
        NodeLogs.open();
        listener.started(firstStep, totalSteps, stepsPerEpoch, description);
      }

      @Override
      public void stepped(long step, long epoch, double loss, double learningRate, double samplesPerSecond) {
        listener.stepped(step, epoch, loss, learningRate, samplesPerSecond);
      }

      @Override
      public void validated(double epoch, Evaluator.Result result) {
        listener.validated(epoch, result);
      }

      @Override
      public void stoppedEarly(long step, long bestStep, double bestLoss, int patience) {
        listener.stoppedEarly(step, bestStep, bestLoss, patience);
      }

      @Override
      public void evaluated(double epoch, Evaluator.Result result) {
        listener.evaluated(epoch, result);
      }

      @Override
      public void finished(RunSummary summary) {
        listener.finished(summary);
      }
    };
  }
}
