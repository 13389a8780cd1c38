package io.syncgrad.common.model;

import java.util.Locale;

/** What turns the last layer's logits into outputs. */
public enum OutputActivation {
  /** Probabilities over the classes; the only choice for cross-entropy. */
  SOFTMAX,
  /** Independent per-output probabilities, as in the classic sigmoid-and-MSE network. */
  SIGMOID,
  /** The logits themselves. */
  IDENTITY;

  /** The name used in flags, configuration and checkpoints. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses a label such as {@code softmax}; null when unknown. */
  public static OutputActivation parse(String label) {
    for (OutputActivation a : values()) {
      if (a.label().equals(label)) {
        return a;
      }
    }
    return null;
  }
}
