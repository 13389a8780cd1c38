package io.syncgrad.common.metrics;

import io.prometheus.metrics.core.datapoints.GaugeDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.HashMap;
import java.util.Map;

/**
 * The coordinator's view of a cluster as Prometheus series: how many workers are registered,
 * ready and stepping, the generations, what was lost and recovered, each worker's compute time.
 * The workers' figures arrive as cumulative counts in their step reports; {@link #totals} turns
 * them into counters that only go up.
 */
public final class ClusterMetrics {

  private final Gauge workers;
  private final Gauge generation;
  private final Counter workersLost;
  private final Counter deadlinesMissed;
  private final Gauge computeSeconds;
  private final Counter shardsReassigned;
  private final Counter staleRejected;
  private final Counter duplicatesRejected;
  private final Counter retransmitted;
  private final Counter faultsInjected;
  private final Map<Counter, Long> seen = new HashMap<>();
  private final Map<String, GaugeDataPoint> computeOf = new HashMap<>();

  ClusterMetrics(PrometheusRegistry registry) {
    workers = Gauge.builder().name("syncgrad_workers")
        .help("Workers by state: registered (known to the coordinator), ready (data loaded), members (of the generation)")
        .labelNames("state").register(registry);
    generation = Gauge.builder().name("syncgrad_generation").help("The current generation (1 at the start)")
        .register(registry);
    workersLost = Counter.builder().name("syncgrad_workers_lost_total").help("Workers lost during the run")
        .register(registry);
    deadlinesMissed = Counter.builder().name("syncgrad_deadlines_missed_total")
        .help("Step deadlines missed (each forms a new generation)").register(registry);
    computeSeconds = Gauge.builder().name("syncgrad_step_compute_seconds")
        .help("Each worker's compute time in its last reported step").labelNames("worker").register(registry);
    shardsReassigned = Counter.builder().name("syncgrad_shards_reassigned_total")
        .help("Shards moved to another worker by a new generation").register(registry);
    staleRejected = Counter.builder().name("syncgrad_stale_rejected_total")
        .help("Frames of an older generation or step rejected by the workers").register(registry);
    duplicatesRejected = Counter.builder().name("syncgrad_duplicates_rejected_total")
        .help("Second copies of frames rejected by the workers").register(registry);
    retransmitted = Counter.builder().name("syncgrad_retransmitted_total")
        .help("Frames sent again after a loss").register(registry);
    faultsInjected = Counter.builder().name("syncgrad_faults_injected_total")
        .help("Faults injected by --fault (scripted, and by the links)").register(registry);
    for (String state : new String[] {"registered", "ready", "members"}) {
      workers.labelValues(state).set(0);
    }
  }

  /** How many workers are in each state. */
  public void workers(int registered, int ready, int members) {
    workers.labelValues("registered").set(registered);
    workers.labelValues("ready").set(ready);
    workers.labelValues("members").set(members);
  }

  /** A generation formed. */
  public void generation(long number) {
    generation.set(number);
  }

  /** A worker was lost. */
  public void workerLost() {
    workersLost.inc();
  }

  /** A step deadline was missed. */
  public void deadlineMissed() {
    deadlinesMissed.inc();
  }

  /** A worker's compute time in the step it reported. */
  public void computed(String worker, long computeNanos) {
    GaugeDataPoint point = computeOf.get(worker);
    if (point == null) {
      point = computeSeconds.labelValues(worker);
      computeOf.put(worker, point);
    }
    point.set(computeNanos / 1e9);
  }

  /** The run's totals so far; each counter goes up by what is new. */
  public void totals(long reassigned, long stale, long duplicates, long retransmissions, long injected) {
    advance(shardsReassigned, reassigned);
    advance(staleRejected, stale);
    advance(duplicatesRejected, duplicates);
    advance(retransmitted, retransmissions);
    advance(faultsInjected, injected);
  }

  private void advance(Counter c, long total) {
    long before = seen.getOrDefault(c, 0L);
    if (total > before) {
      c.inc(total - before);
      seen.put(c, total);
    }
  }
}
