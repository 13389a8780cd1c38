package io.syncgrad.common.train;

import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.optim.Optimizer;
import io.syncgrad.common.reduce.ReductionTree;
import io.syncgrad.common.reduce.TreeSum;
import io.syncgrad.common.run.TrainingConfig;

/**
 * A whole step on one node, from the shard results on: the shard sums added in the order of the
 * {@link ReductionTree}, the loss sums in shard order, then {@link StepUpdate}. The one-node
 * trainer runs it; a cluster performs the same additions spread over its workers.
 */
public final class StepAggregator {

  private final TrainingConfig config;
  private final TreeSum tree;
  private final Parameters total;
  /**
   * The tree's right half, where it is summed here: made at the first step that needs it, so that
   * where the shards hold the whole tree's sum (a block computed at once) no second copy of the
   * parameters is kept.
   */
  private Parameters half;
  private final StepUpdate update;
  private double lossSum;
  private long samples;

  /** @param shape parameters of the model's shape; their values are not used */
  public StepAggregator(TrainingConfig config, Parameters shape) {
    this.config = config;
    this.tree = new TreeSum(shape, config.shards());
    this.total = shape.zerosLike();
    this.update = new StepUpdate(config, shape);
  }

  /** Receives the shard results of one step. */
  public interface ShardResults extends TreeSum.ShardGradients {
    /** The loss sum of shard {@code s}. */
    double lossSum(int s);

    /** The samples of shard {@code s}. */
    int samples(int s);
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
    apply(step, results, params, optimizer, StepParts.SERIAL);
  }

  /**
   * Like {@link #apply(long, ShardResults, Parameters, Optimizer)}, the update's element-wise
   * passes cut into {@code parts}. The tree's last addition, of its two halves, is made in the
   * same pass as the mean.
   */
  public void apply(long step, ShardResults results, Parameters params, Optimizer optimizer, StepParts parts) {
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
    Parameters left;
    Parameters right = null;
    if (shards == 1 || results.nodeSum(0, shards) != null) {
      left = tree.sum(0, shards, results, total);
    } else {
      int mid = ReductionTree.split(0, shards);
      left = tree.sum(0, mid, results, total);
      if (half == null) {
        half = total.zerosLike();
      }
      right = tree.sum(mid, shards, results, half);
    }
    if (!update.apply(step, left, right, samples, params, optimizer, parts)) {
      throw DivergedException.locate(step, results, shards);
    }
  }

  /** The mean data loss of the last step applied. */
  public double meanLoss() {
    return lossSum / samples;
  }

  /** The global gradient norm of the last step, before clipping. */
  public double gradientNorm() {
    return update.gradientNorm();
  }
}
