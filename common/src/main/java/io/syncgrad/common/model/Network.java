package io.syncgrad.common.model;

import io.syncgrad.common.math.MatrixKernel;
import org.ejml.data.FMatrixRMaj;

/**
 * Forward and backward passes of a fully connected network over one block of rows, with the
 * scratch matrices to do it in.
 *
 * <p>One instance belongs to one thread. Its matrices are sized once for {@code maxRows} and
 * then reshaped, which reuses their storage: a step allocates nothing. The gradient it
 * produces is the <em>sum</em> over the rows (not the mean), so that the sums of several
 * shards add up to the sum of the whole batch; the caller divides by the sample count once.
 *
 * <p>Each hidden layer stores its output (after dropout) and the derivative of its activation
 * multiplied by the dropout mask, so backpropagation needs neither the pre-activations nor the
 * mask again. Bias, activation, derivative and mask are applied in one pass.
 */
public final class Network {

  private final ModelSpec spec;
  private final MatrixKernel kernel;
  private final int maxRows;
  private final int layers;
  private final FMatrixRMaj input;
  private final int[] labels;
  private final FMatrixRMaj[] output;
  private final FMatrixRMaj[] derivative;
  private final FMatrixRMaj[] delta;
  private final double[] scratch;
  private int rows;

  /**
   * @param spec    the architecture
   * @param kernel  what multiplies the matrices
   * @param maxRows the most rows one pass will see
   */
  public Network(ModelSpec spec, MatrixKernel kernel, int maxRows) {
    if (maxRows <= 0) {
      throw new IllegalArgumentException("maxRows must be positive, got " + maxRows);
    }
    this.spec = spec;
    this.kernel = kernel;
    this.maxRows = maxRows;
    this.layers = spec.layerCount();
    this.input = new FMatrixRMaj(maxRows, spec.inputSize());
    this.labels = new int[maxRows];
    this.output = new FMatrixRMaj[layers];
    this.derivative = new FMatrixRMaj[layers];
    this.delta = new FMatrixRMaj[layers];
    for (int l = 0; l < layers; l++) {
      output[l] = new FMatrixRMaj(maxRows, spec.fanOut(l));
      derivative[l] = new FMatrixRMaj(maxRows, spec.fanOut(l));
      delta[l] = new FMatrixRMaj(maxRows, spec.fanOut(l));
    }
    this.scratch = new double[spec.outputSize()];
  }

  /** The architecture this network computes. */
  public ModelSpec spec() {
    return spec;
  }

  /** The most rows one pass can take. */
  public int maxRows() {
    return maxRows;
  }

  /**
   * Copies rows into the input block: row {@code i} of the block is sample
   * {@code order[from + i]} of {@code features}.
   *
   * @param features all samples, row-major, {@code spec.inputSize()} values each. Not modified.
   * @param targets  the class of every sample. Not modified.
   * @param order    sample indices. Not modified.
   * @param from     first position in {@code order}
   * @param to       one past the last position; at most {@code maxRows} rows
   */
  public void load(float[] features, int[] targets, int[] order, int from, int to) {
    int n = to - from;
    if (n < 0 || n > maxRows) {
      throw new IllegalArgumentException("Rows " + from + ".." + to + " do not fit a block of " + maxRows);
    }
    int d = spec.inputSize();
    input.reshape(n, d);
    for (int i = 0; i < n; i++) {
      int sample = order[from + i];
      System.arraycopy(features, sample * d, input.data, i * d, d);
      labels[i] = targets[sample];
    }
    rows = n;
  }

  /** Like {@link #load(float[], int[], int[], int, int)} for consecutive samples. */
  public void loadRange(float[] features, int[] targets, int from, int to) {
    int n = to - from;
    if (n < 0 || n > maxRows) {
      throw new IllegalArgumentException("Rows " + from + ".." + to + " do not fit a block of " + maxRows);
    }
    int d = spec.inputSize();
    input.reshape(n, d);
    System.arraycopy(features, from * d, input.data, 0, n * d);
    System.arraycopy(targets, from, labels, 0, n);
    rows = n;
  }

