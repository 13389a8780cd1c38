package io.syncgrad.common.metrics;

import io.prometheus.metrics.core.datapoints.GaugeDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Info;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * A run's progress as Prometheus series, updated by whoever records the steps (the one-node
 * trainer, or a cluster's coordinator): the step and epoch, the loss, the learning rate, the
 * speed, where a step's time goes, the test figures and how old the newest checkpoint is. Names
 * follow Prometheus conventions: base units, {@code _total} for counters.
 */
public final class TrainingMetrics {

  private final Info run;
  private final Gauge step;
  private final Gauge epoch;
  private final Gauge progress;
  private final Gauge loss;
  private final Gauge learningRate;
  private final Gauge gradientNorm;
  private final Gauge samplesPerSecond;
  private final Counter samples;
  private final Gauge stepSeconds;
  private final GaugeDataPoint computePhase;
  private final GaugeDataPoint exchangePhase;
  private final Gauge testAccuracy;
  private final Gauge testLoss;
  private final Counter checkpoints;
  private volatile long lastCheckpointNanos = System.nanoTime();

  TrainingMetrics(PrometheusRegistry registry) {
    run = Info.builder().name("syncgrad_run_info").help("The run: its id, kernel and model")
        .labelNames("run_id", "kernel", "model").register(registry);
    step = Gauge.builder().name("syncgrad_step").help("Steps applied and recorded").register(registry);
    epoch = Gauge.builder().name("syncgrad_epoch").help("Epochs done, fractional").register(registry);
    progress = Gauge.builder().name("syncgrad_progress_ratio").help("Share of the run's steps done").register(registry);
    loss = Gauge.builder().name("syncgrad_loss").help("Mean training loss of the last recorded step").register(registry);
    learningRate = Gauge.builder().name("syncgrad_learning_rate").help("Learning rate of the last recorded step")
        .register(registry);
    gradientNorm = Gauge.builder().name("syncgrad_gradient_norm").help("Global L2 norm of the last step's gradient")
        .register(registry);
    samplesPerSecond = Gauge.builder().name("syncgrad_samples_per_second")
        .help("Training samples per second in the last recorded step").register(registry);
    samples = Counter.builder().name("syncgrad_samples_total").help("Training samples processed by this run since it (re)started")
        .register(registry);
    stepSeconds = Gauge.builder().name("syncgrad_step_seconds").help("Wall-clock time of the last recorded step")
        .register(registry);
    Gauge phaseSeconds = Gauge.builder().name("syncgrad_step_phase_seconds")
        .help("The last recorded step's time by phase: compute (the shards' forward and backward passes), "
            + "exchange_update (adding the shards' sums up, across the workers in a cluster, the update, waiting)")
        .labelNames("phase").register(registry);
    computePhase = phaseSeconds.labelValues("compute");
    exchangePhase = phaseSeconds.labelValues("exchange_update");
    testAccuracy = Gauge.builder().name("syncgrad_test_accuracy").help("Test accuracy at the last evaluation")
        .register(registry);
    testLoss = Gauge.builder().name("syncgrad_test_loss").help("Test loss at the last evaluation").register(registry);
    checkpoints = Counter.builder().name("syncgrad_checkpoints_written_total").help("Checkpoints written by this process")
        .register(registry);
    GaugeWithCallback.builder().name("syncgrad_checkpoint_age_seconds")
        .help("Seconds since the newest checkpoint was written (since the start when none was yet)")
        .callback(cb -> cb.call((System.nanoTime() - lastCheckpointNanos) / 1e9)).register(registry);
    // Not a value until there is one: a 0 would read as a real accuracy or loss.
    for (Gauge g : new Gauge[] {loss, learningRate, gradientNorm, samplesPerSecond, stepSeconds, testAccuracy,
        testLoss}) {
      g.set(Double.NaN);
    }
    computePhase.set(Double.NaN);
    exchangePhase.set(Double.NaN);
  }

  /** The run starts (or resumes) at {@code firstStep}. */
  public void started(String runId, String kernel, String model, long firstStep, long totalSteps,
      long stepsPerEpoch) {
    run.setLabelValues(runId, kernel, model);
    recordStep(firstStep, totalSteps, stepsPerEpoch);
    lastCheckpointNanos = System.nanoTime();
  }

  /**
   * A step was recorded.
   *
   * @param stepNanos    its wall-clock time
   * @param computeNanos the part spent computing shards (0 when unknown)
   */
  public void stepped(long stepNumber, long totalSteps, long stepsPerEpoch, double meanLoss, double lr,
      double norm, int batchSize, long stepNanos, long computeNanos) {
    recordStep(stepNumber, totalSteps, stepsPerEpoch);
    loss.set(meanLoss);
    learningRate.set(lr);
    gradientNorm.set(norm);
    samples.inc(batchSize);
    if (stepNanos > 0) {
      samplesPerSecond.set(batchSize / (stepNanos / 1e9));
      stepSeconds.set(stepNanos / 1e9);
      computePhase.set(computeNanos / 1e9);
      exchangePhase.set(Math.max(0, stepNanos - computeNanos) / 1e9);
    }
  }

  private void recordStep(long stepNumber, long totalSteps, long stepsPerEpoch) {
    step.set(stepNumber);
    epoch.set((double) stepNumber / Math.max(1, stepsPerEpoch));
    progress.set(totalSteps > 0 ? (double) stepNumber / totalSteps : 1);
  }

  /** The test set was evaluated. */
  public void evaluated(double accuracy, double meanLoss) {
    testAccuracy.set(accuracy);
    testLoss.set(meanLoss);
  }

  /** A checkpoint was written. */
  public void checkpointWritten() {
    checkpoints.inc();
    lastCheckpointNanos = System.nanoTime();
  }
}
