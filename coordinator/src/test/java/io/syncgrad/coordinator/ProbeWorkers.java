package io.syncgrad.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.typed.ActorRef;
import akka.actor.testkit.typed.javadsl.TestProbe;
import io.syncgrad.common.math.EjmlKernel;
import io.syncgrad.common.protocol.CoordinatorProtocol;
import io.syncgrad.common.protocol.WorkerProtocol;
import io.syncgrad.common.protocol.CoordinatorProtocol.PrefixComputed;
import io.syncgrad.common.protocol.CoordinatorProtocol.ShardComputed;
import io.syncgrad.common.protocol.WorkerProtocol.ComputeStep;
import io.syncgrad.common.protocol.WorkerProtocol.FoldPrefix;
import io.syncgrad.common.testing.Fixtures;
import io.syncgrad.common.train.RunSummary;
import io.syncgrad.common.train.ShardComputer;
import io.syncgrad.common.train.ShardFold;
import io.syncgrad.common.train.TrainingListener;
import io.syncgrad.common.train.TrainingRun;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/** Plays a worker's part for probes: computes the shards a step asks for and answers them as a worker does. */
final class ProbeWorkers {

  private ProbeWorkers() {}

  /** A coordinator under test with two probe workers that joined its run. */
  record TwoProbes(TrainingRun run, CompletableFuture<RunSummary> result,
      ActorRef<CoordinatorProtocol.Command> coordinator, TestProbe<WorkerProtocol.Command> first,
      TestProbe<WorkerProtocol.Command> second, String runId, ShardComputer computer) {

    /** Answers {@code cs} as the named probe. */
    PrefixComputed answer(ComputeStep cs, String worker, TestProbe<WorkerProtocol.Command> probe) {
      return ProbeWorkers.answer(coordinator, computer, runId, cs, worker, probe);
    }
  }

  /** Prepares a run from {@code flags}, spawns its coordinator, and joins two probes under these names. */
  static TwoProbes start(ActorTestKit testKit, Map<String, Object> flags, CoordinatorSettings settings,
      String firstName, String secondName, String kernel) throws IOException {
    TrainingRun run = TrainingRun.prepare(Fixtures.settings(flags), flags.keySet(), EjmlKernel.INSTANCE,
        new TrainingListener() {});
    CompletableFuture<RunSummary> result = new CompletableFuture<>();
    ActorRef<CoordinatorProtocol.Command> coordinator = testKit.spawn(Coordinator.create(run, settings, result));
    TestProbe<WorkerProtocol.Command> first = testKit.createTestProbe();
    TestProbe<WorkerProtocol.Command> second = testKit.createTestProbe();
    String runId = join(coordinator, kernel, Map.entry(firstName, first), Map.entry(secondName, second));
    ShardComputer computer = new ShardComputer(run.state().model(), run.state().config(), run.train(),
        EjmlKernel.INSTANCE);
    return new TwoProbes(run, result, coordinator, first, second, runId, computer);
  }

  /**
   * Registers each probe under its name, expects its {@code StartRun}, reports it ready, and
   * returns the run's id.
   */
  @SafeVarargs
  static String join(ActorRef<CoordinatorProtocol.Command> coordinator, String kernel,
      Map.Entry<String, TestProbe<WorkerProtocol.Command>>... workers) {
    for (var w : workers) {
      coordinator.tell(new CoordinatorProtocol.RegisterWorker(w.getKey(), w.getValue().getRef(), kernel, 1));
    }
    String runId = null;
    for (var w : workers) {
      runId = w.getValue().expectMessageClass(WorkerProtocol.StartRun.class).runId();
    }
    for (var w : workers) {
      coordinator.tell(new CoordinatorProtocol.WorkerReady(runId, w.getKey()));
    }
    return runId;
  }

  /**
   * Answers {@code cs} as a worker does: one result per shard, or, for a folded step, one prefix,
   * continuing the prefix the coordinator sent {@code probe} when the shards do not start at 0.
   *
   * @return the prefix sent, or null for a step answered shard by shard
   */
  static PrefixComputed answer(ActorRef<CoordinatorProtocol.Command> coordinator, ShardComputer computer,
      String runId, ComputeStep cs, String worker, TestProbe<WorkerProtocol.Command> probe) {
    computer.prepare(cs.step());
    for (int shard : cs.shards()) {
      computer.compute(cs.weights(), cs.step(), shard);
      if (!cs.fold()) {
        coordinator.tell(new ShardComputed(runId, cs.generation(), cs.step(), shard, computer.gradient(shard).copy(),
            computer.samples(shard), computer.lossSum(shard), worker, 1000));
      }
    }
    if (!cs.fold()) {
      return null;
    }
    ShardFold fold = new ShardFold(cs.weights());
    int first = cs.shards().get(0);
    if (first > 0) {
      FoldPrefix before = probe.expectMessageClass(FoldPrefix.class);
      assertEquals(first - 1, before.through(), "the prefix ends where this worker's shards begin");
      fold.resume(before.through(), before.prefix().copy(), before.lossSum(), before.samples());
    }
    for (int shard : cs.shards()) {
      fold.add(shard, computer.gradient(shard), computer.lossSum(shard), computer.samples(shard));
    }
    PrefixComputed prefix = new PrefixComputed(runId, cs.generation(), cs.step(), cs.shards().get(cs.shards().size() - 1),
        fold.sum().copy(), fold.lossSum(), fold.samples(), worker, 1000);
    coordinator.tell(prefix);
    return prefix;
  }
}
