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
      addPenalties(params, l1, l2, grad, t, 0, params.tensor(t).getNumElements());
    }
  }

  /** {@link #addPenalties(Parameters, double, double, Parameters)} on elements {@code [from, to)} of tensor {@code t}. */
  public static void addPenalties(Parameters params, double l1, double l2, Parameters grad, int t, int from, int to) {
    if ((l1 == 0 && l2 == 0) || !Parameters.isWeights(t)) {
      return;
    }
    float[] w = params.tensor(t).data;
    float[] g = grad.tensor(t).data;
    for (int i = from; i < to; i++) {
      g[i] = (float) (g[i] + l2 * w[i] + l1 * Math.signum(w[i]));
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
    return clipByGlobalNorm(grad, Math.sqrt(sumOfSquares(grad, new SquareSum())), maxNorm);
  }

  /** Like {@link #clipByGlobalNorm(Parameters, double)}, with the norm already known. */
  public static double clipByGlobalNorm(Parameters grad, double norm, double maxNorm) {
    float scale = clipScale(norm, maxNorm);
    if (scale != 1f) {
      for (int t = 0; t < grad.tensorCount(); t++) {
        scale(grad, scale, t, 0, grad.tensor(t).getNumElements());
      }
    }
    return norm;
  }

  /** What clipping to {@code maxNorm} multiplies a gradient of norm {@code norm} by: 1 when it leaves it. */
  public static float clipScale(double norm, double maxNorm) {
    return maxNorm > 0 && norm > maxNorm ? (float) (maxNorm / norm) : 1f;
  }

  /** Multiplies elements {@code [from, to)} of tensor {@code t} by {@code scale}. */
  public static void scale(Parameters grad, float scale, int t, int from, int to) {
    float[] g = grad.tensor(t).data;
    for (int i = from; i < to; i++) {
      g[i] *= scale;
    }
  }

  /**
   * {@code out = a + b}, element by element.
   *
   * @param out Modified; may alias {@code a}.
   */
  public static void sum(Parameters a, Parameters b, Parameters out) {
    for (int t = 0; t < out.tensorCount(); t++) {
      float[] x = a.tensor(t).data;
      float[] y = b.tensor(t).data;
      float[] o = out.tensor(t).data;
      int n = out.tensor(t).getNumElements();
      for (int i = 0; i < n; i++) {
        o[i] = x[i] + y[i];
      }
    }
  }

  /**
   * {@code out = (a + b) / divisor} element by element ({@code out = a / divisor} when {@code b}
   * is null).
   *
   * @param out Modified; may alias {@code a}.
   */
  public static void sumAndDivide(Parameters a, Parameters b, float divisor, Parameters out) {
    for (int t = 0; t < out.tensorCount(); t++) {
      sumAndDivide(a, b, divisor, out, t, 0, out.tensor(t).getNumElements());
    }
  }

  /** {@link #sumAndDivide(Parameters, Parameters, float, Parameters)} on elements {@code [from, to)} of tensor {@code t}. */
  public static void sumAndDivide(Parameters a, Parameters b, float divisor, Parameters out, int t, int from, int to) {
    float[] x = a.tensor(t).data;
    float[] o = out.tensor(t).data;
    if (b != null) {
      float[] y = b.tensor(t).data;
      for (int i = from; i < to; i++) {
        o[i] = (x[i] + y[i]) / divisor;
      }
    } else {
      for (int i = from; i < to; i++) {
        o[i] = x[i] / divisor;
      }
    }
  }

  /**
   * Σ g² in double precision, tensor by tensor through {@code lanes} (see {@link SquareSum}).
   * Infinite or NaN when any element is.
   */
  public static double sumOfSquares(Parameters grad, SquareSum lanes) {
    double total = 0;
    for (int t = 0; t < grad.tensorCount(); t++) {
      lanes.reset();
      lanes.add(grad.tensor(t).data, grad.tensor(t).getNumElements());
      total += lanes.total();
    }
    return total;
  }

  /**
   * Σ g² over one tensor fed in blocks whose lengths are multiples of 8 (but the last): element
   * {@code i} of the tensor always goes to partial sum {@code i mod 8}, so blocking never changes
   * the order of additions, and the eight chains do not wait on each other.
   */
  public static final class SquareSum {
    private double s0, s1, s2, s3, s4, s5, s6, s7;

    /** Starts a new tensor. */
    public void reset() {
      s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0;
    }

    /** Adds {@code g[0..n)}. */
    public void add(float[] g, int n) {
      double a0 = s0, a1 = s1, a2 = s2, a3 = s3, a4 = s4, a5 = s5, a6 = s6, a7 = s7;
      int i = 0;
      for (; i + 8 <= n; i += 8) {
        a0 += (double) g[i] * g[i];
        a1 += (double) g[i + 1] * g[i + 1];
        a2 += (double) g[i + 2] * g[i + 2];
        a3 += (double) g[i + 3] * g[i + 3];
        a4 += (double) g[i + 4] * g[i + 4];
        a5 += (double) g[i + 5] * g[i + 5];
        a6 += (double) g[i + 6] * g[i + 6];
        a7 += (double) g[i + 7] * g[i + 7];
      }
      for (int lane = 0; i < n; i++, lane++) {
        double sq = (double) g[i] * g[i];
        switch (lane) {
          case 0 -> a0 += sq;
          case 1 -> a1 += sq;
          case 2 -> a2 += sq;
          case 3 -> a3 += sq;
          case 4 -> a4 += sq;
          case 5 -> a5 += sq;
          default -> a6 += sq;
        }
      }
      s0 = a0; s1 = a1; s2 = a2; s3 = a3; s4 = a4; s5 = a5; s6 = a6; s7 = a7;
    }

    /** The sum of the tensor so far, the lanes added in a fixed order. */
    public double total() {
      return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    }
  }


}
