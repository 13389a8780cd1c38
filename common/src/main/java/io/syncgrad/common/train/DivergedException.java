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

  static DivergedException locate(long step, StepAggregator.ShardResults results, int shards) {
    for (int s = 0; s < shards; s++) {
      if (!Double.isFinite(results.lossSum(s))) {
        return new DivergedException("training diverged at step " + step + ": shard " + s + " has loss "
            + results.lossSum(s) + "; lower --lr or set --clip-norm; the last checkpoint is kept");
      }
      // A shard summed into its node as it was computed has no gradient of its own to blame.
      if (results.gradient(s) != null && !results.gradient(s).isFinite()) {
        return new DivergedException("training diverged at step " + step + ": shard " + s
            + " has a non-finite gradient; lower --lr or set --clip-norm; the last checkpoint is kept");
      }
    }
    return overflowed(step);
  }

  /** The shards were finite but their sum, or the update, is not. */
  public static DivergedException overflowed(long step) {
    return new DivergedException("training diverged at step " + step
        + ": the sum of the shard gradients overflowed; lower --lr or set --clip-norm; the last checkpoint is kept");
  }

  /** What a worker found: {@code what} names the step and where. */
  public static DivergedException reported(String what) {
    return new DivergedException(what);
  }
}