  /** Rows in the loaded block. */
  public int rows() {
    return rows;
  }

  /**
   * Forward and backward over the loaded rows.
   *
   * @param params  the weights. Not modified.
   * @param dropout where this block sits in the run, for the dropout masks; ignored without
   *                dropout
   * @param grad    receives the gradient of the summed loss. Modified; must not alias params.
   * @return the loss summed over the rows
   */
  public double gradient(Parameters params, DropoutKey dropout, Parameters grad) {
    double loss = forward(params, dropout, true);
    backward(params, grad);
    return loss;
  }

  /**
   * Forward only, without dropout, for evaluation.
   *
   * @param params the weights. Not modified.
   * @return the loss summed over the rows
   */
  public double evaluate(Parameters params) {
    return forward(params, null, false);
  }

  /** After {@link #evaluate}: how many rows' largest output is their label. */
  public int correct() {
    int k = spec.outputSize();
    float[] out = output[layers - 1].data;
    int hits = 0;
    for (int i = 0; i < rows; i++) {
      if (argmax(out, i * k, k) == labels[i]) {
        hits++;
      }
    }
    return hits;
  }

  /** After {@link #evaluate}: the predicted class of row {@code i}. */
  public int predicted(int i) {
    int k = spec.outputSize();
    return argmax(output[layers - 1].data, i * k, k);
  }

  /**
   * After {@link #evaluate}: the outputs of every loaded row (softmax probabilities, sigmoid
   * outputs or logits, as the output activation says), rows×outputSize row-major, copied into
   * {@code dst} from {@code offset}.
   *
   * @param dst where the outputs go. Modified.
   */
  public void copyOutputs(float[] dst, int offset) {
    System.arraycopy(output[layers - 1].data, 0, dst, offset, rows * spec.outputSize());
  }

  private static int argmax(float[] v, int offset, int n) {
    int best = 0;
    for (int j = 1; j < n; j++) {
      if (v[offset + j] > v[offset + best]) {
        best = j;
      }
    }
    return best;
  }

  private double forward(Parameters params, DropoutKey key, boolean training) {
    float p = training && key != null ? spec.dropout() : 0f;
    for (int l = 0; l < layers; l++) {
      FMatrixRMaj in = l == 0 ? input : output[l - 1];
      FMatrixRMaj out = output[l];
      kernel.mult(in, params.weights(l), out);
      if (l < layers - 1) {
        activate(l, params.bias(l).data, p, key, training);
      }
    }
    return outputLoss(params.bias(layers - 1).data);
  }

  /**
   * Bias, activation and derivative in one pass over a hidden layer, then the dropout mask.
   * ReLU, the common case, gets a loop of its own that the JIT vectorises.
   */
  private void activate(int l, float[] bias, float p, DropoutKey key, boolean training) {
    int width = spec.fanOut(l);
    derivative[l].reshape(rows, width);
    float[] out = output[l].data;
    float[] der = derivative[l].data;
    if (spec.activation() == Activation.RELU) {
      for (int i = 0; i < rows; i++) {
        int base = i * width;
        for (int j = 0; j < width; j++) {
          float z = out[base + j] + bias[j];
          boolean on = z > 0f;
          out[base + j] = on ? z : 0f;
          der[base + j] = on ? 1f : 0f;
        }
      }
    } else {
      Activation f = spec.activation();
      for (int i = 0; i < rows; i++) {
        int base = i * width;
        for (int j = 0; j < width; j++) {
          float z = out[base + j] + bias[j];
          float a = f.apply(z);
          out[base + j] = a;
          der[base + j] = f.derivative(z, a);
        }
      }
    }
    if (training && p > 0f) {
      float keepScale = 1f / (1f - p);
      for (int i = 0; i < rows; i++) {
        int base = i * width;
        for (int j = 0; j < width; j++) {
          float m = key.keep(l, i, j, p) ? keepScale : 0f;
          out[base + j] *= m;
          der[base + j] *= m;
        }
      }
    }
  }

