package io.syncgrad.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.ManualTime;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import io.syncgrad.common.math.EjmlKernel;
import io.syncgrad.common.protocol.CoordinatorProtocol;
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
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The step deadline, on manual time: a silent worker's shards go to another within the step. */
class DeadlineTest {

  private static final ActorTestKit testKit = ActorTestKit.create(ManualTime.config());
  private static final ManualTime manualTime = ManualTime.get(testKit.system());
  private static final Duration STEP_TIMEOUT = Duration.ofSeconds(10);
  private static final int STEPS = 3;
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
  void aLateWorkersShardsAreRecomputedElsewhereAndItsResultsRejected() throws Exception {
    Map<String, Object> flags = flags("deadline");
    TrainingRun run = TrainingRun.prepare(Fixtures.settings(flags), flags.keySet(), EjmlKernel.INSTANCE,
        new TrainingListener() {});
    CompletableFuture<RunSummary> result = new CompletableFuture<>();
    ActorRef<CoordinatorProtocol.Command> coordinator = testKit.spawn(Coordinator.create(run,
        new CoordinatorSettings(2, new DataSpec(data.toString(), null, 0, "0", 1), false, STEP_TIMEOUT), result));
    TestProbe<WorkerProtocol.Command> a = testKit.createTestProbe();
    TestProbe<WorkerProtocol.Command> slow = testKit.createTestProbe();
    String runId = ProbeWorkers.join(coordinator, KERNEL, java.util.Map.entry("a", a),
        java.util.Map.entry("slow", slow));
    ShardComputer computer = new ShardComputer(run.state().model(), run.state().config(), run.train(),
        EjmlKernel.INSTANCE);

    // Step 0: "a" sends the sum of its shards, "slow" says nothing. Before the deadline nothing is
    // reassigned; after it, "a" gets slow's shards, one result each, under generation 2.
    ComputeStep first = a.expectMessageClass(ComputeStep.class);
    ComputeStep owedBySlow = slow.expectMessageClass(ComputeStep.class);
    ProbeWorkers.answer(coordinator, computer, runId, first, "a", a);
    manualTime.expectNoMessageFor(STEP_TIMEOUT.minusMillis(1), a);
    manualTime.timePasses(Duration.ofMillis(1));
    ComputeStep reassigned = a.expectMessageClass(ComputeStep.class);
    assertEquals(List.of(0L, 2L, owedBySlow.shards()), List.of(reassigned.step(), reassigned.generation(),
        reassigned.shards()));
    ProbeWorkers.answer(coordinator, computer, runId, reassigned, "a", a);
    // The late worker's sum arrives after all: stale, rejected.
    ProbeWorkers.answer(coordinator, computer, runId, owedBySlow, "slow", slow);

    // Step 1 was assigned while "slow" was still suspended: "a" computes every shard.
    ComputeStep alone = a.expectMessageClass(ComputeStep.class);
    assertEquals(List.of(0, 1, 2, 3), alone.shards());
    slow.expectNoMessage(Duration.ofMillis(100));
    ProbeWorkers.answer(coordinator, computer, runId, alone, "a", a);
    // Step 2: "slow" answered again (late), so it has shards again.
    ComputeStep forA = a.expectMessageClass(ComputeStep.class);
    ComputeStep forSlow = slow.expectMessageClass(ComputeStep.class);
    assertEquals(List.of(List.of(0, 1), List.of(2, 3)), List.of(forA.shards(), forSlow.shards()));
    ProbeWorkers.answer(coordinator, computer, runId, forA, "a", a);
    ProbeWorkers.answer(coordinator, computer, runId, forSlow, "slow", slow);
    RunSummary summary = result.get(30, TimeUnit.SECONDS);
    run.close();

    Map<String, Object> local = flags("deadline-local");
    String reference = LocalTraining.run(Fixtures.settings(local), local.keySet(), EjmlKernel.INSTANCE,
        new TrainingListener() {}).weightsSha256();
    assertEquals(reference, summary.weightsSha256());
    assertEquals(2L, summary.faults().get("shards_reassigned"));
    assertEquals(1L, summary.faults().get("stale_rejected"));
  }

}
