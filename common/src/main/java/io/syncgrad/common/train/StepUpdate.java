package io.syncgrad.common.train;

import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.optim.GradientTransforms;
import io.syncgrad.common.optim.Optimizer;
import io.syncgrad.common.run.TrainingConfig;
import java.util.function.IntConsumer;

/**
 * The end of every step, wherever it runs: the gradient sum of all shards becomes the mean,
 * gains the penalties, is clipped to the global norm, and the optimiser updates the weights.
 *
 * <p>Every worker of a cluster runs it on the same reduced sum with the same weights and
 * optimiser state, so every worker ends the step with the same bytes, and so does the one-node
 * trainer. The norm is summed over the whole vector in canonical order, never per chunk. The
 * element-wise passes may be cut into {@link StepParts} run on several threads: an element's
 * arithmetic is the same whichever part it is in.
 */
public final class StepUpdate {

  /**
   * Parts are cut at multiples of this many floats of the parameters laid end to end (a cache
   * line's worth), which keeps the boundaries that two threads write on both sides of to a few.
   */
  private static final int ALIGN = 16;

  private final TrainingConfig config;
  private final Parameters mean;
  private final GradientTransforms.SquareSum lanes = new GradientTransforms.SquareSum();
  private double gradientNorm;
  /** Per part count: each part's segments as (tensor, from, to) triples. */
  private int[][] segments = new int[0][];
  // The step under way, for the passes below (fields, so that no lambda is made per step).
  private Parameters sumLeft;
  private Parameters sumRight;
  private float divisor;
  private float clip;
  private Parameters weights;
  private Optimizer optimizer;
  private final IntConsumer meanPass = this::meanPart;
  private final IntConsumer updatePass = this::updatePart;

  /** @param shape parameters of the model's shape; their values are not used */
  public StepUpdate(TrainingConfig config, Parameters shape) {
    this.config = config;
    this.mean = shape.zerosLike();
  }

  /**
   * Applies one step.
   *
   * @param gradientSum the sum of every shard's gradient sum, in tree order. Not modified.
   * @param samples     the rows of the step
   * @param params      the weights. Modified.
   * @param optimizer   Modified.
   * @return false, with nothing modified, when the gradient is not finite
   */
  public boolean apply(long step, Parameters gradientSum, long samples, Parameters params, Optimizer optimizer) {
    return apply(step, gradientSum, null, samples, params, optimizer, StepParts.SERIAL);
  }

  /**
   * Like {@link #apply(long, Parameters, long, Parameters, Optimizer)}, the gradient sum given as
   * the tree's two halves (their element-wise sum, {@code left + right}, is the tree's root; right
   * null when {@code left} is the whole sum), and the element-wise passes cut into {@code parts}.
   */
  public boolean apply(long step, Parameters left, Parameters right, long samples, Parameters params,
      Optimizer optimizer, StepParts parts) {
    sumLeft = left;
    sumRight = right;
    divisor = samples;
    weights = params;
    this.optimizer = optimizer;
    segments(parts.count(), params);
    parts.run(meanPass);
    gradientNorm = Math.sqrt(GradientTransforms.sumOfSquares(mean, lanes));
    // A non-finite element makes the norm non-finite: one check, before anything is applied.
    if (!Double.isFinite(gradientNorm)) {
      return false;
    }
    clip = GradientTransforms.clipScale(gradientNorm, config.clipNorm());
    optimizer.begin(config.schedule().at(step));
    parts.run(updatePass);
    sumLeft = sumRight = weights = null;
    this.optimizer = null;
    return true;
  }

  /** The global gradient norm of the last step, before clipping. */
  public double gradientNorm() {
    return gradientNorm;
  }

  /** The mean gradient and the penalties over part {@code p}. */
  private void meanPart(int p) {
    int[] seg = segments[p];
    for (int i = 0; i < seg.length; i += 3) {
      GradientTransforms.sumAndDivide(sumLeft, sumRight, divisor, mean, seg[i], seg[i + 1], seg[i + 2]);
      GradientTransforms.addPenalties(weights, config.l1(), config.l2(), mean, seg[i], seg[i + 1], seg[i + 2]);
    }
  }

  /** Clipping and the optimiser over part {@code p}. */
  private void updatePart(int p) {
    int[] seg = segments[p];
    for (int i = 0; i < seg.length; i += 3) {
      if (clip != 1f) {
        GradientTransforms.scale(mean, clip, seg[i], seg[i + 1], seg[i + 2]);
      }
      optimizer.apply(weights, mean, seg[i], seg[i + 1], seg[i + 2]);
    }
  }

  /** Cuts the parameters, in canonical order, into {@code count} runs of about equal length. */
  private void segments(int count, Parameters shape) {
    if (segments.length == count) {
      return;
    }
    long total = 0;
    for (int t = 0; t < shape.tensorCount(); t++) {
      total += shape.tensor(t).getNumElements();
    }
    long[] bounds = new long[count + 1];
    for (int p = 1; p < count; p++) {
      bounds[p] = Math.min(total, (total * p / count + ALIGN - 1) / ALIGN * ALIGN);
    }
    bounds[count] = total;
    int[][] result = new int[count][];
    for (int p = 0; p < count; p++) {
      java.util.List<Integer> seg = new java.util.ArrayList<>();
      long start = 0;
      for (int t = 0; t < shape.tensorCount(); t++) {
        long end = start + shape.tensor(t).getNumElements();
        long from = Math.max(start, bounds[p]);
        long to = Math.min(end, bounds[p + 1]);
        if (from < to) {
          seg.add(t);
          seg.add((int) (from - start));
          seg.add((int) (to - start));
        }
        start = end;
      }
      result[p] = seg.stream().mapToInt(Integer::intValue).toArray();
    }
    segments = result;
  }
}
