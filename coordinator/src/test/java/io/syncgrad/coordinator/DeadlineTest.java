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
import io.syncgrad.common.train.TrainingListener;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
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
    return flags(out, STEPS);
  }

  private static Map<String, Object> flags(String out, int steps) {
    return Fixtures.flags(data, dir.resolve(out), "layers", "16", "shards", "4", "max-steps", String.valueOf(steps));
  }

  /**
   * A worker whose step message was lost never answers; it sits out, then is asked again, and
   * answers: the cluster gets its capacity back, and the bytes are those of one node.
   */
  @Test
  void aSilentWorkerIsAskedAgainAfterSittingOut() throws Exception {
    int steps = Coordinator.SIT_OUT_STEPS + 3;
    ProbeWorkers.TwoProbes t = ProbeWorkers.start(testKit, flags("sit-out", steps),
        new CoordinatorSettings(2, new DataSpec(data.toString(), null, 0, "0", 1), false, STEP_TIMEOUT), "a",
        "silent", KERNEL);
    TestProbe<WorkerProtocol.Command> a = t.first();
    TestProbe<WorkerProtocol.Command> silent = t.second();

    // Step 0: "silent" gets its shards and the sum before them, and says nothing.
    t.answer(a.expectMessageClass(ComputeStep.class), "a", a);
    silent.expectMessageClass(ComputeStep.class);
    silent.expectMessageClass(WorkerProtocol.FoldPrefix.class);
    manualTime.timePasses(STEP_TIMEOUT);
    t.answer(a.expectMessageClass(ComputeStep.class), "a", a);
    // Then "a" alone, until "silent" is asked again.
    long askedAgain = -1;
    for (long step = 1; step < steps; step++) {
      ComputeStep forA = a.expectMessageClass(ComputeStep.class);
      if (forA.shards().size() < 4) {
        askedAgain = askedAgain < 0 ? step : askedAgain;
        t.answer(forA, "a", a);
        t.answer(silent.expectMessageClass(ComputeStep.class), "silent",
            silent);
      } else {
        t.answer(forA, "a", a);
      }
    }
    RunSummary summary = t.result().get(30, TimeUnit.SECONDS);
    t.run().close();
    assertEquals(Coordinator.SIT_OUT_STEPS, askedAgain, "asked again after sitting out");
    Map<String, Object> local = flags("sit-out-local", steps);
    assertEquals(LocalTraining.run(Fixtures.settings(local), local.keySet(), EjmlKernel.INSTANCE,
        new TrainingListener() {}).weightsSha256(), summary.weightsSha256());
  }

  @Test
  void aLateWorkersShardsAreRecomputedElsewhereAndItsResultsRejected() throws Exception {
    ProbeWorkers.TwoProbes t = ProbeWorkers.start(testKit, flags("deadline"),
        new CoordinatorSettings(2, new DataSpec(data.toString(), null, 0, "0", 1), false, STEP_TIMEOUT), "a", "slow",
        KERNEL);
    TestProbe<WorkerProtocol.Command> a = t.first();
    TestProbe<WorkerProtocol.Command> slow = t.second();
    ActorRef<CoordinatorProtocol.Command> coordinator = t.coordinator();

    // Step 0: "a" sends the sum of its shards, "slow" says nothing. Before the deadline nothing is
    // reassigned; after it, "a" gets slow's shards, one result each, under generation 2.
    ComputeStep first = a.expectMessageClass(ComputeStep.class);
    ComputeStep owedBySlow = slow.expectMessageClass(ComputeStep.class);
    t.answer(first, "a", a);
    manualTime.expectNoMessageFor(STEP_TIMEOUT.minusMillis(1), a);
    manualTime.timePasses(Duration.ofMillis(1));
    ComputeStep reassigned = a.expectMessageClass(ComputeStep.class);
    assertEquals(List.of(0L, 2L, owedBySlow.shards()), List.of(reassigned.step(), reassigned.generation(),
        reassigned.shards()));
    t.answer(reassigned, "a", a);
    // The late worker's sum arrives after all: stale, rejected.
    t.answer(owedBySlow, "slow", slow);

    // Step 1 was assigned while "slow" was still suspended: "a" computes every shard.
    ComputeStep alone = a.expectMessageClass(ComputeStep.class);
    assertEquals(List.of(0, 1, 2, 3), alone.shards());
    slow.expectNoMessage(Duration.ofMillis(100));
    t.answer(alone, "a", a);
    // Step 2: "slow" answered again (late), so it has shards again.
    ComputeStep forA = a.expectMessageClass(ComputeStep.class);
    ComputeStep forSlow = slow.expectMessageClass(ComputeStep.class);
    assertEquals(List.of(List.of(0, 1), List.of(2, 3)), List.of(forA.shards(), forSlow.shards()));
    t.answer(forA, "a", a);
    t.answer(forSlow, "slow", slow);
    RunSummary summary = t.result().get(30, TimeUnit.SECONDS);
    t.run().close();

    Map<String, Object> local = flags("deadline-local");
    String reference = LocalTraining.run(Fixtures.settings(local), local.keySet(), EjmlKernel.INSTANCE,
        new TrainingListener() {}).weightsSha256();
    assertEquals(reference, summary.weightsSha256());
    assertEquals(2L, summary.faults().get("shards_reassigned"));
    assertEquals(1L, summary.faults().get("stale_rejected"));
  }

}
