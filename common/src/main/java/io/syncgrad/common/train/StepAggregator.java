package io.syncgrad.common.train;

import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.optim.GradientTransforms;
import io.syncgrad.common.optim.Optimizer;

/**
 * The coordinator's half of a step: add the shard sums <em>in shard order</em>, divide by the
 * sample count, add the penalties, clip, and let the optimiser update the weights.
 *
 * <p>Adding in shard order, never in arrival order, is what makes the bytes independent of how
 * many workers there are and of which of them computed what.
 */
public final class StepAggregator {

  private final TrainingConfig config;
  private final Parameters mean;
  private double lossSum;
  private long samples;
  private double gradientNorm;

  /** @param shape parameters of the model's shape; their values are not used */
  public StepAggregator(TrainingConfig config, Parameters shape) {
    this.config = config;
    this.mean = shape.zerosLike();
  }

  /** Receives the shard results of one step, in shard order. */
  public interface ShardResults {
    /** The gradient sum of shard {@code s}. */
    Parameters gradient(int s);

    /** The loss sum of shard {@code s}. */
    double lossSum(int s);

    /** The samples of shard {@code s}. */
    int samples(int s);
  }

  /**
   * Applies one step.
   *
   * @param step      the step being applied, for the learning rate and messages
   * @param results   one result for every shard 0..S-1. Not modified.
   * @param params    the weights. Modified.
   * @param optimizer Modified.
   * @throws DivergedException when the loss or the gradient is not finite; nothing is modified then
   */
  public void apply(long step, ShardResults results, Parameters params, Optimizer optimizer) {
    int shards = config.shards();
    mean.zeroInPlace();
    lossSum = 0;
    samples = 0;
    for (int s = 0; s < shards; s++) {
      mean.addInPlace(results.gradient(s));
      lossSum += results.lossSum(s);
      samples += results.samples(s);
    }
    if (!Double.isFinite(lossSum) || !mean.isFinite()) {
      throw DivergedException.locate(step, results, shards);
    }
    mean.divideInPlace(samples);
    GradientTransforms.addPenalties(params, config.l1(), config.l2(), mean);
    gradientNorm = GradientTransforms.clipByGlobalNorm(mean, config.clipNorm());
    optimizer.update(params, mean, config.schedule().at(step));
  }

  /** The mean data loss of the last step applied. */
  public double meanLoss() {
    return lossSum / samples;
  }

  /** The global gradient norm of the last step, before clipping. */
  public double gradientNorm() {
    return gradientNorm;
  }
}
