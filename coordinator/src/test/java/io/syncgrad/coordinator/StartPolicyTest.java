package io.syncgrad.coordinator;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class StartPolicyTest {

  @Test
  void allReadyStartAtOnceOthersOnlyAfterTheJoinTimeoutOrALoss() {
    StartPolicy p = new StartPolicy(3, 2);
    assertFalse(p.mayStart(2), "waits for the third while it may come");
    assertTrue(p.mayStart(3));
    p.joinTimeUp();
    assertFalse(p.mayStart(1), "never below --min-workers");
    assertTrue(p.mayStart(2));
    StartPolicy lost = new StartPolicy(3, 1);
    lost.lostBeforeStart();
    assertTrue(lost.mayStart(1));
    assertFalse(lost.mayStart(0));
  }
}
