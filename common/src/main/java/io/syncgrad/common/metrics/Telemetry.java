package io.syncgrad.common.metrics;

import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * What one node tells its operators while it runs: its metrics (in a Prometheus registry of its
 * own, so that the nodes of a cluster simulated in one JVM do not mix theirs up) and whether it
 * is ready. The command line serves both over HTTP when asked ({@code --metrics-port}); nothing
 * here knows of sockets or actors.
 *
 * <p>Readiness belongs to one role: the coordinator's in a coordinator node (and in a cluster
 * simulated in one JVM, whose workers also report here), a worker's in a worker node, the
 * trainer's in the one-node trainer. Reports of other roles are ignored, so a worker lost inside
 * a simulated cluster does not make its coordinator look unready.
 */
public final class Telemetry {

  /** Whose readiness a node reports. */
  public enum Role { TRAINER, COORDINATOR, WORKER }

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final Role role;
  private volatile boolean ready;
  private volatile String readiness = "starting";
  private TrainingMetrics training;
  private ClusterMetrics cluster;
  private WorkerMetrics worker;

  /** @param role whose readiness this node reports */
  public Telemetry(Role role) {
    this.role = role;
  }

  /** Telemetry that nobody serves: for tests and embedded use. */
  public static Telemetry unserved() {
    return new Telemetry(Role.TRAINER);
  }

  /** The registry the metrics endpoint serves. */
  public PrometheusRegistry registry() {
    return registry;
  }

  /** The run's metrics (step, loss, checkpoints), registered on first use. */
  public synchronized TrainingMetrics training() {
    if (training == null) {
      training = new TrainingMetrics(registry);
    }
    return training;
  }

  /** The coordinator's view of the cluster (workers, generations, faults), registered on first use. */
  public synchronized ClusterMetrics cluster() {
    if (cluster == null) {
      cluster = new ClusterMetrics(registry);
    }
    return cluster;
  }

  /** Each worker's own figures, labelled by worker, registered on first use. */
  public synchronized WorkerMetrics worker() {
    if (worker == null) {
      worker = new WorkerMetrics(registry);
    }
    return worker;
  }

  /**
   * Says whether the node is ready, and why (or why not); ignored unless {@code from} is this
   * node's role.
   */
  public void ready(Role from, boolean isReady, String why) {
    if (from == role) {
      readiness = why;
      ready = isReady;
    }
  }

  /** Whether the node is ready: a coordinator whose run is under way or waiting within its timeouts, a worker registered and prepared. */
  public boolean isReady() {
    return ready;
  }

  /** Why the node is ready or not, in a few words. */
  public String readiness() {
    return readiness;
  }
}
