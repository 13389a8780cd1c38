package io.syncgrad.deploy;

import java.util.List;
import java.util.OptionalInt;

/**
 * Whether the worker processes a launcher started can still carry its run. A worker process
 * ends with status 0 only when its run is over (or its coordinator stopped it); any other end is
 * a failure (a start that failed, a kill, a crash). The launcher starts no worker again, and only
 * the nodes it started hold the run's credentials, so when every one of them has failed nothing
 * can join: the coordinator would wait out {@code --wait-timeout} (ten minutes by default) for
 * workers that cannot come. {@link #verdict} says so at once instead.
 */
final class WorkersGone {

  private WorkersGone() {}

  /** A worker process: its name and its exit status, empty while it runs. */
  record Worker(String name, OptionalInt exit) {}

  /**
   * @return null while some worker runs or one ended its run; otherwise what each ended with,
   *         for the user ("worker-00 status 2, worker-01 status 137")
   */
  static String verdict(List<Worker> workers) {
    if (workers.isEmpty()) {
      return null;
    }
    StringBuilder ends = new StringBuilder();
    for (Worker w : workers) {
      if (w.exit().isEmpty() || w.exit().getAsInt() == 0) {
        return null;
      }
      ends.append(ends.length() == 0 ? "" : ", ").append(w.name()).append(" status ").append(w.exit().getAsInt());
    }
    return ends.toString();
  }
}
