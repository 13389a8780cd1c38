package io.syncgrad.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Who is asked to form a generation, and the keys of the pairs. */
class MembershipTest {

  private static Membership three() {
    Membership m = new Membership();
    for (String id : List.of("w2", "w0", "w1")) {
      m.register(new Membership.Worker(id, null, "127.0.0.1:1"));
      m.ready(id);
    }
    return m;
  }

  @Test
  void aSuspendedWorkerSitsOutThenIsAskedAgainAndEachNewSuspensionDoublesIt() {
    Membership m = three();
    assertEquals(List.of("w0", "w1", "w2"), m.candidates(0, 1), "name order");
    m.suspend("w1", 10);
    assertEquals(List.of("w0", "w2"), m.candidates(10 + Membership.SIT_OUT_STEPS - 1, 1));
    assertTrue(m.dueAgain(10 + Membership.SIT_OUT_STEPS));
    assertEquals(List.of("w0", "w1", "w2"), m.candidates(10 + Membership.SIT_OUT_STEPS, 1));
    m.suspend("w1", 100);
    assertFalse(m.dueAgain(100 + 2 * Membership.SIT_OUT_STEPS - 1));
    assertTrue(m.dueAgain(100 + 2 * Membership.SIT_OUT_STEPS));
    assertEquals(1, m.lostCount(), "a worker that sat out dropped out of the run once");
  }

  @Test
  void whenEveryoneSitsOutEveryoneIsAsked() {
    Membership m = three();
    for (String id : List.of("w0", "w1", "w2")) {
      m.suspend(id, 0);
    }
    assertEquals(List.of("w0", "w1", "w2"), m.candidates(1, 1));
  }

  @Test
  void whenTooFewAreLeftForTheMinimumTheSuspendedAreAskedToo() {
    Membership m = three();
    m.suspend("w1", 0);
    m.suspend("w2", 0);
    assertEquals(List.of("w0"), m.candidates(1, 1));
    m.suspend("w1", 1);
    m.suspend("w2", 1);
    assertEquals(List.of("w0", "w1", "w2"), m.candidates(2, 2),
        "with --min-workers 2, one candidate would pause the run with two ready workers never asked");
  }

  @Test
  void readyWorkersThatDidNotAnswerAreAskedAgainLessOftenEachTime() {
    java.time.Duration form = java.time.Duration.ofMillis(1500);
    assertEquals(form, Membership.askAgainAfter(form, 0));
    assertEquals(java.time.Duration.ofMillis(3000), Membership.askAgainAfter(form, 1));
    assertEquals(java.time.Duration.ofMillis(24000), Membership.askAgainAfter(form, 4));
    assertEquals(Membership.ASK_AGAIN_AT_MOST, Membership.askAgainAfter(form, 5));
    assertEquals(Membership.ASK_AGAIN_AT_MOST, Membership.askAgainAfter(form, Integer.MAX_VALUE));
  }

  @Test
  void aHeldWorkerIsNeverAskedAndAQuarantinedOneNeverComesBack() {
    Membership m = three();
    m.hold("w1");
    assertEquals(List.of("w0", "w2"), m.candidates(0, 1));
    assertEquals(2, m.eligibleCount());
    for (String id : List.of("w0", "w2")) {
      m.suspend(id, 0);
    }
    assertEquals(List.of("w0", "w2"), m.candidates(1, 1), "everyone is asked, but never a held worker");
    m.quarantine("w1");
    m.ready("w1");
    assertFalse(m.isReady("w1"), "a quarantined worker's readiness is not taken");
    assertFalse(m.register(new Membership.Worker("w1", null, "127.0.0.1:2")), "nor its registration");
    assertEquals(List.of("w0", "w2"), m.candidates(1000, 1));
    assertTrue(m.quarantined("w1"));
  }

  @Test
  void aResultComputedAgainWithoutItsSuspectDecidesBetweenDivergenceAndQuarantine() {
    Recomputation r = new Recomputation();
    assertEquals(Recomputation.Verdict.RECOMPUTE, r.diverged(21, "w1", "w0", 2, 1));
    assertEquals("w1", r.suspect());
    assertNull(r.recorded(20), "the step computed again is not recorded yet");
    assertEquals("w1", r.recorded(21), "the others' step was finite: the suspect is quarantined");
    assertEquals(List.of(java.util.Map.of("worker", "w1", "step", 20L, "reported_by", "w0")), r.quarantined());

    assertEquals(Recomputation.Verdict.RECOMPUTE, r.diverged(40, "w2", "w2", 1, 1));
    assertEquals(Recomputation.Verdict.DIVERGED, r.diverged(40, "w0", "w0", 1, 1),
        "the same step diverged again without the suspect: the training diverged");
    assertTrue(r.sameOutcome().contains("without worker w2"), r.sameOutcome());

    Recomputation alone = new Recomputation();
    assertEquals(Recomputation.Verdict.DIVERGED, alone.diverged(5, "w0", "w0", 0, 1), "nobody left to compute it");
    assertEquals(Recomputation.Verdict.DIVERGED, alone.diverged(5, "w0", "w1", 1, 2), "fewer than --min-workers");
    assertEquals(Recomputation.Verdict.DIVERGED, alone.diverged(5, "", "w1", 3, 1), "every input was finite");
  }

  @Test
  void workersOfOtherKernelsAreRefusedUnlessAllowed() {
    Membership m = new Membership();
    assertNull(m.kernelProblem("native/a", false));
    assertNull(m.kernelProblem("native/a", false));
    assertNotNull(m.kernelProblem("java/b", false));
    assertNull(m.kernelProblem("java/b", true));
  }

  @Test
  void eachPairHasAKeyOfItsOwn() {
    PairKeys keys = new PairKeys();
    assertTrue(Arrays.equals(keys.of("run", "w0", "w1"), keys.of("run", "w1", "w0")), "the same for both ends");
    assertFalse(Arrays.equals(keys.of("run", "w0", "w1"), keys.of("run", "w0", "w2")));
    assertFalse(Arrays.equals(keys.of("run", "w0", "w1"), keys.of("other", "w0", "w1")));
    assertFalse(Arrays.equals(keys.of("run", "w0", "w1"), new PairKeys().of("run", "w0", "w1")),
        "a secret of each coordinator's own");
    assertNotEquals(0, keys.of("run", "w0", "w1").length);
  }
}
