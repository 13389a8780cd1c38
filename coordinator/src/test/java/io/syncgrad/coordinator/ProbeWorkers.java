package io.syncgrad.coordinator;

import akka.actor.typed.ActorRef;
import akka.actor.testkit.typed.javadsl.TestProbe;
import io.syncgrad.common.protocol.CoordinatorProtocol;
import io.syncgrad.common.protocol.WorkerProtocol;
import io.syncgrad.common.protocol.CoordinatorProtocol.ShardComputed;
import io.syncgrad.common.protocol.WorkerProtocol.ComputeStep;
import io.syncgrad.common.train.ShardComputer;

/** Plays a worker's part for probes: computes the shards a step asks for and answers them. */
final class ProbeWorkers {

  private ProbeWorkers() {}

  /**
   * Registers each probe under its name, expects its {@code StartRun}, reports it ready, and
   * returns the run's id.
   */
  @SafeVarargs
  static String join(ActorRef<CoordinatorProtocol.Command> coordinator, String kernel,
      java.util.Map.Entry<String, TestProbe<WorkerProtocol.Command>>... workers) {
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

  /** Computes every shard of {@code cs} with {@code computer} and sends the results as {@code worker}. */
  static void answer(ActorRef<CoordinatorProtocol.Command> coordinator, ShardComputer computer, String runId,
      ComputeStep cs, String worker) {
    computer.prepare(cs.step());
    for (int shard : cs.shards()) {
      computer.compute(cs.weights(), cs.step(), shard);
      coordinator.tell(new ShardComputed(runId, cs.generation(), cs.step(), shard, computer.gradient(shard).copy(),
          computer.samples(shard), computer.lossSum(shard), worker, 1000));
    }
  }
}
