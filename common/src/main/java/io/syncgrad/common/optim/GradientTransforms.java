package io.syncgrad.common.optim;

import io.syncgrad.common.model.Parameters;

/**
 * What happens to the mean gradient between aggregation and the optimiser: the L1 and L2
 * penalties, then clipping by global norm. Both walk the tensors in canonical order, so the
 * result does not depend on who runs them.
 */
public final class GradientTransforms {

  private GradientTransforms() {}

  /**
   * Adds the gradient of {@code l1·Σ|w| + (l2/2)·Σw²} over the weight matrices (biases carry no
   * penalty).
   *
   * @param params the weights. Not modified.
   * @param grad   the mean gradient. Modified.
   */
  public static void addPenalties(Parameters params, double l1, double l2, Parameters grad) {
    if (l1 == 0 && l2 == 0) {
      return;
    }
    for (int t = 0; t < params.tensorCount(); t++) {
      if (!Parameters.isWeights(t)) {
        continue;
      }
      float[] w = params.tensor(t).data;
      float[] g = grad.tensor(t).data;
      int n = params.tensor(t).getNumElements();
      for (int i = 0; i < n; i++) {
        g[i] = (float) (g[i] + l2 * w[i] + l1 * Math.signum(w[i]));
      }
    }
  }

  /** The penalty {@code l1·Σ|w| + (l2/2)·Σw²} itself, for reporting and gradient checks. */
  public static double penalty(Parameters params, double l1, double l2) {
    double sum = 0;
    for (int t = 0; t < params.tensorCount(); t++) {
      if (!Parameters.isWeights(t)) {
        continue;
      }
      float[] w = params.tensor(t).data;
      int n = params.tensor(t).getNumElements();
      for (int i = 0; i < n; i++) {
        sum += l1 * Math.abs(w[i]) + 0.5 * l2 * w[i] * (double) w[i];
      }
    }
    return sum;
  }

  /**
   * Scales {@code grad} so that its L2 norm is at most {@code maxNorm}.
   *
   * @param grad    Modified.
   * @param maxNorm the bound; 0 or less turns clipping off
   * @return the norm before clipping
   */
  public static double clipByGlobalNorm(Parameters grad, double maxNorm) {
    double sq = 0;
    for (int t = 0; t < grad.tensorCount(); t++) {
      float[] g = grad.tensor(t).data;
      int n = grad.tensor(t).getNumElements();
      for (int i = 0; i < n; i++) {
        sq += (double) g[i] * g[i];
      }
    }
    double norm = Math.sqrt(sq);
    if (maxNorm > 0 && norm > maxNorm) {
      double scale = maxNorm / norm;
      for (int t = 0; t < grad.tensorCount(); t++) {
        float[] g = grad.tensor(t).data;
        int n = grad.tensor(t).getNumElements();
        for (int i = 0; i < n; i++) {
          g[i] = (float) (g[i] * scale);
        }
      }
    }
    return norm;
  }
}
