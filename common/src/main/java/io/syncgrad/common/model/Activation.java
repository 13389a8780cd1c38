package io.syncgrad.common.model;

import java.util.Locale;

/**
 * Elementwise activation of a hidden layer. The derivative is written in terms of the
 * pre-activation {@code z}, so that backpropagation can store it in the forward pass.
 * Transcendentals go through {@link StrictMath}: {@code Math.exp} may differ by an ulp between
 * processors, and these values reach the weights.
 */
public enum Activation {
  RELU {
    @Override
    public float apply(float z) {
      return z > 0f ? z : 0f;
    }

    @Override
    public float derivative(float z, float a) {
      return z > 0f ? 1f : 0f;
    }
  },
  TANH {
    @Override
    public float apply(float z) {
      return (float) StrictMath.tanh(z);
    }

    @Override
    public float derivative(float z, float a) {
      return 1f - a * a;
    }
  },
  SIGMOID {
    @Override
    public float apply(float z) {
      return (float) (1.0 / (1.0 + StrictMath.exp(-(double) z)));
    }

    @Override
    public float derivative(float z, float a) {
      return a * (1f - a);
    }
  },
  IDENTITY {
    @Override
    public float apply(float z) {
      return z;
    }

    @Override
    public float derivative(float z, float a) {
      return 1f;
    }
  };

  /** The activation of {@code z}. */
  public abstract float apply(float z);

  /** d apply / dz at {@code z}, where {@code a == apply(z)}. */
  public abstract float derivative(float z, float a);

  /** The name used in flags, configuration and checkpoints. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses a label such as {@code relu}; null when unknown. */
  public static Activation parse(String label) {
    for (Activation a : values()) {
      if (a.label().equals(label)) {
        return a;
      }
    }
    return null;
  }
}
