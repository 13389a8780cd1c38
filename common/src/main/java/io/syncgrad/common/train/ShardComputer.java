package io.syncgrad.common.train;

import io.syncgrad.common.data.DataOrder;
import io.syncgrad.common.data.Dataset;
import io.syncgrad.common.data.ShardPlan;
import io.syncgrad.common.math.MatrixKernel;
import io.syncgrad.common.model.DropoutKey;
import io.syncgrad.common.model.ModelSpec;
import io.syncgrad.common.model.Network;
import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.run.TrainingConfig;

/**
 * A worker's job: the gradient sum, sample count and loss sum of one virtual shard at one step.
 *
 * <p>Which samples a shard holds is a pure function of (seed, step, shard): the epoch's order
 * comes from {@link DataOrder}, the batch from the step, the slice from the {@link ShardPlan}.
 * Each shard has its own gradient buffer, so distinct shards may be computed on distinct threads
 * at once; one shard's sum is always computed by one thread, in row order.
 *
 * <p>{@link #computeBlock} computes consecutive shards together: with a kernel whose products are
 * {@link MatrixKernel#rowsIndependent} the forward and input-gradient products run once over the
 * block's rows (the weights are packed once, not once per shard), and only the weight gradient is
 * multiplied per shard. Every shard's gradient, loss and sample count are then the bytes that
 * {@link #compute} gives it alone.
 */
public final class ShardComputer implements StepAggregator.ShardResults {

  private final ModelSpec model;
  private final MatrixKernel kernel;
  private final Dataset data;
  private final ShardPlan plan;
  private final long seed;
  private final long stepsPerEpoch;
  private final Network[] networks;
  private final Parameters[] gradients;
  private final DropoutKey[] keys;
  private final double[] lossSums;
  private final int[] samples;
  private final int[] order;
  private long orderEpoch = -1;
  /** Per first shard of a block: its network, its end, its row bounds, its shards' results. */
  private final Network[] blockNetworks;
  private final int[] blockEnds;
  private final int[][] blockBounds;
  private final Parameters[][] blockGradients;
  private final DropoutKey[][] blockKeys;
  private final double[][] blockLosses;
  /** Per first shard of a block: whether its rows may be multiplied at once (else shard by shard). */
  private final boolean[] blockWhole;

  /**
   * @param model  the architecture
   * @param config the run's hyper-parameters
   * @param data   the training samples, normalised
   * @param kernel what multiplies the matrices
   */
  public ShardComputer(ModelSpec model, TrainingConfig config, Dataset data, MatrixKernel kernel) {
    this.data = data;
    this.plan = new ShardPlan(config.batchSize(), config.shards());
    this.seed = config.seed();
    this.stepsPerEpoch = config.stepsPerEpoch();
    this.model = model;
    this.kernel = kernel;
    int shards = config.shards();
    this.networks = new Network[shards];
    this.gradients = new Parameters[shards];
    this.keys = new DropoutKey[shards];
    this.lossSums = new double[shards];
    this.samples = new int[shards];
    this.order = new int[data.size()];
    this.blockNetworks = new Network[shards];
    this.blockEnds = new int[shards];
    this.blockBounds = new int[shards][];
    this.blockGradients = new Parameters[shards][];
    this.blockKeys = new DropoutKey[shards][];
    this.blockLosses = new double[shards][];
    this.blockWhole = new boolean[shards];
  }

  /** The shard split. */
  public ShardPlan plan() {
    return plan;
  }

  /**
   * Makes the data order of {@code step}'s epoch current. Call once per step, on one thread,
   * before {@link #compute} runs for any shard of it.
   */
  public void prepare(long step) {
    long epoch = step / stepsPerEpoch;
    if (epoch != orderEpoch) {
      DataOrder.permutation(seed, epoch, order);
      orderEpoch = epoch;
    }
  }

