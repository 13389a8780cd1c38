package io.syncgrad.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.syncgrad.common.protocol.CoordinatorProtocol.StepReport;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The record of steps: the window, the snapshot steps that hold the workers, the order of records. */
class RunProgressTest {

  private static final int WINDOW = 2;

  private static StepReport report(long step) {
    return report(step, 20);
  }

  private static StepReport report(long step, long nanos) {
    return new StepReport("run", 1, step, "w", 1.0, 8, 0.5, 10, nanos, 0, 0, 0, 0, 0, 0, List.of(), "", "");
  }

  @Test
  void workersRunAheadByTheWindowButNeverPastASnapshotStep() {
    // 100 steps, a checkpoint every 10, epochs of 30 steps.
    RunProgress p = new RunProgress(0, 100, 10, 30, WINDOW);
    assertEquals(2, p.credit());
    assertEquals(10, p.snapshotStep());
    for (long n = 1; n <= 9; n++) {
      p.recorded(report(n));
    }
    assertEquals(10, p.credit(), "the checkpoint step holds them: its state must be here first");
    p.recorded(report(10));
    assertEquals(12, p.credit());
    assertEquals(20, p.snapshotStep());
    assertTrue(p.snapshotDue(30));
    assertTrue(p.snapshotDue(100), "the last step");
    assertFalse(p.snapshotDue(31));
  }

  @Test
  void aScriptedFaultsStepHoldsTheWorkersUntilItIsRecorded() {
    // A window of 8; faults scripted after steps 5 and 30; epochs of 1000 steps.
    RunProgress p = new RunProgress(0, 100, 0, 1000, 8, List.of(5L, 30L));
    assertEquals(5, p.holdStep());
    assertEquals(5, p.credit(), "the fault lands after step 5, not where the window ends");
    assertEquals(5, p.grant(), "handed out at once: the workers wait for it there");
    for (long n = 1; n <= 5; n++) {
      p.recorded(report(n));
    }
    assertEquals(13, p.credit(), "past the fault: the window again");
    for (long n = 6; n <= 25; n++) {
      p.recorded(report(n));
    }
    assertEquals(30, p.credit());
    assertEquals(30, p.holdStep());
    p.recorded(report(26));
    assertEquals(30, p.credit());
  }

  @Test
  void theLastStepIsTheLastCredit() {
    RunProgress p = new RunProgress(0, 3, 0, 1000, WINDOW);
    p.recorded(report(1));
    p.recorded(report(2));
    assertEquals(3, p.credit());
    assertEquals(3, p.grant());
    assertEquals(-1, p.grant(), "nothing new to hand out");
    p.recorded(report(3));
    assertTrue(p.done());
  }

  @Test
  void reportsAreRecordedInStepOrderWhateverOrderTheyCome() {
    RunProgress p = new RunProgress(5, 100, 0, 1000, WINDOW);
    assertTrue(p.offer(report(7)));
    assertNull(p.next(), "step 6 first");
    assertTrue(p.offer(report(6)));
    assertEquals(6, p.next().step());
    p.recorded(p.next());
    assertEquals(7, p.next().step());
    p.recorded(p.next());
    assertFalse(p.offer(report(7)), "a step recorded already");
    assertNull(p.next());
  }

  @Test
  void theDeadlineFollowsRecentSteps() {
    RunProgress p = new RunProgress(0, 100, 0, 1000, WINDOW);
    assertEquals(Duration.ofSeconds(10), p.adaptiveDeadline(), "before there are steps to go by");
    for (long n = 1; n <= 6; n++) {
      p.recorded(report(n));
    }
    assertEquals(Duration.ofMillis(250), p.adaptiveDeadline(), "fast steps: the floor");
    for (long n = 7; n <= 40; n++) {
      p.recorded(report(n, Duration.ofSeconds(1).toNanos()));
    }
    assertEquals(Duration.ofSeconds(3), p.adaptiveDeadline(), "three times the steps the workers measured");
  }
}
