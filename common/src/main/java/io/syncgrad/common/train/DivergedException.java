package io.syncgrad.common.train;

import io.syncgrad.common.error.UserException;

/**
 * The loss or the aggregated gradient stopped being finite: training cannot go on, and the
 * message names the step and the first shard at fault. Nothing of the failed step is applied,
 * so the last checkpoint stays good.
 */
public final class DivergedException extends UserException {

  private static final long serialVersionUID = 1L;

  private DivergedException(String message) {
    super(message);
  }

  static DivergedException locate(long step, StepAggregator.ShardResults results,
      java.util.function.IntPredicate present, int shards) {
    boolean summedElsewhere = false;
    for (int s = 0; s < shards; s++) {
      if (!present.test(s)) {
        summedElsewhere = true;
        continue;
      }
      if (!Double.isFinite(results.lossSum(s))) {
        return new DivergedException("training diverged at step " + step + ": shard " + s + " has loss "
            + results.lossSum(s) + "; lower --lr or set --clip-norm; the last checkpoint is kept");
      }
      if (!results.gradient(s).isFinite()) {
        return new DivergedException("training diverged at step " + step + ": shard " + s
            + " has a non-finite gradient; lower --lr or set --clip-norm; the last checkpoint is kept");
      }
    }
    if (summedElsewhere) {
      return new DivergedException("training diverged at step " + step + ": the loss or gradient of a shard the "
          + "workers added up is not finite; lower --lr or set --clip-norm; the last checkpoint is kept");
    }
    return new DivergedException("training diverged at step " + step
        + ": the sum of the shard gradients overflowed; lower --lr or set --clip-norm; the last checkpoint is kept");
  }
}
