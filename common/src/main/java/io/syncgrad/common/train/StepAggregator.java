package io.syncgrad.common.train;

import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.optim.GradientTransforms;
import io.syncgrad.common.optim.Optimizer;
import java.util.function.IntPredicate;

/**
 * The coordinator's half of a step: add the shard sums <em>in shard order</em>, divide by the
 * sample count, add the penalties, clip, and let the optimiser update the weights.
 *
 * <p>Adding in shard order, never in arrival order, is what makes the bytes independent of how
 * many workers there are and of which of them computed what. The sum may arrive in pieces: single
 * shards, added here as soon as their predecessors are, or prefixes (the sum of shards 0..k)
 * added up on the workers with the same operations ({@link ShardFold}).
 */
public final class StepAggregator {

  private final TrainingConfig config;
  private final Parameters mean;
  private final ShardFold fold;
  private final GradientTransforms.SquareSum lanes = new GradientTransforms.SquareSum();
  private double lossSum;
  private long samples;
  private double gradientNorm;

  /** @param shape parameters of the model's shape; their values are not used */
  public StepAggregator(TrainingConfig config, Parameters shape) {
    this.config = config;
    this.mean = shape.zerosLike();
    this.fold = new ShardFold(shape);
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

  /** A new step: nothing of it is added up yet. */
  public void begin() {
    fold.reset();
  }

  /** How many shards of the step are added up: shards 0..folded()-1. */
  public int folded() {
    return fold.next();
  }

  /**
   * Adds up, in shard order, the shards from the last one added to the first one missing, so that
   * a coordinator adds while the results arrive instead of after the last one. The last shard is
   * left for {@link #finish}, which adds it while dividing.
   *
   * @param present whether shard {@code s} has its result
   */
  public void offer(ShardResults results, IntPredicate present) {
    int last = config.shards() - 1;
    while (fold.next() < last && present.test(fold.next())) {
      int s = fold.next();
      fold.add(s, results.gradient(s), results.lossSum(s), results.samples(s));
    }
  }

  /**
   * A prefix: the sum of shards 0..{@code through} as a worker added them up. Ignored when the
   * step is already added up that far (the bytes would be the same).
   *
   * @param prefix taken over: nobody else may hold it
   * @return whether it moved the sum on
   */
  public boolean offerPrefix(int through, Parameters prefix, double loss, long n) {
    if (through < fold.next()) {
      return false;
    }
    fold.resume(through, prefix, loss, n);
    return true;
  }

  /** The sum of shards 0..folded()-1, to hand to the worker that continues it. Read only. */
  public Parameters prefix() {
    return fold.sum();
  }

  /** The loss of shards 0..folded()-1. */
  public double prefixLoss() {
    return fold.lossSum();
  }

  /** The samples of shards 0..folded()-1. */
  public long prefixSamples() {
    return fold.samples();
  }

  /** Whether the step can be finished: every shard added, or all but the last and the last present. */
  public boolean complete(IntPredicate present) {
    int shards = config.shards();
    return fold.next() == shards || (fold.next() == shards - 1 && present.test(shards - 1));
  }

  /**
   * Applies one step whose shard results are all in {@code results}.
   *
   * @param step      the step being applied, for the learning rate and messages
   * @param results   one result for every shard 0..S-1. Not modified.
   * @param params    the weights. Modified.
   * @param optimizer Modified.
   * @throws DivergedException when the loss or the gradient is not finite; the weights and the
   *     optimiser are not modified then
   */
  public void apply(long step, ShardResults results, Parameters params, Optimizer optimizer) {
    begin();
    finish(step, results, s -> true, params, optimizer);
  }

  /**
   * Finishes a step: adds what is not added yet, divides, and updates the weights. Needs
   * {@link #complete} to hold.
   *
   * @param present whether shard {@code s} has its own result in {@code results} (a prefix may
   *                have covered the others)
   * @throws DivergedException as {@link #apply}
   */
  public void finish(long step, ShardResults results, IntPredicate present, Parameters params, Optimizer optimizer) {
    int shards = config.shards();
    offer(results, present);
    if (!complete(present)) {
      throw new IllegalStateException("step " + step + " finished with shards " + fold.next() + ".." + (shards - 1)
          + " missing");
    }
    // ((g0 + g1) + g2) + ... + g(S-1), then / n: the last addition is fused with the division.
    Parameters a = fold.peek();
    Parameters b = null;
    lossSum = fold.lossSum();
    samples = fold.samples();
    if (fold.next() < shards) {
      int s = shards - 1;
      b = results.gradient(s);
      lossSum += results.lossSum(s);
      samples += results.samples(s);
      if (a == null) {
        a = b;
        b = null;
      }
    }
    if (!Double.isFinite(lossSum)) {
      throw DivergedException.locate(step, results, present, shards);
    }
    GradientTransforms.sumAndDivide(a, b, samples, mean);
    GradientTransforms.addPenalties(params, config.l1(), config.l2(), mean);
    gradientNorm = GradientTransforms.clipByGlobalNorm(mean,
        Math.sqrt(GradientTransforms.sumOfSquares(mean, lanes)), config.clipNorm());
    // A non-finite element makes the norm non-finite: one check, before anything is applied.
    if (!Double.isFinite(gradientNorm)) {
      throw DivergedException.locate(step, results, present, shards);
    }
    optimizer.update(params, mean, config.schedule().at(step));
    fold.reset();
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
