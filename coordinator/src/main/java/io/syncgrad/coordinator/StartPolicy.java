package io.syncgrad.coordinator;

/**
 * When a run may start. With all {@code --workers} ready it starts at once. It does not wait for
 * a worker that cannot come: once the join timeout is up, or a worker was lost before the first
 * step, it starts with the ready workers, if at least {@code --min-workers}; the others join the
 * run under way when they are ready. The results do not depend on who starts it.
 */
final class StartPolicy {

  private final int workers;
  private final int minWorkers;
  private boolean joinTimeUp;
  private boolean lostBeforeStart;

  StartPolicy(int workers, int minWorkers) {
    this.workers = workers;
    this.minWorkers = Math.min(workers, Math.max(1, minWorkers));
  }

  /** The join timeout is up: the run starts with those present. */
  void joinTimeUp() {
    joinTimeUp = true;
  }

  /** A worker was lost before the first step: waiting for the full count may never end. */
  void lostBeforeStart() {
    lostBeforeStart = true;
  }

  /** Whether the run starts with {@code ready} workers ready. */
  boolean mayStart(int ready) {
    return ready >= workers || ((joinTimeUp || lostBeforeStart) && ready >= minWorkers);
  }

  /** Why it starts now, for the log. */
  String reason(int ready) {
    if (ready >= workers) {
      return "the run starts";
    }
    return "the run starts with the " + ready + " ready of " + workers + " workers ("
        + (joinTimeUp ? "the join timeout is up" : "a worker was lost before the first step") + ")";
  }
}
