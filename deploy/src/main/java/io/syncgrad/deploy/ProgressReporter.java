package io.syncgrad.deploy;

import io.syncgrad.common.train.Evaluator;
import io.syncgrad.common.train.TrainingListener;
import java.time.Duration;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Shows training progress: a progress bar with loss, throughput and ETA on a terminal, and a
 * plain line every few seconds (and after every evaluation) when the output is a file or pipe.
 */
final class ProgressReporter implements TrainingListener, AutoCloseable {

  private static final long PLAIN_INTERVAL_NANOS = 10_000_000_000L;

  private final boolean bar;
  private ProgressBar progress;
  private long firstStep;
  private long total;
  private long startNanos;
  private long lastLine;
  private double smoothedRate;
  private Evaluator.Result validation;

  ProgressReporter(boolean plain) {
    this.bar = !plain && System.console() != null;
  }

  @Override
  public void started(long firstStep, long totalSteps, long stepsPerEpoch, String description) {
    this.firstStep = firstStep;
    this.total = totalSteps;
    this.startNanos = System.nanoTime();
    this.lastLine = startNanos;
    System.err.printf("syncgrad: training on %s: steps %d..%d, %d steps per epoch%n", description, firstStep,
        totalSteps, stepsPerEpoch);
    if (bar) {
      progress = new ProgressBarBuilder().setTaskName("train").setInitialMax(totalSteps)
          .setStyle(ProgressBarStyle.COLORFUL_UNICODE_BLOCK).showSpeed().build();
      progress.stepTo(firstStep);
    }
  }

  @Override
  public void stepped(long step, long epoch, double loss, double learningRate, double samplesPerSecond) {
    smoothedRate = smoothedRate == 0 ? samplesPerSecond : 0.95 * smoothedRate + 0.05 * samplesPerSecond;
    if (bar) {
      progress.stepTo(step);
      progress.setExtraMessage(String.format("epoch %d loss %.4f %.0f samples/s", epoch, loss, smoothedRate));
      return;
    }
    long now = System.nanoTime();
    if (now - lastLine >= PLAIN_INTERVAL_NANOS || step == total) {
      lastLine = now;
      double perStep = (now - startNanos) / 1e9 / Math.max(1, step - firstStep);
      Duration eta = Duration.ofSeconds(Math.round(perStep * (total - step)));
      System.err.printf("step %d/%d epoch %d loss %.4f lr %.3g samples/s %.0f eta %s%n", step, total, epoch, loss,
          learningRate, smoothedRate, format(eta));
    }
  }

  @Override
  public void validated(double epoch, Evaluator.Result result) {
    validation = result;
  }

  @Override
  public void stoppedEarly(long step, long bestStep, double bestLoss, int patience) {
    String line = String.format("early stopping after step %d: no lower validation loss in %d evaluation%s; "
        + "best %.4f after step %d (best.pb)", step, patience, patience == 1 ? "" : "s", bestLoss, bestStep);
    if (bar) {
      progress.setExtraMessage(line);
    } else {
      System.err.println(line);
    }
  }

  @Override
  public void evaluated(double epoch, Evaluator.Result result) {
    String line = String.format("epoch %.2f: %stest loss %.4f, test accuracy %.4f", epoch,
        validation == null ? "" : String.format("validation loss %.4f, validation accuracy %.4f; ", validation.loss(),
            validation.accuracy()), result.loss(), result.accuracy());
    validation = null;
    if (bar) {
      progress.setExtraMessage(line);
    } else {
      System.err.println(line);
    }
  }

  private static String format(Duration d) {
    return d.toHours() > 0 ? String.format("%dh%02dm", d.toHours(), d.toMinutesPart())
        : String.format("%dm%02ds", d.toMinutesPart(), d.toSecondsPart());
  }

  @Override
  public void close() {
    if (progress != null) {
      progress.close();
    }
  }
}
