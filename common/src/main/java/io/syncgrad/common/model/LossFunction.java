package io.syncgrad.common.model;

/** The training objective, summed over the samples of a shard. */
public enum LossFunction {
  /** Softmax cross-entropy, computed through log-sum-exp so large logits cannot overflow. */
  CROSS_ENTROPY("cross-entropy"),
  /** Half the squared error against the one-hot target, summed over the outputs. */
  MSE("mse");

  private final String label;

  LossFunction(String label) {
    this.label = label;
  }

  /** The name used in flags, configuration and checkpoints. */
  public String label() {
    return label;
  }

  /** Parses a label such as {@code cross-entropy}; null when unknown. */
  public static LossFunction parse(String label) {
    for (LossFunction f : values()) {
      if (f.label.equals(label)) {
        return f;
      }
    }
    return null;
  }
}
