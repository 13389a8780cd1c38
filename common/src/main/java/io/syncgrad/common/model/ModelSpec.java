package io.syncgrad.common.model;

import java.util.ArrayList;
import java.util.List;

/**
 * The architecture of a fully connected network: everything needed to rebuild it from a
 * checkpoint.
 *
 * @param inputSize        features per sample
 * @param hiddenSizes      units of each hidden layer, input side first
 * @param outputSize       outputs (classes)
 * @param activation       activation of the hidden layers
 * @param outputActivation what maps the last layer's logits to outputs
 * @param loss             the training objective
 * @param dropout          probability of dropping a hidden unit in training, in [0, 1)
 */
public record ModelSpec(
    int inputSize,
    List<Integer> hiddenSizes,
    int outputSize,
    Activation activation,
    OutputActivation outputActivation,
    LossFunction loss,
    float dropout) {

  public ModelSpec {
    hiddenSizes = List.copyOf(hiddenSizes);
    if (inputSize <= 0 || outputSize <= 0) {
      throw new IllegalArgumentException("Layer sizes must be positive: input=" + inputSize + ", output=" + outputSize);
    }
    for (int h : hiddenSizes) {
      if (h <= 0) {
        throw new IllegalArgumentException("Hidden layer sizes must be positive, got " + hiddenSizes);
      }
    }
    if (loss == LossFunction.CROSS_ENTROPY && outputActivation != OutputActivation.SOFTMAX) {
      throw new IllegalArgumentException("cross-entropy needs a softmax output, got " + outputActivation.label());
    }
    if (!(dropout >= 0f && dropout < 1f)) {
      throw new IllegalArgumentException("dropout must be in [0, 1), got " + dropout);
    }
  }

  /** Number of dense layers: the hidden ones and the output layer. */
  public int layerCount() {
    return hiddenSizes.size() + 1;
  }

  /** Units feeding dense layer {@code l}. */
  public int fanIn(int l) {
    return l == 0 ? inputSize : hiddenSizes.get(l - 1);
  }

  /** Units produced by dense layer {@code l}. */
  public int fanOut(int l) {
    return l == hiddenSizes.size() ? outputSize : hiddenSizes.get(l);
  }

  /** Sizes of every layer, input first, output last. */
  public List<Integer> layerSizes() {
    List<Integer> sizes = new ArrayList<>();
    sizes.add(inputSize);
    sizes.addAll(hiddenSizes);
    sizes.add(outputSize);
    return sizes;
  }

  /** Trainable scalars: weights and biases of every layer. */
  public long parameterCount() {
    long n = 0;
    for (int l = 0; l < layerCount(); l++) {
      n += (long) fanIn(l) * fanOut(l) + fanOut(l);
    }
    return n;
  }

  /** A copy with another dropout rate. */
  public ModelSpec withDropout(float p) {
    return new ModelSpec(inputSize, hiddenSizes, outputSize, activation, outputActivation, loss, p);
  }

  /** The layer sizes, input first: {@code 784-256-128-10}. */
  public String sizes() {
    StringBuilder sb = new StringBuilder();
    for (int s : layerSizes()) {
      if (sb.length() > 0) {
        sb.append('-');
      }
      sb.append(s);
    }
    return sb.toString();
  }

  /** {@code 784-256-128-10 relu softmax cross-entropy}. */
  public String describe() {
    return sizes() + " " + activation.label() + " " + outputActivation.label() + " " + loss.label()
        + (dropout > 0 ? " dropout " + dropout : "");
  }
}
