package io.syncgrad.common.optim;

import io.syncgrad.common.model.Parameters;
import java.util.Locale;

/**
 * Turns an aggregated gradient into new weights. Updates run element by element in canonical
 * order, in double precision rounded once to float, and no transcendental functions: the result
 * is the same bits on every JVM.
 *
 * <p>The state (moments and the update count) is part of a checkpoint: a resumed run continues
 * with exactly the optimiser it stopped with.
 */
public final class Optimizer {

  /** The update rules syncgrad offers. */
  public enum Kind {
    SGD, MOMENTUM, NESTEROV, ADAM;

    /** The name used in flags, configuration and checkpoints. */
    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }

    /** Parses a label such as {@code adam}; null when unknown. */
    public static Kind parse(String label) {
      for (Kind k : values()) {
        if (k.label().equals(label)) {
          return k;
        }
      }
      return null;
    }
  }

  private final Kind kind;
  private final double momentum;
  private final double beta1;
  private final double beta2;
  private final double epsilon;
  private final Parameters first;
  private final Parameters second;
  private long updates;
  // β₁ᵗ and β₂ᵗ as running products: the same bits as recomputing them by the same
  // multiplications on resume, and no StrictMath.pow per step (it allocates until compiled).
  private double beta1Power = 1.0;
  private double beta2Power = 1.0;

  /**
   * @param kind     the update rule
   * @param momentum μ for momentum and Nesterov
   * @param beta1    β₁ for Adam
   * @param beta2    β₂ for Adam
   * @param epsilon  ε for Adam
   * @param shape    parameters of the shape to optimise; their values are not used
   */
  public Optimizer(Kind kind, double momentum, double beta1, double beta2, double epsilon, Parameters shape) {
    this.kind = kind;
    this.momentum = momentum;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.epsilon = epsilon;
    this.first = kind == Kind.SGD ? null : shape.zerosLike();
    this.second = kind == Kind.ADAM ? shape.zerosLike() : null;
  }

  /** The update rule. */
  public Kind kind() {
    return kind;
  }

  /** Updates applied so far. */
  public long updates() {
    return updates;
  }

  /** Velocity (momentum) or first moment (Adam); null for plain SGD. */
  public Parameters firstMoment() {
    return first;
  }

  /** Adam's second moment; null otherwise. */
  public Parameters secondMoment() {
    return second;
  }

  /** Restores the state of a checkpoint. */
  public void restore(long updates, Parameters firstMoment, Parameters secondMoment) {
    this.updates = updates;
    beta1Power = 1.0;
    beta2Power = 1.0;
    for (long t = 0; t < updates; t++) {
      beta1Power *= beta1;
      beta2Power *= beta2;
    }
    if (first != null) {
      first.copyFrom(firstMoment);
    }
    if (second != null) {
      second.copyFrom(secondMoment);
    }
  }

  /**
   * Applies one update.
   *
   * @param params       the weights. Modified.
   * @param grad         the mean gradient, penalties included. Not modified.
   * @param learningRate the step size for this update
   */
  public void update(Parameters params, Parameters grad, double learningRate) {
    updates++;
    beta1Power *= beta1;
    beta2Power *= beta2;
    double c1 = 1.0 - beta1Power;
    double c2 = 1.0 - beta2Power;
    for (int t = 0; t < params.tensorCount(); t++) {
      float[] w = params.tensor(t).data;
      float[] g = grad.tensor(t).data;
      int n = params.tensor(t).getNumElements();
      switch (kind) {
        case SGD -> {
          for (int i = 0; i < n; i++) {
            w[i] = (float) (w[i] - learningRate * g[i]);
          }
        }
        case MOMENTUM, NESTEROV -> {
          float[] v = first.tensor(t).data;
          boolean nesterov = kind == Kind.NESTEROV;
          for (int i = 0; i < n; i++) {
            double vi = momentum * v[i] + g[i];
            v[i] = (float) vi;
            double step = nesterov ? g[i] + momentum * v[i] : v[i];
            w[i] = (float) (w[i] - learningRate * step);
          }
        }
        case ADAM -> {
          float[] m = first.tensor(t).data;
          float[] v = second.tensor(t).data;
          for (int i = 0; i < n; i++) {
            double gi = g[i];
            m[i] = (float) (beta1 * m[i] + (1.0 - beta1) * gi);
            v[i] = (float) (beta2 * v[i] + (1.0 - beta2) * gi * gi);
            double mHat = m[i] / c1;
            double vHat = v[i] / c2;
            w[i] = (float) (w[i] - learningRate * mHat / (Math.sqrt(vHat) + epsilon));
          }
        }
        default -> throw new IllegalStateException("unknown optimizer " + kind);
      }
    }
  }
}
