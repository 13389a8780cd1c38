package io.syncgrad.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.syncgrad.common.error.UserException;
import io.syncgrad.deploy.cluster.FaultPlan;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class FaultPlanTest {

  @Test
  void parsesEveryKind() {
    FaultPlan p = FaultPlan.parse(List.of("kill-worker:2@50", "pause-worker:1@30:9000", "kill-coordinator@57",
        "drop:0.1", "duplicate:0.1", "delay:0.2:300", "partition:0@40:12000", "corrupt-worker:3@12"), 4, 9);
    assertEquals(List.of(new io.syncgrad.coordinator.CoordinatorSettings.Partition(0, 40, Duration.ofMillis(12000))),
        p.partitions());
    assertEquals(List.of(
        new FaultPlan.ProcessFault(FaultPlan.Kind.KILL_WORKER, 2, 50, Duration.ZERO),
        new FaultPlan.ProcessFault(FaultPlan.Kind.PAUSE_WORKER, 1, 30, Duration.ofMillis(9000)),
        new FaultPlan.ProcessFault(FaultPlan.Kind.KILL_COORDINATOR, -1, 57, Duration.ZERO),
        new FaultPlan.ProcessFault(FaultPlan.Kind.PARTITION, 0, 40, Duration.ofMillis(12000)),
        new FaultPlan.ProcessFault(FaultPlan.Kind.CORRUPT_WORKER, 3, 12, Duration.ZERO)), p.processFaults());
    assertEquals(List.of(new io.syncgrad.coordinator.CoordinatorSettings.Corruption(3, 12)), p.corruptions());
    assertEquals(List.of(50L, 30L, 57L, 12L), p.processFaultSteps());
    assertEquals(0.1, p.messages().drop());
    assertEquals(0.2, p.messages().delay());
    assertEquals(Duration.ofMillis(300), p.messages().maxDelay());
    assertEquals(9, p.messages().seed());
  }

  @Test
  void reportsEveryBadSpec() {
    UserException e = assertThrows(UserException.class,
        () -> FaultPlan.parse(List.of("kill-worker:4@1", "drop:1.5", "explode"), 4, 0));
    assertEquals(List.of(
        "--fault kill-worker:4@1: worker 4 does not exist (workers 0..3)",
        "--fault drop:1.5: the probability must be in [0, 1], got 1.5",
        "--fault explode: expected kill-worker:W@S, pause-worker:W@S:MS, kill-coordinator@S, partition:W@S:MS, "
            + "corrupt-worker:W@S, drop:P, duplicate:P or delay:P:MS"), e.problems());
  }
}
