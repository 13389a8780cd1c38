package io.syncgrad.coordinator;

import io.syncgrad.common.protocol.CoordinatorProtocol.StepReport;
import java.time.Duration;
import java.util.Arrays;
import java.util.TreeMap;

/**
 * What the coordinator has recorded of the steps, and how far the workers may go. Workers apply
 * steps on their own and report each one; the coordinator records step n once a report of it is
 * in and, at a snapshot step (a checkpoint, the end of an epoch, the last step), once a worker's
 * state at that step is in too. Workers may run {@code window} steps ahead of the record, never
 * past the next snapshot step nor past a step a scripted fault is named for (a partition, a
 * process killed or paused): so evaluations, checkpoints and scripted faults land on the step
 * they name while the coordinator stays off the steps' critical path.
 */
final class RunProgress {

  /** Applied steps whose report came before the ones before it. */
  private final TreeMap<Long, StepReport> early = new TreeMap<>();
  private final long total;
  private final long checkpointEvery;
  private final long stepsPerEpoch;
  private final int window;
  /** Steps after which a scripted fault strikes: the workers wait there for the record. */
  private final java.util.NavigableSet<Long> faultSteps;
  private long recorded;
  private long granted;
  private final long[] recent = new long[20];
  private int recentCount;
  private int recentNext;

  RunProgress(long recorded, long total, long checkpointEvery, long stepsPerEpoch, int window) {
    this(recorded, total, checkpointEvery, stepsPerEpoch, window, java.util.List.of());
  }

  /** @param faultSteps the steps after which scripted faults strike */
  RunProgress(long recorded, long total, long checkpointEvery, long stepsPerEpoch, int window,
      java.util.Collection<Long> faultSteps) {
    this.faultSteps = new java.util.TreeSet<>(faultSteps);
    this.recorded = recorded;
    this.total = total;
    this.checkpointEvery = checkpointEvery;
    this.stepsPerEpoch = stepsPerEpoch;
    this.window = window;
  }

  /** Steps recorded so far. */
  long recorded() {
    return recorded;
  }

  /** Whether the run has recorded its last step. */
  boolean done() {
    return recorded >= total;
  }

  /** Whether the state after step {@code n} is needed here. */
  boolean snapshotDue(long n) {
    return (checkpointEvery > 0 && n % checkpointEvery == 0 && n < total) || n % stepsPerEpoch == 0 || n == total;
  }

  /** The first step after the record whose state is needed here. */
  long snapshotStep() {
    for (long n = recorded + 1; n < total; n++) {
      if (snapshotDue(n)) {
        return n;
      }
    }
    return total;
  }

  /**
   * The first step after the record that the workers may not pass before it is recorded: the
   * next snapshot step, or a scripted fault's step if that comes first.
   */
  long holdStep() {
    long hold = snapshotStep();
    Long fault = faultSteps.higher(recorded);
    return fault != null && fault < hold ? fault : hold;
  }

  /** How far the workers may go now. */
  long credit() {
    return Math.min(Math.min(recorded + window, holdStep()), total);
  }

  /**
   * A new credit to hand out, or -1 when the workers have it already or it moved too little to
   * be worth a message: half a window, unless it reaches a step that holds the workers or the
   * end, where they wait for it.
   */
  long grant() {
    long c = credit();
    if (c <= granted || (c - granted < (window + 1) / 2 && c != holdStep() && c != total)) {
      return -1;
    }
    granted = c;
    return c;
  }

  /** A new generation starts: its members know nothing of earlier credits. */
  void generationStarted() {
    granted = credit();
  }

  /** Keeps a report of a step after the next one to record. @return false when the step is recorded already */
  boolean offer(StepReport r) {
    if (r.step() <= recorded) {
      return false;
    }
    early.putIfAbsent(r.step(), r);
    return true;
  }

  /** Whether a report of step {@code n} is in, recorded or waiting. */
  boolean has(long n) {
    return n <= recorded || early.containsKey(n);
  }

  /** The report of the next step to record, if it is in. */
  StepReport next() {
    return early.get(recorded + 1);
  }

  /**
   * Records the next step. Its period as the worker measured it feeds the deadline: reports come
   * a few at a time, so the intervals between records say nothing about a step.
   */
  void recorded(StepReport r) {
    early.remove(r.step());
    recorded = r.step();
    if (r.stepNanos() > 0) {
      recent[recentNext] = r.stepNanos();
      recentNext = (recentNext + 1) % recent.length;
      recentCount = Math.min(recentCount + 1, recent.length);
    }
  }

  /**
   * How long the run may go without a new step before a new generation is formed: three times
   * the median of recent steps, at least 250 ms; 10 s before there are any.
   */
  Duration adaptiveDeadline() {
    if (recentCount < 3) {
      return Duration.ofSeconds(10);
    }
    long[] sorted = Arrays.copyOf(recent, recentCount);
    Arrays.sort(sorted);
    return Duration.ofNanos(Math.max(Duration.ofMillis(250).toNanos(), 3 * sorted[recentCount / 2]));
  }
}
