package io.syncgrad.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import io.syncgrad.common.math.EjmlKernel;
import io.syncgrad.common.protocol.CoordinatorProtocol;
import io.syncgrad.common.protocol.CoordinatorProtocol.PrefixComputed;
import io.syncgrad.common.protocol.CoordinatorProtocol.RegisterWorker;
import io.syncgrad.common.protocol.CoordinatorProtocol.WorkerReady;
import io.syncgrad.common.protocol.DataSpec;
import io.syncgrad.common.protocol.WorkerProtocol;
import io.syncgrad.common.protocol.WorkerProtocol.ComputeStep;
import io.syncgrad.common.testing.Fixtures;
import io.syncgrad.common.train.LocalTraining;
import io.syncgrad.common.train.RunSummary;
import io.syncgrad.common.train.ShardComputer;
import io.syncgrad.common.train.TrainingListener;
import io.syncgrad.common.train.TrainingRun;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The coordinator against probes in the workers' places, which compute real shards. */
class CoordinatorTest {

  private static final ActorTestKit testKit = ActorTestKit.create();
  private static final int STEPS = 6;
  private static final String KERNEL = EjmlKernel.INSTANCE.identity();

  @TempDir
  static Path dir;
  static Path data;

  @BeforeAll
  static void sample() throws IOException {
    data = Fixtures.sampleFolder(dir.resolve("sample"));
  }

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private static Map<String, Object> flags(String out) {
    return Fixtures.flags(data, dir.resolve(out), "layers", "16", "shards", "4", "max-steps", String.valueOf(STEPS));
  }

  @Test
  void drivesTheStepsAndGivesTheOneNodeBytes() throws Exception {
    Map<String, Object> flags = flags("cluster");
    TrainingRun run = TrainingRun.prepare(Fixtures.settings(flags), flags.keySet(), EjmlKernel.INSTANCE,
        new TrainingListener() {});
    CompletableFuture<RunSummary> result = new CompletableFuture<>();
    ActorRef<CoordinatorProtocol.Command> coordinator = testKit.spawn(Coordinator.create(run,
        new CoordinatorSettings(2, new DataSpec(data.toString(), null, 0, "0", 1), false), result));
    TestProbe<WorkerProtocol.Command> a = testKit.createTestProbe();
    TestProbe<WorkerProtocol.Command> b = testKit.createTestProbe();
    TestProbe<WorkerProtocol.Command> odd = testKit.createTestProbe();
    coordinator.tell(new RegisterWorker("a", a.getRef(), KERNEL, 1));
    coordinator.tell(new RegisterWorker("odd", odd.getRef(), "another-kernel", 1));
    coordinator.tell(new RegisterWorker("b", b.getRef(), KERNEL, 1));
    assertTrue(odd.expectMessageClass(WorkerProtocol.StopRun.class).reason().startsWith("refused: its kernel"));

    String runId = a.expectMessageClass(WorkerProtocol.StartRun.class).runId();
    b.expectMessageClass(WorkerProtocol.StartRun.class);
    coordinator.tell(new WorkerReady(runId, "a"));
    coordinator.tell(new WorkerReady(runId, "b"));

    ShardComputer computer = new ShardComputer(run.state().model(), run.state().config(), run.train(),
        EjmlKernel.INSTANCE);
    for (int step = 0; step < STEPS; step++) {
      ComputeStep forA = a.expectMessageClass(ComputeStep.class);
      ComputeStep forB = b.expectMessageClass(ComputeStep.class);
      assertEquals(List.of(0, 1), forA.shards());
      assertEquals(List.of(2, 3), forB.shards());
      assertTrue(forA.fold() && forB.fold(), "each worker adds up its block");
      assertEquals(step, forA.step());
      // "a" sends the sum of shards 0..1, the coordinator hands it to "b", which adds 2..3 to it.
      // In step 2, a duplicate and a stale copy of a's sum follow it.
      PrefixComputed fromA = ProbeWorkers.answer(coordinator, computer, runId, forA, "a", a);
      if (step == 2) {
        coordinator.tell(fromA);
        coordinator.tell(new PrefixComputed(runId, fromA.generation(), fromA.step() - 1, fromA.through(),
            fromA.prefix(), fromA.lossSum(), fromA.samples(), "a", 1000));
      }
      ProbeWorkers.answer(coordinator, computer, runId, forB, "b", b);
    }
    a.expectMessageClass(WorkerProtocol.StopRun.class);
    b.expectMessageClass(WorkerProtocol.StopRun.class);
    RunSummary summary = result.get(30, TimeUnit.SECONDS);
    run.close();

    Map<String, Object> local = flags("local");
    RunSummary reference = LocalTraining.run(Fixtures.settings(local), local.keySet(), EjmlKernel.INSTANCE,
        new TrainingListener() {});
    assertEquals(reference.weightsSha256(), summary.weightsSha256());
    assertEquals(2, summary.workers());
    assertEquals(1L, summary.faults().get("duplicates_rejected"));
    assertEquals(1L, summary.faults().get("stale_rejected"));
  }

