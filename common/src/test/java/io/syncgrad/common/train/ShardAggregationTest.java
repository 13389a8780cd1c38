package io.syncgrad.common.train;

import io.syncgrad.common.run.TrainingConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
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
import io.syncgrad.common.reduce.ChunkedReduction;
import io.syncgrad.common.testing.Fixtures;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The virtual-shard arithmetic: sums add up, and the result never depends on who computed what when. */
class ShardAggregationTest {

  private static final long SEED = 42;
  private static final int EXAMPLES = 512;
  private static final int BATCH = 64;
  private static final ModelSpec MODEL = Fixtures.model(12, List.of(16, 8), 4, Activation.TANH,
      OutputActivation.SOFTMAX, LossFunction.CROSS_ENTROPY, 0.2f);
  private static final Dataset DATA = Fixtures.randomData(EXAMPLES, 12, 4, SEED);

  @Test
  void shardSumsAddUpToTheWholeBatchGradient() {
    // Without dropout: its masks are keyed by shard, so another shard layout draws other masks.
    ModelSpec model = MODEL.withDropout(0f);
    Parameters params = initial();
    Parameters whole = meanGradient(model, params, 1, 3);
    for (int shards : new int[] {2, 3, 8, 64}) {
      Parameters sharded = meanGradient(model, params, shards, 3);
      for (int t = 0; t < whole.tensorCount(); t++) {
        for (int i = 0; i < whole.tensor(t).getNumElements(); i++) {
          float a = whole.tensor(t).data[i];
          float b = sharded.tensor(t).data[i];
          assertEquals(a, b, 1e-5 * (Math.abs(a) + 1e-3), shards + " shards, tensor " + t + " index " + i);
        }
      }
    }
  }

  /**
   * Trial 0 is the one-node step; the others spread the shards over 1 to 8 members in a random
   * order, reduce every chunk at its owner from partial sums that arrive in a shuffled order,
   * gather the chunks, and apply the same update: the same bytes, step after step.
   */
  @Test
  void weightsAreBitIdenticalWhateverTheMembersAndTheArrivalOrder() {
    Random random = new Random(SEED);
    String reference = null;
    for (int trial = 0; trial < 9; trial++) {
      TrainingConfig config = Fixtures.config(SEED, BATCH, 8, Optimizer.Kind.ADAM, 0.01, EXAMPLES);
      Parameters params = initial();
      Optimizer optimizer = config.newOptimizer(params);
      ShardComputer computer = new ShardComputer(MODEL, config, DATA, EjmlKernel.INSTANCE);
      StepAggregator aggregator = new StepAggregator(config, params);
      StepUpdate update = new StepUpdate(config, params);
      for (long step = 0; step < 20; step++) {
        computer.prepare(step);
        List<Integer> order = new ArrayList<>(List.of(0, 1, 2, 3, 4, 5, 6, 7));
        Collections.shuffle(order, random);
        for (int s : order) {
          computer.compute(params, step, s);
        }
        if (trial == 0) {
          aggregator.apply(step, computer, params, optimizer);
        } else {
          Parameters sum = ChunkedReduction.reduce(computer, params, config.shards(), trial, random);
          assertTrue(update.apply(step, sum, BATCH, params, optimizer));
        }
      }
      String hash = params.sha256Hex();
      if (reference == null) {
        reference = hash;
      }
      assertEquals(reference, hash, "trial " + trial + " (members " + trial + ")");
    }
  }

  @Test
  void dropoutMasksDependOnStepAndShard() {
    Parameters params = initial();
    Parameters a = meanGradient(MODEL, params, 8, 3);
    Parameters b = meanGradient(MODEL, params, 8, 3);
    Parameters c = meanGradient(MODEL, params, 8, 3 + 7);
    assertEquals(a.sha256Hex(), b.sha256Hex());
    assertNotEquals(a.sha256Hex(), c.sha256Hex());
  }

  @Test
  void nonFiniteLossStopsTheStepBeforeAnythingChanges() {
    TrainingConfig config = Fixtures.config(SEED, BATCH, 4, Optimizer.Kind.SGD, 0.1, EXAMPLES);
    Parameters params = initial();
    String before = params.sha256Hex();
    ShardComputer computer = computedStep(config, params);
    ShardResultsWithLoss bad = new ShardResultsWithLoss(computer, 1, Double.POSITIVE_INFINITY);
    DivergedException e = assertThrows(DivergedException.class,
        () -> new StepAggregator(config, params).apply(0, bad, params, config.newOptimizer(params)));
    assertTrue(e.getMessage().startsWith("training diverged at step 0: shard 1 has loss Infinity"), e.getMessage());
    assertEquals(before, params.sha256Hex(), "nothing of a diverged step is applied");
  }

  @Test
  void nonFiniteGradientStopsTheStepAndNamesTheShard() {
    for (double clip : new double[] {0, 1.0}) {
      TrainingConfig base = Fixtures.config(SEED, BATCH, 4, Optimizer.Kind.SGD, 0.1, EXAMPLES);
      TrainingConfig config = new TrainingConfig(base.seed(), base.batchSize(), base.shards(), base.optimizer(),
          base.momentum(), base.beta1(), base.beta2(), base.epsilon(), 0, 0, clip, base.schedule(), base.init(),
          base.trainExamples(), base.dataFingerprint());
      Parameters params = initial();
      String before = params.sha256Hex();
      ShardComputer computer = computedStep(config, params);
      computer.gradient(2).tensor(0).data[5] = Float.NaN;
      DivergedException e = assertThrows(DivergedException.class,
          () -> new StepAggregator(config, params).apply(0, computer, params, config.newOptimizer(params)));
      assertTrue(e.getMessage().startsWith("training diverged at step 0: shard 2 has a non-finite gradient"),
          e.getMessage());
      assertEquals(before, params.sha256Hex(), "nothing of a diverged step is applied");
    }
  }

  private static ShardComputer computedStep(TrainingConfig config, Parameters params) {
    ShardComputer computer = new ShardComputer(MODEL, config, DATA, EjmlKernel.INSTANCE);
    computer.prepare(0);
    for (int s = 0; s < config.shards(); s++) {
      computer.compute(params, 0, s);
    }
    return computer;
  }

  /** Another shard result with one loss replaced. */
  private record ShardResultsWithLoss(ShardComputer computer, int shard, double loss)
      implements StepAggregator.ShardResults {
    @Override
    public Parameters gradient(int s) {
      return computer.gradient(s);
    }

    @Override
    public double lossSum(int s) {
      return s == shard ? loss : computer.lossSum(s);
    }

    @Override
    public int samples(int s) {
      return computer.samples(s);
    }
  }

  private static Parameters initial() {
    Parameters params = Parameters.zeros(MODEL);
    Initializer.XAVIER.initialize(MODEL, SEED, params);
    return params;
  }

  private static Parameters meanGradient(ModelSpec model, Parameters params, int shards, long step) {
    TrainingConfig config = Fixtures.config(SEED, BATCH, shards, Optimizer.Kind.SGD, 0.1, EXAMPLES);
    ShardComputer computer = new ShardComputer(model, config, DATA, EjmlKernel.INSTANCE);
    computer.prepare(step);
    Parameters sum = params.zerosLike();
    int samples = 0;
    for (int s = 0; s < shards; s++) {
      computer.compute(params, step, s);
      sum.addInPlace(computer.gradient(s));
      samples += computer.samples(s);
    }
    assertEquals(BATCH, samples);
    sum.divideInPlace(samples);
    return sum;
  }
}
