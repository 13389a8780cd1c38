package io.syncgrad.common.train;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * The one-node trainer's threads: the calling thread and a fixed set of helpers run one part
 * each of a task, then the call returns. A step hands work over three times (the shards' blocks,
 * the mean, the update), a millisecond or less apart.
 *
 * <p>A thread pool parks its idle threads, and waking a parked thread costs the operating
 * system's scheduler a round trip: measured on a 2-core virtual machine, 60-100 µs for each
 * hand-over and its completion, against 5-25 µs when both sides spin, which is 8-10% of a
 * two-thread step. So each side spins for a short while ({@link #SPIN_NANOS}) before it parks:
 * within a step the other side answers in time, and a helper that waits longer (an evaluation, a
 * checkpoint, the end of the run) parks and costs nothing.
 *
 * A crew with more threads than processors does not spin: a spinning thread would keep the one
 * it waits for off a core.
 *
 * <p>Every call waits for every part, even after a failure, so that no thread still writes a
 * step's buffers when the failure propagates: the first failure is thrown, the others are
 * suppressed in it. Calls and {@link #close} are serialised: closing waits for a call under way.
 */
final class ThreadCrew implements AutoCloseable {

  /** How long a waiting thread spins before it parks: several hand-overs of a step, and no more. */
  static final long SPIN_NANOS = TimeUnit.MICROSECONDS.toNanos(200);

  private final Thread[] helpers;
  /**
   * {@link #SPIN_NANOS}, or 0 when the crew has more threads than the processors: then a spinning
   * thread would keep the one it waits for off a core.
   */
  private final long spinNanos;
  /** Helper i's failure in the current round, or null. */
  private final AtomicReferenceArray<Throwable> failures;
  /** Helpers still running their part of the current round. */
  private final AtomicInteger running = new AtomicInteger();
  /** Raised for every task handed over; a helper runs its part once per value. */
  private volatile long round;
  private volatile IntConsumer task;
  private volatile boolean closed;
  /** 1 where a helper may be parked, so that a new round must wake it. */
  private final AtomicIntegerArray parked;
  private volatile boolean callerParked;
  private volatile Thread caller;

  /** @param helpers threads besides the caller's; {@code name} names them */
  ThreadCrew(int helpers, String name) {
    this.helpers = new Thread[helpers];
    this.failures = new AtomicReferenceArray<>(helpers);
    this.parked = new AtomicIntegerArray(helpers);
    this.spinNanos = helpers + 1 <= Runtime.getRuntime().availableProcessors() ? SPIN_NANOS : 0;
    for (int h = 0; h < helpers; h++) {
      int index = h;
      Thread t = new Thread(() -> serve(index), name + "-" + (h + 1));
      t.setDaemon(true);
      this.helpers[h] = t;
      t.start();
    }
  }

  /** The parts a task is cut into: the caller's and one per helper. */
  int size() {
    return helpers.length + 1;
  }

  /**
   * Runs {@code part.accept(0)} on the calling thread and {@code part.accept(1..)} on the helpers,
   * and returns when all have finished.
   *
   * @param what what the task is, and {@code step} the step it is for, for the failure's message
   * @throws IllegalStateException wrapping the first failure of a part, or when interrupted
   */
  synchronized void run(IntConsumer part, String what, long step) {
    if (closed) {
      throw new IllegalStateException("the trainer's threads are closed");
    }
    caller = Thread.currentThread();
    running.set(helpers.length);
    task = part;
    round++;
    wakeHelpers();
    Throwable failed = null;
    try {
      part.accept(0);
    } catch (Throwable e) {
      // Whatever it is (a checked exception can be thrown without being declared), the helpers'
      // parts are still waited for.
      failed = e;
    }
    boolean interrupted = awaitHelpers();
    for (int h = 0; h < helpers.length; h++) {
      Throwable f = failures.getAndSet(h, null);
      if (f != null) {
        failed = first(failed, f);
      }
    }
    task = null;
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    if (failed instanceof Error error) {
      throw error;
    }
    if (failed != null) {
      throw new IllegalStateException(what + " failed at step " + step, failed);
    }
    if (interrupted) {
      throw new IllegalStateException("interrupted during " + what + " at step " + step);
    }
  }

  private void wakeHelpers() {
    for (int h = 0; h < helpers.length; h++) {
      // The round was raised before this read, both volatile: a helper either sees the new round
      // before it parks, or has said it may park, and is woken here.
      if (parked.get(h) != 0) {
        LockSupport.unpark(helpers[h]);
      }
    }
  }

  /** Waits until no helper runs a part; returns whether the caller was interrupted meanwhile. */
  private boolean awaitHelpers() {
    long spinUntil = System.nanoTime() + spinNanos;
    while (running.get() > 0 && System.nanoTime() < spinUntil) {
      Thread.onSpinWait();
    }
    boolean interrupted = false;
    while (running.get() > 0) {
      callerParked = true;
      if (running.get() > 0) {
        LockSupport.park(this);
      }
      callerParked = false;
      // An interrupt makes park return at once: note it, clear it, and keep waiting.
      interrupted |= Thread.interrupted();
    }
    return interrupted;
  }

  /** Helper {@code index}'s loop: waits for each round, runs its part, reports. */
  private void serve(int index) {
    long seen = 0;
    while (true) {
      long now = awaitRound(index, seen);
      if (closed) {
        return;
      }
      seen = now;
      try {
        task.accept(index + 1);
      } catch (Throwable e) {
        // Caught whatever it is: a helper that died here would leave the caller waiting forever.
        failures.set(index, e);
      }
      if (running.decrementAndGet() == 0 && callerParked) {
        LockSupport.unpark(caller);
      }
    }
  }

  /** Waits, spinning and then parked, until the round differs from {@code seen} or the crew closes. */
  private long awaitRound(int index, long seen) {
    long spinUntil = System.nanoTime() + spinNanos;
    long now;
    while ((now = round) == seen && !closed && System.nanoTime() < spinUntil) {
      Thread.onSpinWait();
    }
    while ((now = round) == seen && !closed) {
      parked.set(index, 1);
      if (round == seen && !closed) {
        LockSupport.park(this);
      }
      parked.set(index, 0);
      Thread.interrupted();
    }
    return now;
  }

  /** Stops the helpers, after the call under way if there is one. */
  @Override
  public synchronized void close() {
    closed = true;
    round++;
    for (Thread t : helpers) {
      LockSupport.unpark(t);
    }
  }

  private static Throwable first(Throwable failed, Throwable more) {
    if (failed == null) {
      return more;
    }
    if (more != failed) {
      failed.addSuppressed(more);
    }
    return failed;
  }
}