  /** Adds the bias to the logits, maps them to outputs, and leaves dLoss/dlogits in delta. */
  private double outputLoss(float[] bias) {
    int k = spec.outputSize();
    int last = layers - 1;
    float[] out = output[last].data;
    FMatrixRMaj d = delta[last];
    d.reshape(rows, k);
    float[] g = d.data;
    double loss = 0;
    for (int i = 0; i < rows; i++) {
      int base = i * k;
      int y = labels[i];
      for (int j = 0; j < k; j++) {
        out[base + j] += bias[j];
      }
      switch (spec.outputActivation()) {
        case SOFTMAX -> loss += softmax(out, base, k, y, g);
        case SIGMOID, IDENTITY -> loss += elementwise(out, base, k, y, g);
        default -> throw new IllegalStateException("unknown output " + spec.outputActivation());
      }
    }
    return loss;
  }

  /** Softmax row in place; returns its loss and writes dLoss/dlogits. */
  private double softmax(float[] out, int base, int k, int y, float[] g) {
    double max = out[base];
    for (int j = 1; j < k; j++) {
      max = Math.max(max, out[base + j]);
    }
    double sum = 0;
    for (int j = 0; j < k; j++) {
      scratch[j] = StrictMath.exp(out[base + j] - max);
      sum += scratch[j];
    }
    double loss;
    if (spec.loss() == LossFunction.CROSS_ENTROPY) {
      loss = StrictMath.log(sum) + max - out[base + y];
      for (int j = 0; j < k; j++) {
        float prob = (float) (scratch[j] / sum);
        out[base + j] = prob;
        g[base + j] = prob - (j == y ? 1f : 0f);
      }
    } else {
      // MSE through the softmax Jacobian: dz = p ⊙ (e - Σ p e), e = p - t.
      loss = 0;
      double dot = 0;
      for (int j = 0; j < k; j++) {
        double prob = scratch[j] / sum;
        double e = prob - (j == y ? 1.0 : 0.0);
        loss += 0.5 * e * e;
        dot += prob * e;
        scratch[j] = prob;
      }
      for (int j = 0; j < k; j++) {
        double prob = scratch[j];
        double e = prob - (j == y ? 1.0 : 0.0);
        out[base + j] = (float) prob;
        g[base + j] = (float) (prob * (e - dot));
      }
    }
    return loss;
  }

  /** Sigmoid or identity outputs with MSE; returns the row's loss and writes dLoss/dlogits. */
  private double elementwise(float[] out, int base, int k, int y, float[] g) {
    Activation f = spec.outputActivation() == OutputActivation.SIGMOID ? Activation.SIGMOID : Activation.IDENTITY;
    double loss = 0;
    for (int j = 0; j < k; j++) {
      float z = out[base + j];
      float a = f.apply(z);
      float e = a - (j == y ? 1f : 0f);
      loss += 0.5 * (double) e * e;
      out[base + j] = a;
      g[base + j] = e * f.derivative(z, a);
    }
    return loss;
  }

  private void backward(Parameters params, Parameters grad) {
    for (int l = layers - 1; l >= 0; l--) {
      FMatrixRMaj in = l == 0 ? input : output[l - 1];
      FMatrixRMaj dl = delta[l];
      kernel.multTransA(in, dl, grad.weights(l));
      columnSums(dl, grad.bias(l).data);
      if (l > 0) {
        FMatrixRMaj below = delta[l - 1];
        kernel.multTransB(dl, params.weights(l), below);
        float[] b = below.data;
        float[] der = derivative[l - 1].data;
        int n = below.getNumElements();
        for (int k = 0; k < n; k++) {
          b[k] *= der[k];
        }
      }
    }
  }

  /** Column sums of {@code m} into {@code sums}, adding rows in order. */
  private static void columnSums(FMatrixRMaj m, float[] sums) {
    int w = m.numCols;
    for (int j = 0; j < w; j++) {
      sums[j] = 0f;
    }
    float[] a = m.data;
    for (int i = 0; i < m.numRows; i++) {
      int base = i * w;
      for (int j = 0; j < w; j++) {
        sums[j] += a[base + j];
      }
    }
  }
}
