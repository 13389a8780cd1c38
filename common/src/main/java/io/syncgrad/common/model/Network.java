package io.syncgrad.common.model;

import io.syncgrad.common.math.MatrixKernel;
import org.ejml.data.FMatrixRMaj;

/**
 * Forward and backward passes of a fully connected network over one block of rows, with the
 * scratch matrices to do it in.
 *
 * <p>One instance belongs to one thread. Its matrices are sized once for {@code maxRows} (and
 * the padding below) and then reshaped, which reuses their storage: a step allocates nothing. The gradient it
 * produces is the <em>sum</em> over the rows (not the mean), so that the sums of several
 * shards add up to the sum of the whole batch; the caller divides by the sample count once.
 *
 * <p>Each hidden layer stores its output (after dropout) and the derivative of its activation
 * multiplied by the dropout mask, so backpropagation needs neither the pre-activations nor the
 * mask again. Bias, activation, derivative and mask are applied in one pass.
 *
 * <p>The block may hold several consecutive shards ({@link #gradients}): the forward and
 * input-gradient products then run once over all rows, each row being computed as it would be
 * alone when the kernel's products are row-independent ({@link #blockMatchesShards}), while the
 * weight gradient, the bias sums, the dropout masks and the loss stay per shard.
 *
 * <p>For a kernel whose rows are independent only in full panels ({@link MatrixKernel#rowPanel}
 * u > 1) the loaded rows sit in a padded block: row i of the load at position {@code lead + i},
 * lead being its lane (its place in the batch modulo u), and zero rows before and after up to
 * multiples of u. The products run over the whole padded block, everything else over the real rows.
 */
public final class Network {

  private static final int ONE_BITS = Float.floatToRawIntBits(1f);

