package io.syncgrad.common.train;

import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.optim.GradientTransforms;

/**
 * The running sum of a step's shard results in shard order, {@code ((g0 + g1) + g2) + ...}, with
 * the loss and sample sums beside it: the one order of additions that makes the bytes
 * independent of the workers.
 *
 * <p>A prefix (the sum of shards 0..k) can be handed on and continued elsewhere with the same
 * additions: a worker holding shards k+1..m continues the sum it is given, and the coordinator
 * continues the sum a worker sends. Whoever adds, the float32 operations and their order are the
 * same, so the bits are.
 */
public final class ShardFold {

  private final Parameters own;
  /** The sum of shards 0..next-1; null when next is 0. */
  private Parameters sum;
  /** Whether {@link #sum} may be modified: false while it is still a shard's own gradient. */
  private boolean owned;
  private int next;
  private double lossSum;
  private long samples;

  /** @param shape parameters of the model's shape; their values are not used */
  public ShardFold(Parameters shape) {
    this.own = shape.zerosLike();
  }

  /** Starts over: nothing added. */
  public void reset() {
    sum = null;
    owned = false;
    next = 0;
    lossSum = 0;
    samples = 0;
  }

  /** How many shards are added: shards 0..next()-1. */
  public int next() {
    return next;
  }

  /**
   * Adds shard {@code s}, which must be {@link #next()}.
   *
   * @param gradient read, never modified, and not retained beyond the next call
   */
  public void add(int s, Parameters gradient, double loss, long n) {
    if (s != next) {
      throw new IllegalStateException("shard " + s + " added out of order: next is " + next);
    }
    if (sum == null) {
      sum = gradient;
      owned = false;
    } else if (!owned) {
      GradientTransforms.sum(sum, gradient, own);
      sum = own;
      owned = true;
    } else {
      sum.addInPlace(gradient);
    }
    lossSum += loss;
    samples += n;
    next++;
  }

  /**
   * Continues from a prefix computed elsewhere: the sum of shards 0..{@code through}.
   *
   * @param prefix taken over: modified by later additions, so nobody else may hold it
   */
  public void resume(int through, Parameters prefix, double loss, long n) {
    sum = prefix;
    owned = true;
    next = through + 1;
    lossSum = loss;
    samples = n;
  }

  /** The sum of shards 0..next()-1; null before the first. Read-only for the caller. */
  public Parameters sum() {
    if (sum != null && !owned) {
      // A shard's own gradient may be reused by its computer: hand out a stable copy.
      own.copyFrom(sum);
      sum = own;
      owned = true;
    }
    return sum;
  }

  /** The loss summed over shards 0..next()-1, in shard order. */
  public double lossSum() {
    return lossSum;
  }

  /** The samples of shards 0..next()-1. */
  public long samples() {
    return samples;
  }

  /**
   * Like {@link #sum()} without the copy: the running sum as it is, possibly a shard's own
   * gradient, for a caller that reads it at once.
   */
  Parameters peek() {
    return sum;
  }
}
