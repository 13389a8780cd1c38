package io.syncgrad.common.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/**
 * The trainer's crew runs every part of every task exactly once, whether its helpers were still
 * spinning or had parked when the task came, and fails as a pool would: after every part is done,
 * whatever a part throws.
 */
class ThreadCrewTest {

  private static final Duration LIMIT = Duration.ofSeconds(60);

  @Test
  void everyPartRunsOnceARoundWhetherTheHelpersSpinOrPark() {
    assertTimeoutPreemptively(LIMIT, () -> {
      // One helper spins on a machine of two cores or more; three are more threads than a small
      // machine has, and park at once.
      for (int helpers : new int[] {1, 3}) {
        String name = "crew-rounds-" + helpers;
        try (ThreadCrew crew = new ThreadCrew(helpers, name)) {
          List<Thread> threads = threadsNamed(name);
          assertEquals(helpers, threads.size());
          AtomicIntegerArray runs = new AtomicIntegerArray(helpers + 1);
          int rounds = 0;
          for (int r = 0; r < 5_000; r++, rounds++) {
            crew.run(runs::incrementAndGet, "counting", r);
          }
          // Each of these rounds finds every helper parked, so only the wake-up can start it.
          for (int r = 0; r < 30; r++, rounds++) {
            awaitParked(threads);
            crew.run(runs::incrementAndGet, "counting", r);
          }
          int[] counts = new int[helpers + 1];
          for (int p = 0; p <= helpers; p++) {
            counts[p] = runs.get(p);
          }
          int[] expected = new int[helpers + 1];
          Arrays.fill(expected, rounds);
          assertArrayEquals(expected, counts, helpers + " helpers");
        }
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
              // The helper finishes after the caller's own part, sometimes after the caller parks.
              spin(TimeUnit.MICROSECONDS.toNanos(round % 2 == 0 ? 50 : 500));
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
          spin(TimeUnit.MILLISECONDS.toNanos(20));
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
  void anUndeclaredCheckedExceptionIsThrownAndTheCrewGoesOn() {
    assertTimeoutPreemptively(LIMIT, () -> {
      try (ThreadCrew crew = new ThreadCrew(1, "crew-test")) {
        for (int failing = 0; failing < 2; failing++) {
          int part = failing;
          IllegalStateException e = assertThrows(IllegalStateException.class, () -> crew.run(p -> {
            if (p == part) {
              ThreadCrewTest.<RuntimeException>sneaky(new IOException("part " + part));
            }
            spin(TimeUnit.MILLISECONDS.toNanos(5));
          }, "the update", 4));
          assertInstanceOf(IOException.class, e.getCause(), "part " + part);
          AtomicIntegerArray runs = new AtomicIntegerArray(2);
          crew.run(runs::incrementAndGet, "counting", 5);
          assertEquals(1, runs.get(0));
          assertEquals(1, runs.get(1), "the helper still serves after part " + part + " failed");
        }
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
        // A helper's Error is thrown as it is too.
        OutOfMemoryError helpers = new OutOfMemoryError("the helper's part");
        assertSame(helpers, assertThrows(OutOfMemoryError.class, () -> crew.run(p -> {
          if (p == 1) {
            throw helpers;
          }
        }, "the update", 4)));
      }
    });
  }

  @Test
  void anInterruptIsKeptWhenAPartFails() {
    assertTimeoutPreemptively(LIMIT, () -> {
      try (ThreadCrew crew = new ThreadCrew(1, "crew-test")) {
        assertThrows(IllegalStateException.class, () -> crew.run(p -> {
          if (p == 0) {
            Thread.currentThread().interrupt();
            throw new IllegalArgumentException("the caller's part");
          }
          spin(TimeUnit.MILLISECONDS.toNanos(5));
        }, "the update", 2));
        assertTrue(Thread.interrupted(), "the caller's interrupt is kept");
      }
    });
  }

  @Test
  void closingStopsTheHelpers() {
    assertTimeoutPreemptively(LIMIT, () -> {
      ThreadCrew crew = new ThreadCrew(2, "crew-closing");
      List<Thread> threads = threadsNamed("crew-closing");
      assertEquals(2, threads.size());
      crew.run(p -> { }, "nothing", 0);
      crew.close();
      for (Thread t : threads) {
        t.join(TimeUnit.SECONDS.toMillis(10));
        assertFalse(t.isAlive(), t.getName() + " still runs after close");
      }
      assertThrows(IllegalStateException.class, () -> crew.run(p -> { }, "nothing", 1));
    });
  }

  private static List<Thread> threadsNamed(String prefix) {
    List<Thread> found = new ArrayList<>();
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.getName().startsWith(prefix + "-")) {
        found.add(t);
      }
    }
    return found;
  }

  /** Waits until every thread has parked (after its spin, if any). */
  private static void awaitParked(List<Thread> threads) throws InterruptedException {
    for (Thread t : threads) {
      while (t.getState() != Thread.State.WAITING) {
        TimeUnit.MILLISECONDS.sleep(1);
      }
    }
  }

  private static void spin(long nanos) {
    long until = System.nanoTime() + nanos;
    while (System.nanoTime() < until) {
      Thread.onSpinWait();
    }
  }

  @SuppressWarnings("unchecked")
  private static <T extends Throwable> void sneaky(Throwable t) throws T {
    throw (T) t;
  }
}
