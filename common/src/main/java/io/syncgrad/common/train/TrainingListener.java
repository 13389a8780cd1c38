package io.syncgrad.common.train;

/** What a user interface hears of a run: progress bars and log lines live behind this. */
public interface TrainingListener {

  /** The run starts at {@code firstStep} and ends before {@code totalSteps}. */
  default void started(long firstStep, long totalSteps, long stepsPerEpoch, String description) {}

  /** Step {@code step} (0-based) was applied. */
  default void stepped(long step, long epoch, double loss, double learningRate, double samplesPerSecond) {}

  /** The validation set was evaluated after {@code epoch} epochs (just before the test set). */
  default void validated(double epoch, Evaluator.Result result) {}

  /**
   * The run stops before its last step: {@code patience} evaluations in a row had no lower
   * validation loss than the one after {@code bestStep}.
   */
  default void stoppedEarly(long step, long bestStep, double bestLoss, int patience) {}

  /** The test set was evaluated after {@code epoch} full epochs (fractional at the run's end). */
  default void evaluated(double epoch, Evaluator.Result result) {}

  /** The run ended. */
  default void finished(RunSummary summary) {}
}
