package io.syncgrad.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.syncgrad.common.model.Activation;
import io.syncgrad.common.model.LossFunction;
import io.syncgrad.common.model.ModelSpec;
import io.syncgrad.common.model.OutputActivation;
import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.protocol.WorkerProtocol.Member;
import io.syncgrad.common.testing.Fixtures;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which blocks are audited, and by whom: the same choice on every member, at the rate asked for. */
class StepAuditTest {

  private static final ModelSpec MODEL = Fixtures.model(7, List.of(6), 3, Activation.RELU, OutputActivation.SOFTMAX,
      LossFunction.CROSS_ENTROPY, 0f);
  private static final List<Member> MEMBERS = List.of(new Member("a", "", 0, 3, 0, new byte[0]),
      new Member("b", "", 3, 6, 0, new byte[0]), new Member("c", "", 6, 8, 0, new byte[0]));

  private static StepExchange member(String id, double fraction) {
    return new StepExchange("run", id, 2, MEMBERS, Parameters.zeros(MODEL), 8, fraction, 42);
  }

  @Test
  void everyMemberDrawsTheSameBlocksAtTheRateAskedFor() {
    StepExchange a = member("a", 0.25);
    StepExchange b = member("b", 0.25);
    int audited = 0;
    int draws = 0;
    for (long step = 0; step < 4000; step++) {
      for (int m = 0; m < MEMBERS.size(); m++) {
        boolean x = a.audit.audited(step, m);
        assertEquals(x, b.audit.audited(step, m), "step " + step + " member " + m);
        audited += x ? 1 : 0;
        draws++;
      }
    }
    double rate = (double) audited / draws;
    assertTrue(rate > 0.22 && rate < 0.28, "rate " + rate);
  }

  @Test
  void eachMemberAuditsThePreviousOneAndNobodyIsAuditedAloneOrAtZero() {
    StepExchange a = member("a", 1);
    assertEquals(2, a.audit.auditsAt(0), "a audits c, the previous member in rank order");
    assertEquals(1, member("c", 1).audit.auditsAt(0));
    assertEquals(0, a.audit.auditorOf(2));
    assertEquals(-1, member("a", 0).audit.auditsAt(0));
    assertFalse(member("a", 0).audit.audited(5, 1));
    StepExchange alone = new StepExchange("run", "a", 2, List.of(new Member("a", "", 0, 8, 0, new byte[0])),
        Parameters.zeros(MODEL), 8, 1, 42);
    assertEquals(-1, alone.audit.auditsAt(0), "nobody to compare with");
    assertTrue(alone.audit.cleared(0));
  }
}
