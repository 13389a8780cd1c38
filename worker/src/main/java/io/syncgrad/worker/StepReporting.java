package io.syncgrad.worker;

import io.syncgrad.common.protocol.CoordinatorProtocol.StepReport;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Which of a worker's step reports go to the coordinator, and when.
 *
 * <p>Every member knows the whole step, so one report a step is all the coordinator needs: the
 * first member sends every step's, half a window at a time (the coordinator answers each with a
 * credit), and sooner when a step something is named for is reached, when the credit is used up,
 * or when the oldest unsent report waited {@link #SEND_AT_LEAST_EVERY_NANOS}: so that slow steps
 * are reported one by one, well inside the coordinator's step deadline (at least 250 ms). The
 * other members send one report every {@link #OTHERS_EVERY} steps, for their own counters and
 * times. Each report and its credit cost every node a few thread hand-overs, which is why they are
 * batched (deploy/bench/RESULTS.md).
 *
 * <p>The reports of the last steps are kept, sent or not: a new generation asks for those the
 * coordinator has not recorded, since the member that sent them may be gone.
 */
final class StepReporting {

  /** How often members other than the first report a step. */
  static final int OTHERS_EVERY = 16;
  /** The longest the first member holds a report back. */
  static final long SEND_AT_LEAST_EVERY_NANOS = 50_000_000L;
  /** Reports kept beyond the window a worker can be ahead of the coordinator's record. */
  private static final int KEPT_BEYOND_WINDOW = 4;

  private final int batch;
  private final int keep;
  /** Steps applied but not reported yet, oldest first (the latest alone for the other members). */
  private final List<StepReport> pending = new ArrayList<>();
  private final ArrayDeque<StepReport> kept = new ArrayDeque<>();
  private long lastSent;

  /** @param window how many steps a worker may run ahead of the coordinator's record */
  StepReporting(int window, long now) {
    this.batch = Math.max(1, window / 2);
    this.keep = window + KEPT_BEYOND_WINDOW;
    this.lastSent = now;
  }

  /**
   * A step is applied.
   *
   * @param first        whether this worker is its generation's first member
   * @param stateStep    the next step whose state the coordinator needs
   * @param credit       how far this worker may go now (a step a fault is named for ends it)
   * @param lastStep     the run's last step
   * @param now          {@link System#nanoTime()}
   * @return the reports to send now, oldest first; empty when none
   */
  List<StepReport> applied(StepReport report, boolean first, long stateStep, long credit, long lastStep, long now) {
    kept.addLast(report);
    if (kept.size() > keep) {
      kept.removeFirst();
    }
    long step = report.step();
    boolean edge = step == stateStep || step == lastStep;
    if (!first) {
      pending.clear();
      pending.add(report);
      return step % OTHERS_EVERY == 0 || edge ? takePending() : List.of();
    }
    pending.add(report);
    if (pending.size() >= batch || edge || step + 1 > credit || now - lastSent >= SEND_AT_LEAST_EVERY_NANOS) {
      lastSent = now;
      return takePending();
    }
    return List.of();
  }

  /** The reports not sent yet, oldest first: before a Prepare answer or a divergence report. */
  List<StepReport> takePending() {
    List<StepReport> out = List.copyOf(pending);
    pending.clear();
    return out;
  }

  /** The kept reports of the steps after {@code recorded}, oldest first, for a new generation. */
  List<StepReport> keptAfter(long recorded) {
    return kept.stream().filter(r -> r.step() > recorded).toList();
  }
}
