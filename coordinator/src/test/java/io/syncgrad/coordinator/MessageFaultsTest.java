package io.syncgrad.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class MessageFaultsTest {

  private static final int MESSAGES = 20_000;

  private static List<MessageFaults.Decision> decisions(MessageFaults f) {
    List<MessageFaults.Decision> out = new ArrayList<>();
    for (int i = 0; i < MESSAGES; i++) {
      out.add(f.decide(i % 2, i / 16, 1 + i % 3, i % 8));
    }
    return out;
  }

  @Test
  void decisionsArePureFunctionsOfTheSeedAndTheMessage() {
    MessageFaults a = new MessageFaults(0.1, 0.1, 0.2, Duration.ofMillis(300), 9);
    assertEquals(decisions(a), decisions(new MessageFaults(0.1, 0.1, 0.2, Duration.ofMillis(300), 9)));
    assertNotEquals(decisions(a), decisions(new MessageFaults(0.1, 0.1, 0.2, Duration.ofMillis(300), 10)));
  }

  @Test
  void ratesAreThoseAskedFor() {
    List<MessageFaults.Decision> d = decisions(new MessageFaults(0.1, 0.1, 0.2, Duration.ofMillis(300), 9));
    long drops = d.stream().filter(x -> x instanceof MessageFaults.Drop).count();
    long dups = d.stream().filter(x -> x instanceof MessageFaults.Duplicate).count();
    long delays = d.stream().filter(x -> x instanceof MessageFaults.Delay).count();
    // drop 10%; duplicate 10% of the rest; delay 20% of what is left.
    assertEquals(0.10, drops / (double) MESSAGES, 0.01);
    assertEquals(0.09, dups / (double) MESSAGES, 0.01);
    assertEquals(0.162, delays / (double) MESSAGES, 0.015);
    assertTrue(d.stream().filter(x -> x instanceof MessageFaults.Delay).map(x -> ((MessageFaults.Delay) x).by())
        .allMatch(by -> by.toMillis() >= 1 && by.toMillis() <= 300));
    assertTrue(decisions(MessageFaults.NONE).stream().allMatch(x -> x instanceof MessageFaults.Deliver));
  }
}
