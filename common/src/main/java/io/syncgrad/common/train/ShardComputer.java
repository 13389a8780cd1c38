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
 * Each shard has its own scratch network and gradient buffer, so distinct shards may be computed
 * on distinct threads at once; one shard's sum is always computed by one thread, in row order.
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
      gradients[shard] = Parameters.zeros(model);
      keys[shard] = new DropoutKey();
    }
    Network net = networks[shard];
    net.load(data.features(), data.labels(), order, from, to);
    lossSums[shard] = net.gradient(params, keys[shard].set(seed, step, shard), gradients[shard]);
    samples[shard] = to - from;
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
