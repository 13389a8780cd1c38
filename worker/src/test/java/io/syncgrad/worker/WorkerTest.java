package io.syncgrad.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import io.syncgrad.common.data.Dataset;
import io.syncgrad.common.data.Normalization;
import io.syncgrad.common.math.EjmlKernel;
import io.syncgrad.common.model.Activation;
import io.syncgrad.common.model.Initializer;
import io.syncgrad.common.model.LossFunction;
import io.syncgrad.common.model.ModelSpec;
import io.syncgrad.common.model.OutputActivation;
import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.optim.Optimizer;
import io.syncgrad.common.protocol.CoordinatorProtocol;
import io.syncgrad.common.protocol.CoordinatorProtocol.PrefixComputed;
import io.syncgrad.common.protocol.CoordinatorProtocol.ShardComputed;
import io.syncgrad.common.protocol.CoordinatorProtocol.WorkerFailed;
import io.syncgrad.common.protocol.CoordinatorProtocol.WorkerReady;
import io.syncgrad.common.protocol.DataSpec;
import io.syncgrad.common.protocol.WorkerProtocol;
import io.syncgrad.common.testing.Fixtures;
import io.syncgrad.common.train.ShardComputer;
import io.syncgrad.common.train.ShardFold;
import io.syncgrad.common.train.TrainingConfig;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The worker against a probe in the coordinator's place. */
class WorkerTest {

  private static final ActorTestKit testKit = ActorTestKit.create();
  private static final long SEED = 3;
  private static final ModelSpec MODEL = Fixtures.model(6, List.of(5), 3, Activation.TANH, OutputActivation.SOFTMAX,
      LossFunction.CROSS_ENTROPY, 0.2f);
  private static final Dataset DATA = Fixtures.randomData(64, 6, 3, SEED);
  private static final TrainingConfig CONFIG = withFingerprint(Fixtures.config(SEED, 16, 4, Optimizer.Kind.SGD, 0.1,
      DATA.size()), DATA.fingerprint());
  private static final Normalization IDENTITY = Normalization.fit(Normalization.Kind.NONE, DATA);
  private static final DataSpec SPEC = new DataSpec("test-data", null, 0, "0", SEED);

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @Test
  void registersComputesItsShardsAndStops() {
    TestProbe<CoordinatorProtocol.Command> coordinator = testKit.createTestProbe();
    testKit.system().receptionist().tell(
        akka.actor.typed.receptionist.Receptionist.register(CoordinatorProtocol.SERVICE_KEY, coordinator.getRef()));
    ActorRef<WorkerProtocol.Command> worker = testKit.spawn(Worker.create("w1", EjmlKernel.INSTANCE, d -> copy(DATA)));

    CoordinatorProtocol.RegisterWorker reg = coordinator.expectMessageClass(CoordinatorProtocol.RegisterWorker.class);
    assertEquals(new CoordinatorProtocol.RegisterWorker("w1", worker, EjmlKernel.INSTANCE.identity(), 1), reg);

    worker.tell(new WorkerProtocol.StartRun("run-1", MODEL, CONFIG, IDENTITY, SPEC, coordinator.getRef()));
    coordinator.expectMessage(new WorkerReady("run-1", "w1"));

    Parameters weights = Parameters.zeros(MODEL);
    Initializer.XAVIER.initialize(MODEL, SEED, weights);
    worker.tell(new WorkerProtocol.ComputeStep("run-1", 1, 5, List.of(1, 3), weights));
    ShardComputer reference = new ShardComputer(MODEL, CONFIG, copy(DATA), EjmlKernel.INSTANCE);
    reference.prepare(5);
    for (int shard : List.of(1, 3)) {
      ShardComputed r = coordinator.expectMessageClass(ShardComputed.class);
      reference.compute(weights, 5, shard);
      assertEquals(List.of("run-1", 1L, 5L, shard, 4, "w1"),
          List.of(r.runId(), r.generation(), r.step(), r.shard(), r.samples(), r.workerId()));
      assertEquals(reference.gradient(shard).sha256Hex(), r.gradient().sha256Hex(), "bit-exact shard " + shard);
      assertEquals(reference.lossSum(shard), r.lossSum());
    }

    // Another run, or weights of another model: refused without an answer.
    worker.tell(new WorkerProtocol.ComputeStep("run-2", 1, 6, List.of(0), weights));
    worker.tell(new WorkerProtocol.ComputeStep("run-1", 1, 6, List.of(0), Parameters.zeros(
        Fixtures.model(6, List.of(4), 3, Activation.TANH, OutputActivation.SOFTMAX, LossFunction.CROSS_ENTROPY, 0f))));
    coordinator.expectNoMessage(Duration.ofMillis(200));

    TestProbe<Void> watcher = testKit.createTestProbe();
    worker.tell(new WorkerProtocol.StopRun("run-1", "finished"));
    watcher.expectTerminated(worker);
  }

