package io.syncgrad.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Generations that form again and again without a recorded step end the run after the wait timeout. */
class StallWatchTest {

  private static final long SECOND = 1_000_000_000L;

  @Test
  void generationsWithoutAStepAreStuckOnceTheLimitIsPast() {
    StallWatch watch = new StallWatch(Duration.ofSeconds(10));
    assertFalse(watch.stuck(194, 0));
    assertFalse(watch.stuck(194, 4 * SECOND));
    assertFalse(watch.stuck(194, 10 * SECOND), "at the limit, not past it");
    assertTrue(watch.stuck(194, 10 * SECOND + 1));
    assertEquals(4, watch.generations());
  }

  @Test
  void aRecordedStepStartsTheClockAgain() {
    StallWatch watch = new StallWatch(Duration.ofSeconds(10));
    assertFalse(watch.stuck(0, 0));
    assertFalse(watch.stuck(0, 9 * SECOND));
    assertFalse(watch.stuck(40, 15 * SECOND), "steps were recorded in between");
    assertEquals(1, watch.generations());
    assertFalse(watch.stuck(40, 24 * SECOND));
    assertTrue(watch.stuck(40, 26 * SECOND));
  }
}
