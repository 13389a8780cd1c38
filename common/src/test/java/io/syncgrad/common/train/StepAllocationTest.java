package io.syncgrad.common.train;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.syncgrad.common.data.Dataset;
import io.syncgrad.common.math.EjmlKernel;
import io.syncgrad.common.model.Activation;
import io.syncgrad.common.model.Initializer;
import io.syncgrad.common.model.LossFunction;
import io.syncgrad.common.model.ModelSpec;
import io.syncgrad.common.model.OutputActivation;
import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.optim.Optimizer;
import io.syncgrad.common.testing.Fixtures;
import java.lang.management.ManagementFactory;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** A training step — shard gradients, aggregation, update — allocates nothing once warm. */
class StepAllocationTest {

  /** Until the JIT has compiled the step: interpreted and C1 code still allocates a little. */
  private static final int WARMUP_STEPS = 2000;
  private static final int MEASURED_STEPS = 100;
  /** Steps 1800..2099 form one epoch, so the measured steps do not reshuffle. */
  private static final int STEPS_PER_EPOCH = 300;
  /**
   * Below one 16-byte object per step (1,600 bytes over 100 steps): room for a one-off JIT event,
   * none for anything the step itself allocates.
   */
  private static final long MAX_BYTES = 1024;

  @ParameterizedTest
  @EnumSource(Optimizer.Kind.class)
  void stepAllocatesNothing(Optimizer.Kind kind) {
    ModelSpec model = Fixtures.model(64, List.of(32, 16), 10, Activation.RELU, OutputActivation.SOFTMAX,
        LossFunction.CROSS_ENTROPY, 0.1f);
    Dataset data = Fixtures.randomData(128 * STEPS_PER_EPOCH, 64, 10, 1);
    TrainingConfig config = Fixtures.config(1, 128, 4, kind, 0.001, data.size());
    Parameters params = Parameters.zeros(model);
    Initializer.HE.initialize(model, 1, params);
    Optimizer optimizer = config.newOptimizer(params);
    ShardComputer computer = new ShardComputer(model, config, data, EjmlKernel.INSTANCE);
    StepAggregator aggregator = new StepAggregator(config, params);
    com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    long step = 0;
    for (; step < WARMUP_STEPS; step++) {
      runStep(computer, aggregator, params, optimizer, step, config.shards());
    }
    long before = threads.getCurrentThreadAllocatedBytes();
    for (int i = 0; i < MEASURED_STEPS; i++, step++) {
      runStep(computer, aggregator, params, optimizer, step, config.shards());
    }
    long allocated = threads.getCurrentThreadAllocatedBytes() - before;
    assertTrue(allocated < MAX_BYTES, allocated + " bytes allocated over " + MEASURED_STEPS + " steps");
  }

  private static void runStep(ShardComputer computer, StepAggregator aggregator, Parameters params,
      Optimizer optimizer, long step, int shards) {
    computer.prepare(step);
    for (int s = 0; s < shards; s++) {
      computer.compute(params, step, s);
    }
    aggregator.apply(step, computer, params, optimizer);
  }
}