  /**
   * Computes shard {@code shard} of step {@code step} into {@link #gradient(int)},
   * {@link #lossSum(int)} and {@link #samples(int)}.
   *
   * @param params the weights of the step. Not modified.
   */
  public void compute(Parameters params, long step, int shard) {
    if (step / stepsPerEpoch != orderEpoch) {
      throw new IllegalStateException("prepare(" + step + ") was not called");
    }
    long batchStart = (step % stepsPerEpoch) * plan.batchSize();
    int from = (int) (batchStart + plan.from(shard));
    int to = (int) (batchStart + plan.to(shard));
    if (networks[shard] == null) {
      // A worker owns a few shards: scratch space is made for those only, on first use.
      networks[shard] = new Network(model, kernel, plan.maxShardSize());
    }
    ensureResults(shard);
    Network net = networks[shard];
    net.load(data.features(), data.labels(), order, from, to);
    lossSums[shard] = net.gradient(params, keys[shard].set(seed, step, shard), gradients[shard]);
    samples[shard] = to - from;
  }

  /**
   * Computes shards {@code [first, end)} of step {@code step}, each into {@link #gradient(int)},
   * {@link #lossSum(int)} and {@link #samples(int)} with the bytes of {@link #compute}; on one
   * thread, and no other thread may compute these shards meanwhile.
   *
   * @param params the weights of the step. Not modified.
   */
  public void computeBlock(Parameters params, long step, int first, int end) {
    if (end - first == 1 || !kernel.rowsIndependent()) {
      for (int s = first; s < end; s++) {
        compute(params, step, s);
      }
      return;
    }
    if (step / stepsPerEpoch != orderEpoch) {
      throw new IllegalStateException("prepare(" + step + ") was not called");
    }
    if (blockEnds[first] != end) {
      newBlock(first, end);
    }
    if (!blockWhole[first]) {
      for (int s = first; s < end; s++) {
        compute(params, step, s);
      }
      return;
    }
    long batchStart = (step % stepsPerEpoch) * plan.batchSize();
    DropoutKey[] k = blockKeys[first];
    for (int s = first; s < end; s++) {
      k[s - first].set(seed, step, s);
      samples[s] = plan.to(s) - plan.from(s);
    }
    Network net = blockNetworks[first];
    net.load(data.features(), data.labels(), order, (int) (batchStart + plan.from(first)),
        (int) (batchStart + plan.to(end - 1)));
    double[] losses = blockLosses[first];
    net.gradients(params, blockBounds[first], end - first, k, blockGradients[first], losses);
    System.arraycopy(losses, 0, lossSums, first, end - first);
  }

  /** Scratch space of block {@code [first, end)}, made once (again only when a block changes). */
  private void newBlock(int first, int end) {
    int n = end - first;
    int[] bounds = new int[n + 1];
    Parameters[] grads = new Parameters[n];
    for (int s = first; s < end; s++) {
      ensureResults(s);
      bounds[s - first + 1] = plan.to(s) - plan.from(first);
      grads[s - first] = gradients[s];
    }
    blockEnds[first] = end;
    blockWhole[first] = Network.blockMatchesShards(kernel, model, bounds, n);
    if (!blockWhole[first]) {
      return;
    }
    blockNetworks[first] = new Network(model, kernel, bounds[n]);
    blockBounds[first] = bounds;
    blockGradients[first] = grads;
    DropoutKey[] k = new DropoutKey[n];
    for (int i = 0; i < n; i++) {
      k[i] = new DropoutKey();
    }
    blockKeys[first] = k;
    blockLosses[first] = new double[n];
  }

  private void ensureResults(int shard) {
    if (gradients[shard] == null) {
      gradients[shard] = Parameters.zeros(model);
      keys[shard] = new DropoutKey();
    }
  }

  /** Shard {@code shard}'s gradient sum from its last {@link #compute}. */
  @Override
  public Parameters gradient(int shard) {
    return gradients[shard];
  }

  /** Shard {@code shard}'s summed loss from its last {@link #compute}. */
  @Override
  public double lossSum(int shard) {
    return lossSums[shard];
  }

  /** Shard {@code shard}'s sample count from its last {@link #compute}. */
  @Override
  public int samples(int shard) {
    return samples[shard];
  }
}
