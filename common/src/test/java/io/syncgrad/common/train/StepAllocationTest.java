package io.syncgrad.common.train;

import io.syncgrad.common.run.TrainingConfig;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.syncgrad.common.data.Dataset;
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
import io.syncgrad.common.math.Kernels;
import io.syncgrad.common.math.MatrixKernel;
import java.util.ArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** A training step — shard gradients (as one block), aggregation, update — allocates nothing once warm. */
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

  static Stream<Arguments> cases() {
    List<Arguments> cases = new ArrayList<>();
    for (Optimizer.Kind kind : Optimizer.Kind.values()) {
      cases.add(Arguments.of(kind, "ejml"));
    }
    cases.add(Arguments.of(Optimizer.Kind.ADAM, "native"));
    cases.add(Arguments.of(Optimizer.Kind.ADAM, "java"));
    cases.add(Arguments.of(Optimizer.Kind.NESTEROV, "clip-and-penalties"));
    return cases.stream();
  }

  @ParameterizedTest(name = "{0} on {1}")
  @MethodSource("cases")
  void stepAllocatesNothing(Optimizer.Kind kind, String kernelName) {
    boolean unfused = kernelName.equals("clip-and-penalties");
    MatrixKernel kernel = Kernels.select(unfused ? "ejml" : kernelName);
    ModelSpec model = Fixtures.model(64, List.of(32, 16), 10, Activation.RELU, OutputActivation.SOFTMAX,
        LossFunction.CROSS_ENTROPY, 0.1f);
    Dataset data = Fixtures.randomData(128 * STEPS_PER_EPOCH, 64, 10, 1);
    TrainingConfig base = Fixtures.config(1, 128, 4, kind, 0.001, data.size());
    TrainingConfig config = !unfused ? base : new TrainingConfig(base.seed(), base.batchSize(), base.shards(),
        kind, base.momentum(), base.beta1(), base.beta2(), base.epsilon(), 1e-6, 1e-4, 0.5, base.schedule(),
        base.init(), base.trainExamples(), base.dataFingerprint());
    Parameters params = Parameters.zeros(model);
    Initializer.HE.initialize(model, 1, params);
    Optimizer optimizer = config.newOptimizer(params);
    ShardComputer computer = new ShardComputer(model, config, data, kernel);
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
    // As the one-node trainer does: the native and Java kernels multiply the block's rows at once,
    // EJML shard by shard.
    computer.computeBlock(params, step, 0, shards);
    aggregator.apply(step, computer, params, optimizer);
  }
}
