package io.syncgrad.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.syncgrad.common.protocol.CoordinatorProtocol.StepReport;
import java.util.List;
import org.junit.jupiter.api.Test;

/** When a worker's step reports go to the coordinator, and which are kept for a new generation. */
class StepReportingTest {

  private static final long MS = 1_000_000L;
  private static final int WINDOW = 32;
  private static final long LAST = 1000;

  private static StepReport report(long step) {
    return new StepReport("run", 1, step, "w", 1.0, 8, 0.5, 10, 20, 0, 0, 0, 0, 0, 0, List.of(), "", "");
  }

  private static List<Long> steps(List<StepReport> reports) {
    return reports.stream().map(StepReport::step).toList();
  }

  @Test
  void theFirstMemberSendsHalfAWindowAtATime() {
    StepReporting r = new StepReporting(WINDOW, 0);
    for (long s = 1; s < 16; s++) {
      assertEquals(List.of(), r.applied(report(s), true, 500, 100, LAST, s * MS), "step " + s);
    }
    assertEquals(16, r.applied(report(16), true, 500, 100, LAST, 16 * MS).size());
    assertEquals(List.of(), r.applied(report(17), true, 500, 100, LAST, 17 * MS));
  }

  @Test
  void slowStepsGoOneByOne() {
    StepReporting r = new StepReporting(WINDOW, 0);
    assertEquals(List.of(), r.applied(report(1), true, 500, 100, LAST, 30 * MS));
    assertEquals(List.of(1L, 2L), steps(r.applied(report(2), true, 500, 100, LAST, 60 * MS)),
        "50 ms after the last reports: well inside the coordinator's step deadline");
    assertEquals(List.of(3L), steps(r.applied(report(3), true, 500, 100, LAST, 120 * MS)));
  }

  @Test
  void theStepsTheWorkersWaitAtAreReportedAtOnce() {
    StepReporting r = new StepReporting(WINDOW, 0);
    assertEquals(List.of(), r.applied(report(1), true, 2, 100, LAST, MS));
    assertEquals(List.of(1L, 2L), steps(r.applied(report(2), true, 2, 100, LAST, 2 * MS)),
        "a step whose state the coordinator needs");
    assertEquals(List.of(3L), steps(r.applied(report(3), true, 500, 3, LAST, 3 * MS)),
        "the end of the credit (a fault's step ends it too)");
    assertEquals(List.of(4L), steps(r.applied(report(4), true, 500, 100, 4, 4 * MS)), "the last step");
  }

  @Test
  void theOtherMembersSendOneReportEverySixteenSteps() {
    StepReporting r = new StepReporting(WINDOW, 0);
    for (long s = 1; s < StepReporting.OTHERS_EVERY; s++) {
      assertEquals(List.of(), r.applied(report(s), false, 500, 100, LAST, s * 100 * MS));
    }
    assertEquals(List.of(16L), steps(r.applied(report(16), false, 500, 100, LAST, 1700 * MS)));
    r.applied(report(17), false, 500, 100, LAST, 1800 * MS);
    assertEquals(List.of(17L), steps(r.takePending()), "the latest one, when a generation ends");
  }

  @Test
  void aNewGenerationGetsTheReportsAfterTheRecordFromTheLastWindowAndAFew() {
    StepReporting r = new StepReporting(WINDOW, 0);
    for (long s = 1; s <= 100; s++) {
      r.applied(report(s), true, 500, 200, LAST, s * MS);
    }
    assertEquals(List.of(96L, 97L, 98L, 99L, 100L), steps(r.keptAfter(95)));
    List<StepReport> all = r.keptAfter(0);
    assertEquals(WINDOW + 4, all.size());
    assertTrue(all.get(0).step() == 100 - WINDOW - 3, "the oldest kept");
  }
}
