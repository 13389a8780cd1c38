package io.syncgrad.common.train;

import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.optim.GradientTransforms;
import io.syncgrad.common.optim.Optimizer;
import io.syncgrad.common.run.TrainingConfig;

/**
 * The end of every step, wherever it runs: the gradient sum of all shards becomes the mean,
 * gains the penalties, is clipped to the global norm, and the optimiser updates the weights.
 *
 * <p>Every worker of a cluster runs it on the same reduced sum with the same weights and
 * optimiser state, so every worker ends the step with the same bytes, and so does the one-node
 * trainer. The norm is summed over the whole vector in canonical order, never per chunk.
 */
public final class StepUpdate {

  private final TrainingConfig config;
  private final Parameters mean;
  private final GradientTransforms.SquareSum lanes = new GradientTransforms.SquareSum();
  private double gradientNorm;

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
    GradientTransforms.sumAndDivide(gradientSum, null, samples, mean);
    GradientTransforms.addPenalties(params, config.l1(), config.l2(), mean);
    gradientNorm = GradientTransforms.clipByGlobalNorm(mean,
        Math.sqrt(GradientTransforms.sumOfSquares(mean, lanes)), config.clipNorm());
    // A non-finite element makes the norm non-finite: one check, before anything is applied.
    if (!Double.isFinite(gradientNorm)) {
      return false;
    }
    optimizer.update(params, mean, config.schedule().at(step));
    return true;
  }

  /** The global gradient norm of the last step, before clipping. */
  public double gradientNorm() {
    return gradientNorm;
  }
}
