package io.syncgrad.deploy.report;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a run's {@code metrics.jsonl} says, parsed and checked, in step order. A resumed run
 * appends to the same file and repeats the steps after its checkpoint; only the last line of
 * each step is kept, since that is the history the final weights came from. Numbers a line does
 * not carry are {@code NaN}.
 *
 * @param steps          one per step, by step
 * @param evals          one per evaluation, by step
 * @param workerTimes    the {@code workers} lines of a cluster run, by step
 * @param events         faults, recoveries, checkpoints and resumes, in file order
 * @param firstTime      when the first line was written, if any
 * @param lastTime       when the last line was written, if any
 * @param incompleteTail whether the file ends in a partial line (a run still writing, or one
 *                       that stopped in the middle of a line), which was left out
 */
record RunMetrics(List<Step> steps, List<Eval> evals, List<WorkerTimes> workerTimes, List<Event> events,
    Optional<Instant> firstTime, Optional<Instant> lastTime, boolean incompleteTail) {

  RunMetrics {
    steps = List.copyOf(steps);
    evals = List.copyOf(evals);
    workerTimes = List.copyOf(workerTimes);
    events = List.copyOf(events);
  }

  /**
   * One {@code step} line.
   *
   * @param stepMillis    the step's wall time; {@code NaN} in files written before it was recorded
   * @param computeMillis time spent computing shards; {@code NaN} in one-node runs
   * @param worker        the worker whose compute time this is, or {@code null}
   */
  record Step(long step, double epoch, double loss, double lr, double gradNorm, double samplesPerSecond,
      double stepMillis, double computeMillis, String worker) {}

  /** One {@code eval} line; the validation figures are {@code NaN} when the run has no validation set. */
  record Eval(long step, double epoch, double testLoss, double testAccuracy, double validationLoss,
      double validationAccuracy) {}

  /** One {@code workers} line: each worker's mean compute time per step since the previous one. */
  record WorkerTimes(long step, Map<String, Double> computeMillis) {

    WorkerTimes {
      computeMillis = Map.copyOf(computeMillis);
    }
  }

  /**
   * A {@code fault}, {@code recovery}, {@code checkpoint} or {@code resume} line.
   *
   * @param kind       e.g. {@code delay} or {@code worker_lost}; the type itself for checkpoints and resumes
   * @param what       the line's own description (the checkpoint file, the step resumed from), or ""
   * @param worker     the worker it concerns, or ""
   * @param generation the generation it formed or happened in, or -1
   */
  record Event(String type, long step, Instant time, String kind, String what, String worker, long generation) {}

  /** The last step recorded, or 0 before the first. */
  long lastStep() {
    return steps.isEmpty() ? 0 : steps.get(steps.size() - 1).step();
  }
}
