package io.syncgrad.common.bench;

import io.syncgrad.common.data.Dataset;
import io.syncgrad.common.math.Kernels;
import io.syncgrad.common.model.Activation;
import io.syncgrad.common.model.Initializer;
import io.syncgrad.common.model.LossFunction;
import io.syncgrad.common.model.ModelSpec;
import io.syncgrad.common.model.OutputActivation;
import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.optim.Optimizer;
import io.syncgrad.common.run.TrainingConfig;
import io.syncgrad.common.testing.Fixtures;
import io.syncgrad.common.train.ShardComputer;
import io.syncgrad.common.train.StepAggregator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * One whole training step of the 784-256-128-10 MLP, batch 128, on one thread: every shard's
 * forward and backward pass (as one block, summed in tree order as it is computed), the rest of
 * the tree and the momentum update. Samples per
 * second = 128 / the time per operation.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class StepBenchmark {

  private static final int BATCH = 128;
  private static final int STEPS_PER_EPOCH = 100;

  @Param({"native", "java"})
  public String kernel;

  @Param({"1", "8"})
  public int shards;

  private ShardComputer computer;
  private StepAggregator aggregator;
  private Parameters params;
  private Optimizer optimizer;
  private long step;

  @Setup
  public void setUp() {
    ModelSpec model = Fixtures.model(784, List.of(256, 128), 10, Activation.RELU, OutputActivation.SOFTMAX,
        LossFunction.CROSS_ENTROPY, 0f);
    Dataset data = Fixtures.randomData(BATCH * STEPS_PER_EPOCH, 784, 10, 1);
    TrainingConfig config = Fixtures.config(1, BATCH, shards, Optimizer.Kind.MOMENTUM, 0.01, data.size());
    params = Parameters.zeros(model);
    Initializer.HE.initialize(model, 1, params);
    optimizer = config.newOptimizer(params);
    computer = new ShardComputer(model, config, data, Kernels.select(kernel));
    aggregator = new StepAggregator(config, params);
  }

  @Benchmark
  public Parameters step() {
    computer.prepare(step);
    // As the one-node trainer on one thread: the shards as one block.
    computer.computeBlock(params, step, 0, shards);
    aggregator.apply(step, computer, params, optimizer);
    step++;
    return params;
  }
}
