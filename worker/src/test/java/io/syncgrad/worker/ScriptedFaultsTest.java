package io.syncgrad.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.syncgrad.common.protocol.WorkerProtocol.Corruption;
import io.syncgrad.common.protocol.WorkerProtocol.Go;
import io.syncgrad.common.protocol.WorkerProtocol.Partition;
import java.util.List;
import org.junit.jupiter.api.Test;

class ScriptedFaultsTest {

  private static Go go(List<Partition> partitions, List<Corruption> corruptions) {
    return new Go("run", "a", 1, List.of(), 0, "a", 1, 1, false, partitions, corruptions);
  }

  @Test
  void aWorkerTakesOnlyTheFaultsThatNameItEachOnce() {
    Go go = go(List.of(new Partition("a", 5, 300), new Partition("b", 6, 400)),
        List.of(new Corruption("a", 7, true), new Corruption("b", 7, false), new Corruption("a", 9, false)));
    ScriptedFaults a = ScriptedFaults.of(go, "a");
    assertNull(a.takePartition(6), "b's partition is not a's");
    assertEquals(300L, a.takePartition(5));
    assertNull(a.takePartition(5), "a partition fires once");
    assertEquals(Boolean.TRUE, a.takeCorruption(7));
    assertNull(a.takeCorruption(7), "a corruption fires once");
    assertEquals(Boolean.FALSE, a.takeCorruption(9));
    ScriptedFaults b = ScriptedFaults.of(go, "b");
    assertEquals(Boolean.FALSE, b.takeCorruption(7));
    assertEquals(400L, b.takePartition(6));
  }

  @Test
  void withoutAPlanNothingFires() {
    ScriptedFaults none = ScriptedFaults.of(go(List.of(), List.of()), "a");
    for (long step = 0; step < 100; step++) {
      assertNull(none.takeCorruption(step));
      assertNull(none.takePartition(step));
    }
    assertNull(new ScriptedFaults().takeCorruption(0));
  }
}
