package io.syncgrad.common.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.syncgrad.common.run.TrainingState;
import io.syncgrad.common.testing.Fixtures;
import io.syncgrad.proto.StateProto;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A whole state cut into parts and put together again, and what is refused before allocating. */
class StatePartsTest {

  @Test
  void partsPutTogetherGiveTheState() {
    TrainingState s = Fixtures.state(4, 17);
    List<StateProto> parts = StateParts.split("run", 2, "w0", s);
    StateParts.Assembly a = new StateParts.Assembly(StateParts.maxBytes(s.model()));
    TrainingState back = null;
    for (StateProto p : parts) {
      back = a.offer(p);
    }
    assertEquals(17, back.step());
    assertEquals(s.params().sha256Hex(), back.params().sha256Hex());
    assertEquals(s.optimizer().updates(), back.optimizer().updates());
  }

  @Test
  void aStateLargerThanTheModelCanNeedIsRefusedBeforeAnythingIsAllocated() {
    TrainingState s = Fixtures.state(4, 1);
    StateParts.Assembly a = new StateParts.Assembly(StateParts.maxBytes(s.model()));
    StateProto huge = StateProto.newBuilder().setRunId("run").setPart(0).setParts(200).setTotalBytes(3L << 30).build();
    assertThrows(IllegalArgumentException.class, () -> a.offer(huge));
    StateProto second = StateParts.split("run", 2, "w0", s).get(0).toBuilder().setPart(1).build();
    assertThrows(IllegalArgumentException.class, () -> a.offer(second), "a part without the ones before it");
    StateProto truncated = StateParts.split("run", 2, "w0", s).get(0).toBuilder().setTotalBytes(
        StateParts.split("run", 2, "w0", s).get(0).getTotalBytes() + 8).build();
    assertThrows(IllegalArgumentException.class, () -> a.offer(truncated), "fewer bytes than announced");
  }
}