  @Test
  void aWorkerThatCannotJoinEndsTheRunWithItsReason() throws Exception {
    Map<String, Object> flags = flags("failing");
    TrainingRun run = TrainingRun.prepare(Fixtures.settings(flags), flags.keySet(), EjmlKernel.INSTANCE,
        new TrainingListener() {});
    CompletableFuture<RunSummary> result = new CompletableFuture<>();
    ActorRef<CoordinatorProtocol.Command> coordinator = testKit.spawn(Coordinator.create(run,
        new CoordinatorSettings(1, new DataSpec(data.toString(), null, 0, "0", 1), false), result));
    TestProbe<WorkerProtocol.Command> a = testKit.createTestProbe();
    coordinator.tell(new RegisterWorker("a", a.getRef(), KERNEL, 1));
    String runId = a.expectMessageClass(WorkerProtocol.StartRun.class).runId();
    coordinator.tell(new CoordinatorProtocol.WorkerFailed(runId, "a", "/data/x: not the coordinator's data"));
    a.expectMessageClass(WorkerProtocol.StopRun.class);
    java.util.concurrent.ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(
        java.util.concurrent.ExecutionException.class, () -> result.get(10, TimeUnit.SECONDS));
    assertEquals("/data/x: not the coordinator's data", e.getCause().getMessage());
    run.close();
  }

  @Test
  void belowMinWorkersItWaitsAndANewWorkerFinishesTheRun() throws Exception {
    ProbeWorkers.TwoProbes t = ProbeWorkers.start(testKit, flags("min-workers"),
        new CoordinatorSettings(2, new DataSpec(data.toString(), null, 0, "0", 1), false, null,
            MessageFaults.NONE, List.of(), false, List.of(), 2, java.time.Duration.ofMinutes(1)), "a", "b", KERNEL);
    TestProbe<WorkerProtocol.Command> a = t.first();
    TestProbe<WorkerProtocol.Command> b = t.second();
    ActorRef<CoordinatorProtocol.Command> coordinator = t.coordinator();
    String runId = t.runId();

    // Step 0 as usual; then "b" dies with step 1 owed.
    t.answer(a.expectMessageClass(ComputeStep.class), "a", a);
    t.answer(b.expectMessageClass(ComputeStep.class), "b", b);
    ComputeStep stepOneForA = a.expectMessageClass(ComputeStep.class);
    b.expectMessageClass(ComputeStep.class);
    b.stop();
    t.answer(stepOneForA, "a", a);
    // One worker left of the two needed: nothing more is asked until another is ready.
    a.expectNoMessage(java.time.Duration.ofMillis(300));

    TestProbe<WorkerProtocol.Command> c = testKit.createTestProbe();
    coordinator.tell(new RegisterWorker("c", c.getRef(), KERNEL, 1));
    c.expectMessageClass(WorkerProtocol.StartRun.class);
    coordinator.tell(new WorkerReady(runId, "c"));
    // The shards "b" owed for step 1 go to the workers ready now; then steps go on with a and c.
    while (!t.result().isDone()) {
      ComputeStep forA = a.receiveMessage(java.time.Duration.ofSeconds(5)) instanceof ComputeStep cs ? cs : null;
      if (forA != null) {
        t.answer(forA, "a", a);
      }
      WorkerProtocol.Command m = c.receiveMessage(java.time.Duration.ofSeconds(5));
      if (m instanceof ComputeStep forC) {
        t.answer(forC, "c", c);
      }
      if (m instanceof WorkerProtocol.StopRun) {
        break;
      }
    }
    RunSummary summary = t.result().get(30, TimeUnit.SECONDS);
    t.run().close();
    Map<String, Object> local = flags("min-workers-local");
    assertEquals(LocalTraining.run(Fixtures.settings(local), local.keySet(), EjmlKernel.INSTANCE,
        new TrainingListener() {}).weightsSha256(), summary.weightsSha256());
    assertEquals(1L, summary.faults().get("workers_lost"));
  }
}
