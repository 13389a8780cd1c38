package io.syncgrad.coordinator;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Where a distributed step's time goes: each worker's compute time and when its last result
 * arrived, and the split of the step between compute, communication (serialisation, transfer,
 * queueing) and the coordinator's aggregation and update.
 */
final class StepTimes {

  private final Map<String, Long> computeThisStep = new TreeMap<>();
  private final Map<String, Long> arrivedThisStep = new TreeMap<>();
  private final Map<String, Long> computeTotal = new TreeMap<>();
  private long sent;
  private long allArrived;
  private long applied;
  private long computeNanos;
  private long communicationNanos;
  private long aggregationNanos;
  private long steps;
  private final long[] recent = new long[20];
  private int recentCount;
  private int recentNext;

  void stepSent() {
    computeThisStep.clear();
    arrivedThisStep.clear();
    sent = System.nanoTime();
  }

  void resultArrived(String worker, long nanos) {
    computeThisStep.merge(worker, nanos, Long::sum);
    computeTotal.merge(worker, nanos, Long::sum);
    arrivedThisStep.put(worker, System.nanoTime() - sent);
  }

  void allArrived() {
    allArrived = System.nanoTime();
  }

  /**
   * The step's update is applied.
   *
   * @param recovered whether the step needed a deadline to complete; such a step says nothing
   *                  about how long a healthy step takes, so it does not feed the deadline
   */
  void applied(boolean recovered) {
    applied = System.nanoTime();
    long slowest = computeThisStep.values().stream().mapToLong(Long::longValue).max().orElse(0);
    computeNanos += slowest;
    communicationNanos += Math.max(0, allArrived - sent - slowest);
    aggregationNanos += applied - allArrived;
    if (!recovered) {
      recent[recentNext] = applied - sent;
      recentNext = (recentNext + 1) % recent.length;
      recentCount = Math.min(recentCount + 1, recent.length);
    }
    steps++;
  }

  /**
   * A step deadline from the steps so far: three times the median of the last 20 that needed no
   * recovery, at least 250 ms (a reassignment costs only some redundant compute); ten seconds
   * before any such step.
   */
  java.time.Duration adaptiveDeadline() {
    if (recentCount == 0) {
      return java.time.Duration.ofSeconds(10);
    }
    long[] sorted = java.util.Arrays.copyOf(recent, recentCount);
    java.util.Arrays.sort(sorted);
    long median = sorted[recentCount / 2];
    return java.time.Duration.ofNanos(Math.max(250_000_000L, 3 * median));
  }

  /** From sending the weights to the update applied. */
  long lastStepNanos() {
    return applied - sent;
  }

  /** Each worker's compute time and arrival, for this step's metrics line. */
  Map<String, Object> lastStepMetrics() {
    Map<String, Object> perWorker = new LinkedHashMap<>();
    for (Map.Entry<String, Long> e : computeThisStep.entrySet()) {
      perWorker.put(e.getKey(), Map.of("compute_ms", ms(e.getValue()), "arrived_ms", ms(arrivedThisStep.get(e.getKey()))));
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("workers", perWorker);
    m.put("aggregate_ms", ms(applied - allArrived));
    return m;
  }

  /** The run's totals for {@code summary.json}. */
  Map<String, Object> summary() {
    Map<String, Object> perWorker = new LinkedHashMap<>();
    String slowest = null;
    for (Map.Entry<String, Long> e : computeTotal.entrySet()) {
      perWorker.put(e.getKey(), Map.of("compute_seconds", e.getValue() / 1e9));
      if (slowest == null || e.getValue() > computeTotal.get(slowest)) {
        slowest = e.getKey();
      }
    }
    double total = computeNanos + communicationNanos + aggregationNanos;
    Map<String, Object> split = new LinkedHashMap<>();
    split.put("compute", total > 0 ? computeNanos / total : 0);
    split.put("communication", total > 0 ? communicationNanos / total : 0);
    split.put("aggregation_update", total > 0 ? aggregationNanos / total : 0);
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("workers", perWorker);
    m.put("slowest_worker", slowest);
    m.put("step_time_split", split);
    m.put("mean_step_ms", steps > 0 ? ms(total / steps) : 0);
    return m;
  }

  private static double ms(double nanos) {
    return Math.round(nanos / 1e4) / 100.0;
  }
}
