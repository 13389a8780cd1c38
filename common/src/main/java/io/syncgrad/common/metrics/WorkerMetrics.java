package io.syncgrad.common.metrics;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * What each worker measures of itself, labelled by worker: steps applied, time computing and in
 * the whole step, bytes on its links, its generation and whether it is prepared. Several
 * workers of a cluster simulated in one JVM share one registry, told apart by the label.
 */
public final class WorkerMetrics {

  private final Gauge appliedStep;
  private final Gauge generation;
  private final Gauge ready;
  private final Counter steps;
  private final Counter computeSeconds;
  private final Counter stepSeconds;
  private final Counter sentBytes;
  private final Counter receivedBytes;
  /** The cumulative byte counts last seen, by worker: sent, received. */
  private final java.util.Map<String, long[]> seenBytes = new java.util.concurrent.ConcurrentHashMap<>();

  WorkerMetrics(PrometheusRegistry registry) {
    appliedStep = Gauge.builder().name("syncgrad_worker_applied_step").help("The last step this worker applied")
        .labelNames("worker").register(registry);
    generation = Gauge.builder().name("syncgrad_worker_generation").help("The generation this worker steps in")
        .labelNames("worker").register(registry);
    ready = Gauge.builder().name("syncgrad_worker_ready")
        .help("1 while the worker is registered and prepared for its run").labelNames("worker").register(registry);
    steps = Counter.builder().name("syncgrad_worker_steps_total").help("Steps this worker applied")
        .labelNames("worker").register(registry);
    computeSeconds = Counter.builder().name("syncgrad_worker_compute_seconds_total")
        .help("Time this worker spent computing its shards").labelNames("worker").register(registry);
    stepSeconds = Counter.builder().name("syncgrad_worker_step_seconds_total")
        .help("Time of this worker's steps, computing, exchanging and waiting").labelNames("worker").register(registry);
    sentBytes = Counter.builder().name("syncgrad_worker_sent_bytes_total")
        .help("Bytes this worker wrote to its links and Artery").labelNames("worker").register(registry);
    receivedBytes = Counter.builder().name("syncgrad_worker_received_bytes_total")
        .help("Bytes this worker read from its links and Artery").labelNames("worker").register(registry);
  }

  /** The worker is prepared for a run, or no longer. */
  public void ready(String worker, boolean isReady) {
    ready.labelValues(worker).set(isReady ? 1 : 0);
  }

  /** The worker steps in {@code number}. */
  public void generation(String worker, long number) {
    generation.labelValues(worker).set(number);
  }

  /**
   * The worker applied {@code step}.
   *
   * @param sent     bytes the worker's node has written so far (cumulative)
   * @param received bytes it has read so far (cumulative)
   */
  public void applied(String worker, long step, long computeNanos, long stepNanos, long sent, long received) {
    appliedStep.labelValues(worker).set(step);
    steps.labelValues(worker).inc();
    computeSeconds.labelValues(worker).inc(computeNanos / 1e9);
    stepSeconds.labelValues(worker).inc(stepNanos / 1e9);
    long[] seen = seenBytes.computeIfAbsent(worker, w -> new long[2]);
    if (sent > seen[0]) {
      sentBytes.labelValues(worker).inc(sent - seen[0]);
      seen[0] = sent;
    }
    if (received > seen[1]) {
      receivedBytes.labelValues(worker).inc(received - seen[1]);
      seen[1] = received;
    }
  }
}
