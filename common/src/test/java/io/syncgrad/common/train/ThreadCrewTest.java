package io.syncgrad.common.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/**
 * The trainer's crew runs every part of every task exactly once, whether its helpers were still
 * spinning or had parked when the task came, and fails as a pool would: after every part is done.
 */
class ThreadCrewTest {

  private static final Duration LIMIT = Duration.ofSeconds(60);

  @Test
  void everyPartRunsOnceARoundWhetherTheHelpersSpinOrPark() {
    assertTimeoutPreemptively(LIMIT, () -> {
      try (ThreadCrew crew = new ThreadCrew(3, "crew-test")) {
        assertEquals(4, crew.size());
        AtomicIntegerArray runs = new AtomicIntegerArray(4);
        int rounds = 0;
        for (int r = 0; r < 20_000; r++, rounds++) {
          crew.run(runs::incrementAndGet, "counting", r);
        }
        // Longer pauses than a helper spins: each round finds the helpers parked.
        for (int r = 0; r < 50; r++, rounds++) {
          TimeUnit.NANOSECONDS.sleep(ThreadCrew.SPIN_NANOS * 5);
          crew.run(runs::incrementAndGet, "counting", r);
        }
        int[] counts = new int[4];
        for (int p = 0; p < 4; p++) {
          counts[p] = runs.get(p);
        }
        int[] expected = new int[4];
        Arrays.fill(expected, rounds);
        assertArrayEquals(expected, counts);
      }
    });
  }

  @Test
  void aRoundReturnsOnlyWhenEveryPartHasFinished() {
    assertTimeoutPreemptively(LIMIT, () -> {
      try (ThreadCrew crew = new ThreadCrew(1, "crew-test")) {
        long[] done = new long[2];
        for (int r = 1; r <= 200; r++) {
          long round = r;
          crew.run(p -> {
            if (p == 1) {
              // The helper finishes well after the caller's own part.
              long until = System.nanoTime() + TimeUnit.MICROSECONDS.toNanos(round % 2 == 0 ? 50 : 500);
              while (System.nanoTime() < until) {
                Thread.onSpinWait();
              }
            }
            done[p] = round;
          }, "waiting", r);
          assertEquals(r, done[1], "the helper's write of round " + r + " is seen when run returns");
        }
      }
    });
  }

  @Test
  void aHelpersFailureIsThrownAfterEveryPartHasRun() {
    assertTimeoutPreemptively(LIMIT, () -> {
      try (ThreadCrew crew = new ThreadCrew(2, "crew-test")) {
        AtomicIntegerArray finished = new AtomicIntegerArray(3);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> crew.run(p -> {
          if (p == 2) {
            throw new IllegalArgumentException("part two");
          }
          long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20);
          while (System.nanoTime() < until) {
            Thread.onSpinWait();
          }
          finished.set(p, 1);
        }, "shard computation", 7));
        assertEquals("shard computation failed at step 7", e.getMessage());
        assertEquals("part two", e.getCause().getMessage());
        assertEquals(1, finished.get(0));
        assertEquals(1, finished.get(1));
        // The crew goes on after a failed round.
        AtomicIntegerArray runs = new AtomicIntegerArray(3);
        crew.run(runs::incrementAndGet, "counting", 8);
        assertEquals(3, runs.get(0) + runs.get(1) + runs.get(2));
      }
    });
  }

  @Test
  void anErrorIsThrownAsItIsAndTheOthersAreSuppressedInIt() {
    assertTimeoutPreemptively(LIMIT, () -> {
      try (ThreadCrew crew = new ThreadCrew(1, "crew-test")) {
        AssertionError error = new AssertionError("the caller's part");
        AssertionError thrown = assertThrows(AssertionError.class, () -> crew.run(p -> {
          if (p == 0) {
            throw error;
          }
          throw new IllegalStateException("the helper's part");
        }, "the update", 3));
        assertSame(error, thrown);
        assertEquals(1, thrown.getSuppressed().length);
      }
    });
  }

  @Test
  void closingStopsTheHelpers() {
    assertTimeoutPreemptively(LIMIT, () -> {
      ThreadCrew crew = new ThreadCrew(2, "crew-closing");
      crew.run(p -> { }, "nothing", 0);
      crew.close();
      for (Thread t : Thread.getAllStackTraces().keySet()) {
        if (t.getName().startsWith("crew-closing")) {
          t.join(TimeUnit.SECONDS.toMillis(10));
          assertFalse(t.isAlive(), t.getName() + " still runs after close");
        }
      }
      assertThrows(IllegalStateException.class, () -> crew.run(p -> { }, "nothing", 1));
    });
  }
}
