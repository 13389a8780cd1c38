package io.syncgrad.common.metrics;

import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.GaugeDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * What each worker measures of itself, labelled by worker: steps applied, time computing and in
 * the whole step, bytes on its links, its generation and whether it is prepared. Several
 * workers of a cluster simulated in one JVM share one registry, told apart by the label; each
 * takes its own {@link Of} once, so that a step's updates look nothing up and allocate nothing.
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

  /** The series of one worker. */
  public Of of(String worker) {
    return new Of(this, worker);
  }

  /** One worker's series, updated by that worker alone. */
  public static final class Of {
    private final GaugeDataPoint appliedStep;
    private final GaugeDataPoint generation;
    private final GaugeDataPoint ready;
    private final CounterDataPoint steps;
    private final CounterDataPoint computeSeconds;
    private final CounterDataPoint stepSeconds;
    private final CounterDataPoint sentBytes;
    private final CounterDataPoint receivedBytes;
    /** The cumulative byte counts last seen. */
    private long sent;
    private long received;

    private Of(WorkerMetrics m, String worker) {
      appliedStep = m.appliedStep.labelValues(worker);
      generation = m.generation.labelValues(worker);
      ready = m.ready.labelValues(worker);
      steps = m.steps.labelValues(worker);
      computeSeconds = m.computeSeconds.labelValues(worker);
      stepSeconds = m.stepSeconds.labelValues(worker);
      sentBytes = m.sentBytes.labelValues(worker);
      receivedBytes = m.receivedBytes.labelValues(worker);
    }

    /** The worker is prepared for a run, or no longer. */
    public void ready(boolean isReady) {
      ready.set(isReady ? 1 : 0);
    }

    /** The worker steps in {@code number}. */
    public void generation(long number) {
      generation.set(number);
    }

    /**
     * The worker applied {@code step}.
     *
     * @param sentTotal     bytes the worker's node has written so far (cumulative)
     * @param receivedTotal bytes it has read so far (cumulative)
     */
    public void applied(long step, long computeNanos, long stepNanos, long sentTotal, long receivedTotal) {
      appliedStep.set(step);
      steps.inc();
      computeSeconds.inc(computeNanos / 1e9);
      stepSeconds.inc(stepNanos / 1e9);
      if (sentTotal > sent) {
        sentBytes.inc(sentTotal - sent);
        sent = sentTotal;
      }
      if (receivedTotal > received) {
        receivedBytes.inc(receivedTotal - received);
        received = receivedTotal;
      }
    }
  }
}
