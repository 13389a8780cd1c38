package io.syncgrad.common.train;

import io.syncgrad.common.data.DataOrder;
import io.syncgrad.common.data.Dataset;
import io.syncgrad.common.data.ShardPlan;
import io.syncgrad.common.math.MatrixKernel;
import io.syncgrad.common.model.DropoutKey;
import io.syncgrad.common.model.ModelSpec;
import io.syncgrad.common.model.Network;
import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.model.ShardBlock;
import io.syncgrad.common.reduce.ReductionTree;
import io.syncgrad.common.run.TrainingConfig;
import java.util.List;

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
  private final ReductionTree tree;
  /** Per first shard of a block: its network, its end, its layout (null: shard by shard), its sums. */
  private final Network[] blockNetworks;
  private final int[] blockEnds;
  private final ShardBlock[] blocks;
  private final Parameters[][] blockSums;
  private final double[][] blockLosses;
  /** Per shard: whether its last computation was alone (else it was summed into a node). */
  private final boolean[] alone;
  /** Per first shard of a node: the node's sum and its end, from the block that computed it last. */
  private final Parameters[] nodeSums;
  private final int[] nodeEnds;

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
    this.tree = new ReductionTree(shards);
    this.blockNetworks = new Network[shards];
    this.blockEnds = new int[shards];
    this.blocks = new ShardBlock[shards];
    this.blockSums = new Parameters[shards][];
    this.blockLosses = new double[shards][];
    this.alone = new boolean[shards];
    this.nodeSums = new Parameters[shards];
    this.nodeEnds = new int[shards];
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
    net.load(data.features(), data.labels(), order, from, to, plan.from(shard));
    lossSums[shard] = net.gradient(params, keys[shard].set(seed, step, shard), gradients[shard]);
    samples[shard] = to - from;
    alone[shard] = true;
    nodeSums[shard] = null;
  }

  /**
   * Computes shards {@code [first, end)} of step {@code step}: their {@link #lossSum(int)} and
   * {@link #samples(int)}, and the gradient sums of the largest tree nodes inside the block
   * ({@link ReductionTree#cover}), each with the bytes of computing its shards with
   * {@link #compute} and adding them in the tree. A shard summed into its node this way has no
   * {@link #gradient} of its own this step; {@link #nodeSum} has the node. Where the kernel's
   * products over the block would differ from per-shard ones, the shards are computed one by one.
   * On one thread; no other thread may compute these shards meanwhile.
   *
   * @param params the weights of the step. Not modified.
   */
  public void computeBlock(Parameters params, long step, int first, int end) {
    if (end - first == 1 || !kernel.rowsIndependent()) {
      computeEach(params, step, first, end);
      return;
    }
    if (step / stepsPerEpoch != orderEpoch) {
      throw new IllegalStateException("prepare(" + step + ") was not called");
    }
    if (blockEnds[first] != end) {
      newBlock(first, end);
    }
    ShardBlock block = blocks[first];
    if (block == null) {
      computeEach(params, step, first, end);
      return;
    }
    long batchStart = (step % stepsPerEpoch) * plan.batchSize();
    for (int s = first; s < end; s++) {
      block.dropout()[s - first].set(seed, step, s);
      samples[s] = plan.to(s) - plan.from(s);
      alone[s] = false;
      nodeSums[s] = null;
    }
    Network net = blockNetworks[first];
    net.load(data.features(), data.labels(), order, (int) (batchStart + plan.from(first)),
        (int) (batchStart + plan.to(end - 1)), plan.from(first));
    double[] losses = blockLosses[first];
    Parameters[] sums = blockSums[first];
    net.gradients(params, block, sums, losses);
    System.arraycopy(losses, 0, lossSums, first, end - first);
    int[] nodeFirst = block.nodeFirst();
    for (int n = 0; n < nodeFirst.length; n++) {
      int at = first + nodeFirst[n];
      nodeSums[at] = sums[n];
      nodeEnds[at] = first + block.nodeEnd()[n];
    }
  }

  /**
   * Makes the scratch space of block {@code [first, end)} and checks which of its products may
   * run at once, so that the first {@link #computeBlock} of it does not; optional.
   */
  public void planBlock(int first, int end) {
    if (end - first > 1 && kernel.rowsIndependent() && blockEnds[first] != end) {
      newBlock(first, end);
    }
  }

  private void computeEach(Parameters params, long step, int first, int end) {
    for (int s = first; s < end; s++) {
      compute(params, step, s);
    }
  }

  /**
   * Scratch space of block {@code [first, end)}, made once (again only when a block changes);
   * none when its products must run shard by shard.
   */
  private void newBlock(int first, int end) {
    int n = end - first;
    int[] bounds = new int[n + 1];
    for (int s = first; s < end; s++) {
      bounds[s - first + 1] = plan.to(s) - plan.from(first);
    }
    blockEnds[first] = end;
    blocks[first] = null;
    if (!Network.blockMatchesShards(kernel, model, bounds, n, plan.from(first))) {
      return;
    }
    List<ReductionTree.Node> cover = tree.cover(first, end);
    int[] nodeFirst = new int[cover.size()];
    int[] nodeEnd = new int[cover.size()];
    Parameters[] sums = new Parameters[cover.size()];
    for (int i = 0; i < cover.size(); i++) {
      nodeFirst[i] = cover.get(i).first() - first;
      nodeEnd[i] = cover.get(i).end() - first;
      sums[i] = Parameters.zeros(model);
    }
    DropoutKey[] k = new DropoutKey[n];
    for (int i = 0; i < n; i++) {
      k[i] = new DropoutKey();
    }
    blocks[first] = new ShardBlock(bounds, n, k, nodeFirst, nodeEnd, ReductionTree::split,
        Network.pairsAccumulate(kernel, model, bounds, n));
    blockNetworks[first] = new Network(model, kernel, bounds[n]);
    blockSums[first] = sums;
    blockLosses[first] = new double[n];
  }

  /**
   * The sum of node {@code [first, end)} from the last computation of shard {@code first}, or
   * null when that was not a {@link #computeBlock} that summed this node.
   */
  @Override
  public Parameters nodeSum(int first, int end) {
    Parameters sum = nodeSums[first];
    return sum != null && nodeEnds[first] == end ? sum : null;
  }

  private void ensureResults(int shard) {
    if (gradients[shard] == null) {
      gradients[shard] = Parameters.zeros(model);
      keys[shard] = new DropoutKey();
    }
  }

  /**
   * Shard {@code shard}'s gradient sum from its last {@link #compute}, or null when a
   * {@link #computeBlock} since summed it straight into its node.
   */
  @Override
  public Parameters gradient(int shard) {
    return alone[shard] ? gradients[shard] : null;
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