  /**
   * A folded step: the worker adds its shards onto the prefix it is handed (after its step, or
   * before it when the step was delayed) and sends the longer prefix, with the bytes of adding
   * every shard in order in one place.
   */
  @Test
  void addsItsShardsOntoThePrefixItIsHanded() {
    TestProbe<CoordinatorProtocol.Command> coordinator = testKit.createTestProbe();
    ActorRef<WorkerProtocol.Command> worker = testKit.spawn(Worker.create("w4", EjmlKernel.INSTANCE, d -> copy(DATA)));
    worker.tell(new WorkerProtocol.StartRun("run-1", MODEL, CONFIG, IDENTITY, SPEC, coordinator.getRef()));
    coordinator.expectMessage(new WorkerReady("run-1", "w4"));
    Parameters weights = Parameters.zeros(MODEL);
    Initializer.XAVIER.initialize(MODEL, SEED, weights);
    ShardComputer reference = new ShardComputer(MODEL, CONFIG, copy(DATA), EjmlKernel.INSTANCE);
    reference.prepare(5);
    ShardFold all = new ShardFold(weights);
    for (int shard = 0; shard < 4; shard++) {
      reference.compute(weights, 5, shard);
      all.add(shard, reference.gradient(shard), reference.lossSum(shard), reference.samples(shard));
      if (shard == 1) {
        // Shards 0..1 alone: answered at once, nothing to wait for.
        worker.tell(new WorkerProtocol.ComputeStep("run-1", 1, 5, List.of(0, 1), weights, true));
        PrefixComputed first = coordinator.expectMessageClass(PrefixComputed.class);
        assertEquals(List.of(1, 8L, "w4"), List.of(first.through(), first.samples(), first.workerId()));
        assertEquals(all.sum().sha256Hex(), first.prefix().sha256Hex());
      }
    }
    ShardFold head = new ShardFold(weights);
    for (int shard = 0; shard < 2; shard++) {
      head.add(shard, reference.gradient(shard), reference.lossSum(shard), reference.samples(shard));
    }
    WorkerProtocol.FoldPrefix prefix = new WorkerProtocol.FoldPrefix("run-1", 1, 5, 1, head.sum().copy(),
        head.lossSum(), head.samples());
    for (boolean prefixFirst : new boolean[] {false, true}) {
      WorkerProtocol.ComputeStep tail = new WorkerProtocol.ComputeStep("run-1", 1, 5, List.of(2, 3), weights, true);
      WorkerProtocol.FoldPrefix copy = new WorkerProtocol.FoldPrefix("run-1", 1, 5, 1, prefix.prefix().copy(),
          prefix.lossSum(), prefix.samples());
      if (prefixFirst) {
        worker.tell(copy);
        worker.tell(tail);
      } else {
        worker.tell(tail);
        coordinator.expectNoMessage(Duration.ofMillis(100));
        worker.tell(copy);
      }
      PrefixComputed sum = coordinator.expectMessageClass(PrefixComputed.class);
      assertEquals(List.of(3, 16L), List.of(sum.through(), sum.samples()));
      assertEquals(all.sum().sha256Hex(), sum.prefix().sha256Hex(), "bit-exact, prefix first: " + prefixFirst);
      assertEquals(all.lossSum(), sum.lossSum());
    }
  }

  @Test
  void refusesDataThatIsNotTheCoordinators() {
    TestProbe<CoordinatorProtocol.Command> coordinator = testKit.createTestProbe();
    Dataset other = Fixtures.randomData(64, 6, 3, SEED + 1);
    ActorRef<WorkerProtocol.Command> worker = testKit.spawn(Worker.create("w2", EjmlKernel.INSTANCE, d -> other));
    worker.tell(new WorkerProtocol.StartRun("run-1", MODEL, CONFIG, IDENTITY, SPEC, coordinator.getRef()));
    WorkerFailed failed = coordinator.expectMessageClass(WorkerFailed.class);
    assertEquals("w2", failed.workerId());
    assertEquals(true, failed.reason().contains("not the coordinator's data"), failed.reason());
  }

  private static Dataset copy(Dataset d) {
    return new Dataset(d.source(), d.features().clone(), d.labels().clone(), d.size(), d.width(), d.byteValued());
  }

  private static TrainingConfig withFingerprint(TrainingConfig c, String fingerprint) {
    return new TrainingConfig(c.seed(), c.batchSize(), c.shards(), c.optimizer(), c.momentum(), c.beta1(), c.beta2(),
        c.epsilon(), c.l1(), c.l2(), c.clipNorm(), c.schedule(), c.init(), c.trainExamples(), fingerprint);
  }

  @Test
  void assemblesShippedDataWithoutReadingAnything() {
    TestProbe<CoordinatorProtocol.Command> coordinator = testKit.createTestProbe();
    ActorRef<WorkerProtocol.Command> worker = testKit.spawn(Worker.create("w3", EjmlKernel.INSTANCE, d -> {
      throw new AssertionError("a worker with shipped data reads nothing");
    }));
    Dataset shipped = copy(DATA);
    worker.tell(new WorkerProtocol.StartRun("run-9", MODEL, CONFIG, IDENTITY, SPEC, coordinator.getRef(),
        shipped.fingerprint()));
    // Three chunks, out of order.
    int[][] ranges = {{40, 64}, {0, 20}, {20, 40}};
    for (int i = 0; i < ranges.length; i++) {
      int from = ranges[i][0];
      int to = ranges[i][1];
      worker.tell(new WorkerProtocol.DataChunk("run-9", i, ranges.length, from, 6,
          java.util.Arrays.copyOfRange(shipped.features(), from * 6, to * 6),
          java.util.Arrays.copyOfRange(shipped.labels(), from, to)));
    }
    coordinator.expectMessage(new WorkerReady("run-9", "w3"));

    Parameters weights = Parameters.zeros(MODEL);
    Initializer.XAVIER.initialize(MODEL, SEED, weights);
    worker.tell(new WorkerProtocol.ComputeStep("run-9", 1, 2, List.of(0), weights));
    ShardComputer reference = new ShardComputer(MODEL, CONFIG, copy(DATA), EjmlKernel.INSTANCE);
    reference.prepare(2);
    reference.compute(weights, 2, 0);
    assertEquals(reference.gradient(0).sha256Hex(), coordinator.expectMessageClass(ShardComputed.class).gradient()
        .sha256Hex());
  }
}
