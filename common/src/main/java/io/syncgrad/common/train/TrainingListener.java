package io.syncgrad.common.train;

/** What a user interface hears of a run: progress bars and log lines live behind this. */
public interface TrainingListener {

  /** The run starts at {@code firstStep} and ends before {@code totalSteps}. */
  default void started(long firstStep, long totalSteps, long stepsPerEpoch, String description) {}

  /** Step {@code step} (0-based) was applied. */
  default void stepped(long step, long epoch, double loss, double learningRate, double samplesPerSecond) {}

  /** The test set was evaluated after {@code epoch} full epochs (fractional at the run's end). */
  default void evaluated(double epoch, Evaluator.Result result) {}

  /** The run ended. */
  default void finished(RunSummary summary) {}
}
