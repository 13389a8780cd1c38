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
    assertEquals(List.of("w0", "w1", "w2"), m.candidates(0), "name order");
    m.suspend("w1", 10);
    assertEquals(List.of("w0", "w2"), m.candidates(10 + Membership.SIT_OUT_STEPS - 1));
    assertTrue(m.dueAgain(10 + Membership.SIT_OUT_STEPS));
    assertEquals(List.of("w0", "w1", "w2"), m.candidates(10 + Membership.SIT_OUT_STEPS));
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
    assertEquals(List.of("w0", "w1", "w2"), m.candidates(1));
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
