package io.syncgrad.coordinator;

import java.time.Duration;

/**
 * Whether generations keep forming while no step is recorded. Each one can fail the same way (a
 * member that cannot deliver what every step needs, such as its state at a snapshot step over a
 * link that is gone), the step deadline then forms the next, and nothing else would end the run.
 * So a run that records no step for as long as it would wait for workers fails the same way,
 * after {@code --wait-timeout}.
 */
final class StallWatch {

  private final long limitNanos;
  private long step = -1;
  private long sinceNanos;
  private int generations;

  /** @param limit how long a run may go without recording a step while generations form */
  StallWatch(Duration limit) {
    this.limitNanos = limit.toNanos();
  }

  /**
   * A generation forms with {@code recorded} steps recorded.
   *
   * @return whether no step has been recorded for longer than the limit
   */
  boolean stuck(long recorded, long nowNanos) {
    if (recorded != step) {
      step = recorded;
      sinceNanos = nowNanos;
      generations = 0;
    }
    generations++;
    return nowNanos - sinceNanos > limitNanos;
  }

  /** Generations formed since the last step was recorded, this one included. */
  int generations() {
    return generations;
  }
}
