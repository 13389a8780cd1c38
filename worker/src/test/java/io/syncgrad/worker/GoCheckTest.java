package io.syncgrad.worker;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.syncgrad.common.protocol.WorkerProtocol.Go;
import io.syncgrad.common.protocol.WorkerProtocol.Member;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A Go whose blocks do not cover the shards once, in order, is refused before anything uses it. */
class GoCheckTest {

  private static Member m(String id, int first, int end) {
    return new Member(id, "127.0.0.1:1", first, end, 0, new byte[0]);
  }

  private static Go go(Member... members) {
    return new Go("run", "a", 1, List.of(members), 0, members.length > 0 ? members[0].workerId() : "", 1, 1, false,
        List.of(), List.of());
  }

  @Test
  void soundBlocksPass() {
    assertNull(GoCheck.problem(go(m("a", 0, 3), m("b", 3, 8)), 8));
    assertNull(GoCheck.problem(go(m("a", 0, 8)), 8));
  }

  @Test
  void blocksOutsideTheShardsGapsOverlapsAndRepeatsAreRefused() {
    for (Go bad : List.of(go(m("a", 0, 3), m("b", 3, 9)), go(m("a", 0, 3), m("b", 4, 8)),
        go(m("a", 0, 4), m("b", 3, 8)), go(m("a", 0, 3), m("a", 3, 8)), go(m("a", 0, 3)), go(m("a", -1, 8)),
        go(m("a", 0, 0), m("b", 0, 8)), go())) {
      String problem = GoCheck.problem(bad, 8);
      assertNotNull(problem, bad.members().toString());
    }
    assertTrue(GoCheck.problem(go(m("a", 0, 3), m("b", 3, 9)), 8).contains("within 8"));
    Go strangeSource = new Go("run", "a", 1, List.of(m("a", 0, 8)), 0, "z", 1, 1, false, List.of(), List.of());
    assertNotNull(GoCheck.problem(strangeSource, 8));
  }
}
