package io.syncgrad.common.train;

import io.syncgrad.common.data.Dataset;
import io.syncgrad.common.math.MatrixKernel;
import io.syncgrad.common.model.ModelSpec;
import io.syncgrad.common.model.Network;
import io.syncgrad.common.model.Parameters;

/** Loss and accuracy of a model on a labelled data set, in fixed blocks of rows. */
public final class Evaluator {

  private static final int BLOCK = 1000;

  private final Network network;

  /** The result of one evaluation. */
  public record Result(double loss, double accuracy, int samples) {}

  public Evaluator(ModelSpec model, MatrixKernel kernel) {
    this.network = new Network(model.withDropout(0f), kernel, BLOCK);
  }

  /** Evaluates {@code params} on every sample of {@code data}. */
  public Result evaluate(Parameters params, Dataset data) {
    double loss = 0;
    long correct = 0;
    for (int from = 0; from < data.size(); from += BLOCK) {
      int to = Math.min(data.size(), from + BLOCK);
      network.loadRange(data.features(), data.labels(), from, to);
      loss += network.evaluate(params);
      correct += network.correct();
    }
    int n = Math.max(1, data.size());
    return new Result(loss / n, (double) correct / n, data.size());
  }

  /**
   * The confusion matrix of {@code params} on {@code data}: entry {@code [t][p]} counts the
   * samples of class {@code t} predicted as {@code p}.
   */
  public long[][] confusion(Parameters params, Dataset data) {
    int k = network.spec().outputSize();
    long[][] m = new long[k][k];
    int[] predicted = predict(params, data);
    for (int i = 0; i < predicted.length; i++) {
      m[data.labels()[i]][predicted[i]]++;
    }
    return m;
  }

  /** The predicted class of every sample of {@code data}. */
  public int[] predict(Parameters params, Dataset data) {
    int[] out = new int[data.size()];
    forEachBlock(params, data, (from, to) -> {
      for (int i = from; i < to; i++) {
        out[i] = network.predicted(i - from);
      }
    });
    return out;
  }

  /**
   * What the network outputs for every sample of {@code data}: softmax probabilities, sigmoid
   * outputs or logits, as the model's output activation says; size×outputSize, row-major.
   */
  public float[] outputs(Parameters params, Dataset data) {
    int k = network.spec().outputSize();
    float[] out = new float[data.size() * k];
    forEachBlock(params, data, (from, to) -> network.copyOutputs(out, from * k));
    return out;
  }

  /** Rows {@code [from, to)} have just been evaluated. */
  private interface Block {
    void evaluated(int from, int to);
  }

  private void forEachBlock(Parameters params, Dataset data, Block block) {
    for (int from = 0; from < data.size(); from += BLOCK) {
      int to = Math.min(data.size(), from + BLOCK);
      network.loadRange(data.features(), data.labels(), from, to);
      network.evaluate(params);
      block.evaluated(from, to);
    }
  }
}