  private final ModelSpec spec;
  private final MatrixKernel kernel;
  private final int maxRows;
  /** The kernel's row panel, and the padded block's rows before the loaded ones and in all. */
  private final int panel;
  private int lead;
  private int span = -1;
  private final int layers;
  private final FMatrixRMaj input;
  private final int[] labels;
  private final FMatrixRMaj[] output;
  private final FMatrixRMaj[] derivative;
  private final FMatrixRMaj[] delta;
  private final double[] scratch;
  private int rows;
  // The shards of the loaded block: segment q is rows [bounds[q], bounds[q+1]), with its own
  // dropout key, gradient and loss. One segment unless gradients(...) is used.
  private int segments = 1;
  private int[] bounds;
  private DropoutKey[] keys;
  private Parameters[] grads;
  private double[] losses;
  // The tree nodes gradients(...) sums: node n is segments [nodeFirst[n], nodeEnd[n]).
  private int nodes;
  private int[] nodeFirst;
  private int[] nodeEnd;
  private boolean pairs;
  private java.util.function.IntBinaryOperator split;
  /** One vector per level of the tree below a node, for right children; made on first use. */
  private Parameters[] treeScratch = new Parameters[0];
  // The one segment of gradient(...) and evaluate(...): never the arrays a caller handed in.
  private final int[] oneBounds = new int[2];
  private final int[] oneNode = {0};
  private final int[] oneNodeEnd = {1};
  private final DropoutKey[] oneKey = new DropoutKey[1];
  private final Parameters[] oneGrad = new Parameters[1];
  private final double[] oneLoss = new double[1];

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
    this.panel = Math.max(1, kernel.rowPanel());
    int capacity = roundUp(maxRows + panel - 1, panel);
    this.layers = spec.layerCount();
    this.input = new FMatrixRMaj(capacity, spec.inputSize());
    this.labels = new int[capacity];
    this.output = new FMatrixRMaj[layers];
    this.derivative = new FMatrixRMaj[layers];
    this.delta = new FMatrixRMaj[layers];
    for (int l = 0; l < layers; l++) {
      output[l] = new FMatrixRMaj(capacity, spec.fanOut(l));
      derivative[l] = new FMatrixRMaj(capacity, spec.fanOut(l));
      delta[l] = new FMatrixRMaj(capacity, spec.fanOut(l));
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
   * {@code order[from + i]} of {@code features}; the first row in lane 0.
   *
   * @param features all samples, row-major, {@code spec.inputSize()} values each. Not modified.
   * @param targets  the class of every sample. Not modified.
   * @param order    sample indices. Not modified.
   * @param from     first position in {@code order}
   * @param to       one past the last position; at most {@code maxRows} rows
   */
  public void load(float[] features, int[] targets, int[] order, int from, int to) {
    load(features, targets, order, from, to, 0);
  }

  /**
   * Like {@link #load(float[], int[], int[], int, int)}, the first row in lane {@code lane}
   * modulo the kernel's {@link MatrixKernel#rowPanel}: a row's bytes depend on its lane, so a row
   * takes the lane of its place in the batch wherever it is computed.
   */
  public void load(float[] features, int[] targets, int[] order, int from, int to, int lane) {
    int n = to - from;
    layout(from, to, lane);
    int d = spec.inputSize();
    for (int i = 0; i < n; i++) {
      int sample = order[from + i];
      System.arraycopy(features, sample * d, input.data, (lead + i) * d, d);
      labels[lead + i] = targets[sample];
    }
  }

  /** Like {@link #load(float[], int[], int[], int, int)} for consecutive samples. */
  public void loadRange(float[] features, int[] targets, int from, int to) {
    int n = to - from;
    layout(from, to, 0);
    int d = spec.inputSize();
    System.arraycopy(features, from * d, input.data, lead * d, n * d);
    System.arraycopy(targets, from, labels, lead, n);
  }

  /**
   * Places {@code to - from} rows in lane {@code lane} of a padded block; where the layout
   * changes, its padding rows are zeroed (they stay so: a zero row's products are zeros).
   */
  private void layout(int from, int to, int lane) {
    int n = to - from;
    if (n < 0 || n > maxRows) {
      throw new IllegalArgumentException("Rows " + from + ".." + to + " do not fit a block of " + maxRows);
    }
    int newLead = Math.floorMod(lane, panel);
    int newSpan = panel == 1 ? n : roundUp(newLead + n, panel);
    if (newLead != lead || newSpan != span || n != rows) {
      lead = newLead;
      span = newSpan;
      rows = n;
      input.reshape(span, spec.inputSize());
      clearPadding(input);
      FMatrixRMaj last = delta[layers - 1];
      last.reshape(span, spec.outputSize());
      clearPadding(last);
    }
  }

  private void clearPadding(FMatrixRMaj m) {
    int w = m.numCols;
    java.util.Arrays.fill(m.data, 0, lead * w, 0f);
    java.util.Arrays.fill(m.data, (lead + rows) * w, span * w, 0f);
  }

  private static int roundUp(int n, int multiple) {
    return (n + multiple - 1) / multiple * multiple;
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
    one();
    oneKey[0] = dropout;
    oneGrad[0] = grad;
    forward(params, true);
    backward(params);
    oneGrad[0] = null;
    oneKey[0] = null;
    return oneLoss[0];
  }

  /**
   * Forward and backward over the loaded rows as the consecutive shards of {@code block}, summing
   * their gradients in the reduction tree: node {@code n} of the block gets the bytes of computing
   * its shards one by one with {@link #gradient} and adding them as the tree does. The forward and
   * input-gradient products run once over all rows, which needs {@link #blockMatchesShards}; the
   * weight gradient stays one product per shard, added into its sibling while that is still in
   * cache, each tensor's subtree finished before the next tensor.
   *
   * @param params the weights. Not modified.
   * @param block  the shards and nodes; kept until the next call. Not modified.
   * @param sums   each node's gradient sum. Modified; none may alias params or each other.
   * @param losses each shard's loss sum. Modified.
   * @throws IllegalStateException when there are several shards and the kernel's rows are not
   *     independent
   */
  public void gradients(Parameters params, ShardBlock block, Parameters[] sums, double[] losses) {
    int shards = block.shards();
    if (shards > 1 && !kernel.rowsIndependent()) {
      throw new IllegalStateException("kernel " + kernel.identity() + " does not compute rows independently");
    }
    if (block.bounds()[0] != 0 || block.rows() != rows) {
      throw new IllegalArgumentException("shards [" + block.bounds()[0] + ", " + block.rows()
          + ") do not cover the " + rows + " loaded rows");
    }
    int levels = 33 - Integer.numberOfLeadingZeros(Math.max(1, shards));
    if (treeScratch.length < levels) {
      Parameters[] more = java.util.Arrays.copyOf(treeScratch, levels);
      for (int i = treeScratch.length; i < levels; i++) {
        more[i] = Parameters.zeros(spec);
      }
      treeScratch = more;
    }
    this.segments = shards;
    this.bounds = block.bounds();
    this.keys = block.dropout();
    this.grads = sums;
    this.losses = losses;
    this.nodes = block.nodeFirst().length;
    this.nodeFirst = block.nodeFirst();
    this.nodeEnd = block.nodeEnd();
    this.split = block.split();
    this.pairs = block.pairs();
    forward(params, true);
    backward(params);
  }

  /**
   * Forward only, without dropout, for evaluation.
   *
   * @param params the weights. Not modified.
   * @return the loss summed over the rows
   */
  public double evaluate(Parameters params) {
    one();
    oneKey[0] = null;
    forward(params, false);
    return oneLoss[0];
  }

  /** Makes the loaded rows one segment. */
  private void one() {
    segments = 1;
    oneBounds[0] = 0;
    oneBounds[1] = rows;
    bounds = oneBounds;
    keys = oneKey;
    grads = oneGrad;
    losses = oneLoss;
    nodes = 1;
    nodeFirst = oneNode;
    nodeEnd = oneNodeEnd;
    pairs = false;
  }

  /** After {@link #evaluate}: how many rows' largest output is their label. */
  public int correct() {
    int k = spec.outputSize();
    float[] out = output[layers - 1].data;
    int hits = 0;
    for (int i = lead; i < lead + rows; i++) {
      if (argmax(out, i * k, k) == labels[i]) {
        hits++;
      }
    }
    return hits;
  }

  /** After {@link #evaluate}: the predicted class of row {@code i}. */
  public int predicted(int i) {
    int k = spec.outputSize();
    return argmax(output[layers - 1].data, (lead + i) * k, k);
  }

  /**
   * After {@link #evaluate}: the outputs of every loaded row (softmax probabilities, sigmoid
   * outputs or logits, as the output activation says), rows×outputSize row-major, copied into
   * {@code dst} from {@code offset}.
   *
   * @param dst where the outputs go. Modified.
   */
  public void copyOutputs(float[] dst, int offset) {
    System.arraycopy(output[layers - 1].data, lead * spec.outputSize(), dst, offset, rows * spec.outputSize());
  }

  /**
   * Whether {@code kernel}'s products give the same bytes, row by row, over a block of rows as
   * over each shard's rows alone, for this architecture and these shards: the condition under
   * which {@link #gradients} equals per-shard {@link #gradient}. It depends on the kernel, the
   * CPU and the shapes (OpenBLAS, for one, picks another code path, with another order of
   * additions, for some small products), so it is checked here on random values for exactly the
   * products the block runs, laid out as a network lays them out ({@link MatrixKernel#rowPanel}):
   * a BLAS call is a fixed sequence of operations for given shapes, so what holds for one set of
   * values holds for all. Allocates; call once per block geometry.
   *
   * @param bounds segment boundaries as for {@link #gradients}, {@code shards + 1} of them
   * @param lane   the block's first row's place in the batch (its lane, modulo the row panel)
   */
  public static boolean blockMatchesShards(MatrixKernel kernel, ModelSpec spec, int[] bounds, int shards, int lane) {
    if (!kernel.rowsIndependent()) {
      return false;
    }
    int total = bounds[shards];
    java.util.SplittableRandom random = new java.util.SplittableRandom(0x5eed);
    for (int l = 0; l < spec.layerCount(); l++) {
      FMatrixRMaj w = randomMatrix(spec.fanIn(l), spec.fanOut(l), random);
      // Forward: in·W over the block's rows and over each shard's; input gradient: Δ·Wᵀ alike.
      if (!sameRows(kernel, randomMatrix(total, spec.fanIn(l), random), w, false, bounds, shards, lane)) {
        return false;
      }
      if (l > 0 && !sameRows(kernel, randomMatrix(total, spec.fanOut(l), random), w, true, bounds, shards, lane)) {
        return false;
      }
    }
    return true;
  }

  private static boolean sameRows(MatrixKernel kernel, FMatrixRMaj a, FMatrixRMaj w, boolean transB, int[] bounds,
      int shards, int lane) {
    FMatrixRMaj whole = lanedProduct(kernel, a, 0, bounds[shards], lane, w, transB);
    int cols = whole.numCols;
    for (int q = 0; q < shards; q++) {
      int rows = bounds[q + 1] - bounds[q];
      FMatrixRMaj part = lanedProduct(kernel, a, bounds[q], rows, lane + bounds[q], w, transB);
      for (int i = 0; i < rows * cols; i++) {
        if (Float.floatToRawIntBits(part.data[i]) != Float.floatToRawIntBits(whole.data[bounds[q] * cols + i])) {
          return false;
        }
      }
    }
    return true;
  }

  /**
   * The product of rows {@code [from, from + n)} of {@code a} with {@code w} (or its transpose),
   * computed as a network computes them: in lane {@code lane} of a block padded with zero rows to
   * full panels. Returns the n rows of the product.
   */
  private static FMatrixRMaj lanedProduct(MatrixKernel kernel, FMatrixRMaj a, int from, int n, int lane,
      FMatrixRMaj w, boolean transB) {
    int u = Math.max(1, kernel.rowPanel());
    int lead = Math.floorMod(lane, u);
    int span = u == 1 ? n : roundUp(lead + n, u);
    FMatrixRMaj padded = new FMatrixRMaj(span, a.numCols);
    System.arraycopy(a.data, from * a.numCols, padded.data, lead * a.numCols, n * a.numCols);
    FMatrixRMaj c = new FMatrixRMaj(1, 1);
    if (transB) {
      kernel.multTransB(padded, w, c);
    } else {
      kernel.mult(padded, w, c);
    }
    FMatrixRMaj rows = new FMatrixRMaj(n, c.numCols);
    System.arraycopy(c.data, lead * c.numCols, rows.data, 0, n * c.numCols);
    return rows;
  }

  private static FMatrixRMaj randomMatrix(int rows, int cols, java.util.SplittableRandom random) {
    FMatrixRMaj m = new FMatrixRMaj(rows, cols);
    for (int i = 0; i < m.data.length; i++) {
      m.data[i] = (float) random.nextDouble(-1, 1);
    }
    return m;
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

  /** Forward over every loaded row; leaves each segment's loss sum in {@code losses}. */
  private void forward(Parameters params, boolean training) {
    float p = training ? spec.dropout() : 0f;
    for (int l = 0; l < layers; l++) {
      FMatrixRMaj in = l == 0 ? input : output[l - 1];
      FMatrixRMaj out = output[l];
      kernel.mult(in, params.weights(l), out);
      if (l < layers - 1) {
        activate(l, params.bias(l).data, p, training);
      }
    }
    outputLoss(params.bias(layers - 1).data);
  }

  /**
   * Bias, activation and derivative in one pass over a hidden layer, then the dropout mask.
   * ReLU, the common case, gets a branch-free loop of its own.
   */
  private void activate(int l, float[] bias, float p, boolean training) {
    int width = spec.fanOut(l);
    derivative[l].reshape(span, width);
    float[] out = output[l].data;
    float[] der = derivative[l].data;
    if (spec.activation() == Activation.RELU) {
      for (int i = lead; i < lead + rows; i++) {
        int base = i * width;
        for (int j = 0; j < width; j++) {
          // z > 0 ? (z, 1) : (+0, +0) without a branch, which half the units mispredicted
          // (160 µs a step for 128x256 on one core, 30 µs this way).
          int bits = Float.floatToRawIntBits(out[base + j] + bias[j]);
          int m = reluMask(bits);
          out[base + j] = Float.intBitsToFloat(bits & m);
          der[base + j] = Float.intBitsToFloat(ONE_BITS & m);
        }
      }
    } else {
      Activation f = spec.activation();
      for (int i = lead; i < lead + rows; i++) {
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
      for (int q = 0; q < segments; q++) {
        DropoutKey key = keys[q];
        if (key == null) {
          continue;
        }
        int first = lead + bounds[q];
        // The mask is a function of the row's place in its own shard.
        for (int i = first; i < lead + bounds[q + 1]; i++) {
          int base = i * width;
          for (int j = 0; j < width; j++) {
            float m = key.keep(l, i - first, j, p) ? keepScale : 0f;
            out[base + j] *= m;
            der[base + j] *= m;
          }
        }
      }
    }
  }

  /**
   * All ones when the float with these bits is {@code > 0f}, else 0: exactly when
   * {@code 0 < bits <= bits(+inf)} (positive, not zero, not NaN), in integer arithmetic.
   */
  static int reluMask(int bits) {
    return (~bits & -bits & (bits - 0x7f800001)) >> 31;
  }

  /**
   * Adds the bias to the logits, maps them to outputs, leaves dLoss/dlogits in delta and each
   * segment's loss sum, its rows added in order, in {@code losses}.
   */
  private void outputLoss(float[] bias) {
    int k = spec.outputSize();
    int last = layers - 1;
    float[] out = output[last].data;
    FMatrixRMaj d = delta[last];
    d.reshape(span, k);
    float[] g = d.data;
    for (int q = 0; q < segments; q++) {
      double loss = 0;
      for (int i = lead + bounds[q]; i < lead + bounds[q + 1]; i++) {
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
      losses[q] = loss;
    }
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

  private void backward(Parameters params) {
    for (int l = layers - 1; l >= 0; l--) {
      FMatrixRMaj in = l == 0 ? input : output[l - 1];
      FMatrixRMaj dl = delta[l];
      if (segments == 1) {
        if (span == rows) {
          kernel.multTransA(in, dl, grads[0].weights(l));
        } else {
          // Xᵀ·Δ sums over the rows: the real ones only, as a call over them alone would.
          kernel.multTransARows(in, dl, lead, rows, false, grads[0].weights(l));
        }
        columnSums(dl, lead, lead + rows, grads[0].bias(l).data);
      } else {
        for (int n = 0; n < nodes; n++) {
          nodeGradient(l, in, dl, nodeFirst[n], nodeEnd[n], grads[n], 0);
        }
      }
      if (l > 0) {
        FMatrixRMaj below = delta[l - 1];
        kernel.multTransB(dl, params.weights(l), below);
        float[] b = below.data;
        float[] der = derivative[l - 1].data;
        int w = below.numCols;
        for (int k = lead * w; k < (lead + rows) * w; k++) {
          b[k] *= der[k];
        }
      }
    }
  }

  /**
   * Layer {@code l}'s weight and bias gradient summed over node {@code [lo, hi)} of the tree into
   * {@code dst}: Xᵀ·Δ sums over rows, so it stays one product per shard; the left child is
   * computed into {@code dst} itself, the right one into the scratch of this level, then added.
   */
  private void nodeGradient(int l, FMatrixRMaj in, FMatrixRMaj dl, int lo, int hi, Parameters dst, int level) {
    FMatrixRMaj w = dst.weights(l);
    float[] b = dst.bias(l).data;
    if (hi - lo == 1) {
      kernel.multTransARows(in, dl, lead + bounds[lo], bounds[lo + 1] - bounds[lo], false, w);
      columnSums(dl, lead + bounds[lo], lead + bounds[lo + 1], b);
      return;
    }
    if (pairs && hi - lo >= 5 && hi - lo <= 8 && level + 3 < treeScratch.length
        && leavesInOnePass(l, in, dl, lo, hi, dst, level)) {
      return;
    }
    Parameters right = treeScratch[level];
    if (hi - lo == 2 && pairs) {
      // fl(g[lo] + g[lo+1]) straight from the kernel: the second product is added to the first once.
      kernel.multTransARows(in, dl, lead + bounds[lo], bounds[lo + 1] - bounds[lo], false, w);
      kernel.multTransARows(in, dl, lead + bounds[lo + 1], bounds[hi] - bounds[lo + 1], true, w);
      columnSums(dl, lead + bounds[lo], lead + bounds[lo + 1], b);
      float[] rb = right.bias(l).data;
      columnSums(dl, lead + bounds[lo + 1], lead + bounds[hi], rb);
      addInPlace(b, rb, b.length);
      return;
    }
    int mid = split.applyAsInt(lo, hi);
    nodeGradient(l, in, dl, lo, mid, dst, level + 1);
    nodeGradient(l, in, dl, mid, hi, right, level + 1);
    addInPlace(w.data, right.weights(l).data, w.getNumElements());
    addInPlace(b, right.bias(l).data, b.length);
  }

  /**
   * A node of 5 to 8 shards whose left half is two pairs and whose right half is one leaf or two
   * (pairs or single shards), as the tree's split makes them: the leaves are computed into
   * {@code dst} and the free scratch of the levels below, then added in one pass,
   * {@code (a + b) + (c + d)} element by element. These are the tree's additions in the tree's
   * order, with each buffer read once instead of once per level: the recursive walk's three passes
   * over a 784×256 layer took 163-177 µs, this one 85-114 µs.
   *
   * @return false, having done nothing, when the node's shape is another
   */
  private boolean leavesInOnePass(int l, FMatrixRMaj in, FMatrixRMaj dl, int lo, int hi, Parameters dst,
      int level) {
    int mid = split.applyAsInt(lo, hi);
    int right = hi - mid > 2 ? split.applyAsInt(mid, hi) : hi;
    if (mid - lo != 4 || split.applyAsInt(lo, mid) != lo + 2 || right - mid > 2 || hi - right > 2) {
      return false;
    }
    Parameters b = treeScratch[level];
    Parameters c = treeScratch[level + 1];
    // A pair needs the scratch of the level below it for its bias only, while no leaf is in it.
    int leafLevel = level + 3;
    nodeGradient(l, in, dl, lo, lo + 2, dst, leafLevel);
    nodeGradient(l, in, dl, lo + 2, mid, b, leafLevel);
    nodeGradient(l, in, dl, mid, right, c, leafLevel);
    float[] w = dst.weights(l).data;
    float[] bias = dst.bias(l).data;
    int n = dst.weights(l).getNumElements();
    if (right == hi) {
      addInOrder(w, b.weights(l).data, c.weights(l).data, n);
      addInOrder(bias, b.bias(l).data, c.bias(l).data, bias.length);
    } else {
      Parameters d = treeScratch[level + 2];
      nodeGradient(l, in, dl, right, hi, d, leafLevel);
      addInOrder(w, b.weights(l).data, c.weights(l).data, d.weights(l).data, n);
      addInOrder(bias, b.bias(l).data, c.bias(l).data, d.bias(l).data, bias.length);
    }
    return true;
  }

  /** {@code a = (a + b) + c}, element by element. */
  private static void addInOrder(float[] a, float[] b, float[] c, int n) {
    for (int i = 0; i < n; i++) {
      a[i] = (a[i] + b[i]) + c[i];
    }
  }

  /** {@code a = (a + b) + (c + d)}, element by element. */
  private static void addInOrder(float[] a, float[] b, float[] c, float[] d, int n) {
    for (int i = 0; i < n; i++) {
      a[i] = (a[i] + b[i]) + (c[i] + d[i]);
    }
  }

  private static void addInPlace(float[] a, float[] b, int n) {
    for (int i = 0; i < n; i++) {
      a[i] += b[i];
    }
  }

  /**
   * Whether two-shard nodes of this block may use {@link MatrixKernel#multTransARows} with
   * {@code accumulate}: the kernel says it adds a finished product once for these row counts
   * ({@link MatrixKernel#addsProductOnce}), every pair of consecutive shards has rows, and the
   * accumulated bytes equal {@code fl(g[q] + g[q+1])} for exactly this block's weight-gradient
   * products, checked here on random values with many exact zeros (as ReLU leaves them).
   * Allocates; call once per block geometry.
   */
  public static boolean pairsAccumulate(MatrixKernel kernel, ModelSpec spec, int[] bounds, int shards) {
    for (int q = 0; q < shards; q++) {
      if (bounds[q + 1] == bounds[q] || !kernel.addsProductOnce(bounds[q + 1] - bounds[q])) {
        return false;
      }
    }
    int total = bounds[shards];
    java.util.SplittableRandom random = new java.util.SplittableRandom(0x5eed);
    for (int l = 0; l < spec.layerCount(); l++) {
      FMatrixRMaj x = randomMatrix(total, spec.fanIn(l), random);
      FMatrixRMaj d = randomMatrix(total, spec.fanOut(l), random);
      for (int i = 0; i < d.data.length; i += 2) {
        d.data[i] = 0f;
      }
      FMatrixRMaj first = new FMatrixRMaj(1, 1);
      FMatrixRMaj second = new FMatrixRMaj(1, 1);
      FMatrixRMaj acc = new FMatrixRMaj(1, 1);
      for (int q = 0; q + 1 < shards; q++) {
        kernel.multTransARows(x, d, bounds[q], bounds[q + 1] - bounds[q], false, first);
        kernel.multTransARows(x, d, bounds[q + 1], bounds[q + 2] - bounds[q + 1], false, second);
        kernel.multTransARows(x, d, bounds[q], bounds[q + 1] - bounds[q], false, acc);
        kernel.multTransARows(x, d, bounds[q + 1], bounds[q + 2] - bounds[q + 1], true, acc);
        for (int i = 0; i < acc.getNumElements(); i++) {
          if (Float.floatToRawIntBits(first.data[i] + second.data[i]) != Float.floatToRawIntBits(acc.data[i])) {
            return false;
          }
        }
      }
    }
    return true;
  }

  /** Column sums of rows {@code [from, to)} of {@code m} into {@code sums}, adding rows in order. */
  private static void columnSums(FMatrixRMaj m, int from, int to, float[] sums) {
    int w = m.numCols;
    for (int j = 0; j < w; j++) {
      sums[j] = 0f;
    }
    float[] a = m.data;
    for (int i = from; i < to; i++) {
      int base = i * w;
      for (int j = 0; j < w; j++) {
        sums[j] += a[base + j];
      }
    }
  }
}
