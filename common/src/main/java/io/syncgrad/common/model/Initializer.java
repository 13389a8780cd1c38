package io.syncgrad.common.model;

import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Draws the initial weights from the seed alone. Uniform draws are used rather than Gaussian
 * ones: the JDK's Gaussian sampler goes through {@code Math.log}, which is not reproducible
 * across processors, whereas a uniform draw is exact integer arithmetic. Biases start at zero.
 */
public enum Initializer {
  /** He/Kaiming uniform, U(±√(6/fanIn)): keeps ReLU activations' variance through depth. */
  HE,
  /** Xavier/Glorot uniform, U(±√(6/(fanIn+fanOut))): for tanh and sigmoid. */
  XAVIER;

  /** The name used in flags, configuration and checkpoints. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses a label such as {@code he}; null when unknown. */
  public static Initializer parse(String label) {
    for (Initializer i : values()) {
      if (i.label().equals(label)) {
        return i;
      }
    }
    return null;
  }

  /** Fills {@code params} (shaped for {@code spec}) from {@code seed}. */
  public void initialize(ModelSpec spec, long seed, Parameters params) {
    for (int l = 0; l < spec.layerCount(); l++) {
      int fanIn = spec.fanIn(l);
      int fanOut = spec.fanOut(l);
      double limit = this == HE ? Math.sqrt(6.0 / fanIn) : Math.sqrt(6.0 / (fanIn + fanOut));
      SplittableRandom random = new SplittableRandom(Hashing.mix(seed, 0x1A17L, l));
      float[] w = params.weights(l).data;
      for (int k = 0; k < fanIn * fanOut; k++) {
        w[k] = (float) ((2.0 * random.nextDouble() - 1.0) * limit);
      }
      params.bias(l).zero();
    }
  }
}
