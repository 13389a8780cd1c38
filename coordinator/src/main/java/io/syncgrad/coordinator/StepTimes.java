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

  void applied() {
    applied = System.nanoTime();
    long slowest = computeThisStep.values().stream().mapToLong(Long::longValue).max().orElse(0);
    computeNanos += slowest;
    communicationNanos += Math.max(0, allArrived - sent - slowest);
    aggregationNanos += applied - allArrived;
    steps++;
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
