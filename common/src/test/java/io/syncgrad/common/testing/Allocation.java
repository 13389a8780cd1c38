package io.syncgrad.common.testing;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;

/**
 * What a refusal costs the thread that refuses: a decoder that checks a claimed size before it
 * allocates refuses a claim of gigabytes having allocated a few KiB, where one that trusts it
 * dies of it or allocates it first.
 */
public final class Allocation {

  /** Far above what parsing a small message takes, far below what any claim in the tests names. */
  public static final long SMALL_BYTES = 4 << 20;

  private Allocation() {}

  /** Code that is expected to throw. */
  public interface Body {
    void run() throws Throwable;
  }

  /**
   * Asserts that {@code body} throws {@code type} having allocated less than {@link #SMALL_BYTES}
   * on this thread.
   *
   * @return what it threw
   */
  public static <T extends Throwable> T refusedCheaply(Class<T> type, Body body) {
    com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    long before = threads.getCurrentThreadAllocatedBytes();
    T thrown = assertThrows(type, body::run);
    long allocated = threads.getCurrentThreadAllocatedBytes() - before;
    assertTrue(allocated < SMALL_BYTES, "refused after allocating " + allocated + " bytes: " + thrown.getMessage());
    return thrown;
  }
}
