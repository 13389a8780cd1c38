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
   * @throws DivergedException when the loss or the gradient is not finite; the weights and the
   *     optimiser are not modified then
   */
  public void apply(long step, ShardResults results, Parameters params, Optimizer optimizer) {
    int shards = config.shards();
    lossSum = 0;
    samples = 0;
    for (int s = 0; s < shards; s++) {
      lossSum += results.lossSum(s);
      samples += results.samples(s);
    }
    if (!Double.isFinite(lossSum)) {
      throw DivergedException.locate(step, results, shards);
    }
    // ((g0 + g1) + g2) + ... + g(S-1), then / n, in shard order; what foldAvailable has not
    // added yet is added now.
    Parameters a = results.gradient(0);
    Parameters b = shards > 1 ? results.gradient(shards - 1) : null;
    if (shards > 2) {
      foldAvailable(results, s -> true);
      a = mean;
    }
    folded = 0;
    GradientTransforms.sumAndDivide(a, b, samples, mean);
    GradientTransforms.addPenalties(params, config.l1(), config.l2(), mean);
    gradientNorm = GradientTransforms.clipByGlobalNorm(mean,
        Math.sqrt(GradientTransforms.sumOfSquares(mean, lanes)), config.clipNorm());
    // A non-finite element makes the norm non-finite: one check, before anything is applied.
    if (!Double.isFinite(gradientNorm)) {
      throw DivergedException.locate(step, results, shards);
    }
    optimizer.update(params, mean, config.schedule().at(step));
  }

  private final GradientTransforms.SquareSum lanes = new GradientTransforms.SquareSum();
  /** Shards 0..folded-1 are added up in {@link #mean} for the step under way. */
  private int folded;

  /** A new step: nothing of it is added up yet. */
  public void begin() {
    folded = 0;
  }

  /**
   * Adds up, in shard order, the shards from the last one added to the first one missing, so that
   * a coordinator does the additions while the results arrive instead of after the last one. These
   * are the additions {@link #apply} would make, in the same order: the bytes do not change. The
   * last shard is left for {@code apply}, which adds it while dividing.
   *
   * @param present whether shard {@code s} has its result
   */
  public void foldAvailable(ShardResults results, java.util.function.IntPredicate present) {
    int shards = config.shards();
    if (shards <= 2) {
      return;
    }
    if (folded == 0) {
      if (!present.test(0) || !present.test(1)) {
        return;
      }
      GradientTransforms.sum(results.gradient(0), results.gradient(1), mean);
      folded = 2;
    }
    while (folded < shards - 1 && present.test(folded)) {
      mean.addInPlace(results.gradient(folded));
      folded++;
    }
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
