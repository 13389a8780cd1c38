package io.syncgrad.common.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import org.junit.jupiter.api.Test;

class TelemetryTest {

  private static MetricSnapshot find(MetricSnapshots all, String name) {
    for (MetricSnapshot s : all) {
      if (s.getMetadata().getName().equals(name)) {
        return s;
      }
    }
    throw new AssertionError("no series " + name);
  }

  private static double counter(Telemetry t, String name) {
    return ((CounterSnapshot) find(t.registry().scrape(), name)).getDataPoints().get(0).getValue();
  }

  private static double gauge(Telemetry t, String name, Labels labels) {
    for (GaugeSnapshot.GaugeDataPointSnapshot p : ((GaugeSnapshot) find(t.registry().scrape(), name)).getDataPoints()) {
      if (p.getLabels().equals(labels)) {
        return p.getValue();
      }
    }
    throw new AssertionError("no " + name + labels);
  }

  @Test
  void readinessIsTheNodesOwnRoleAlone() {
    Telemetry t = new Telemetry(Telemetry.Role.COORDINATOR);
    assertFalse(t.isReady());
    t.ready(Telemetry.Role.COORDINATOR, true, "waiting for 2 workers");
    t.ready(Telemetry.Role.WORKER, false, "coordinator lost");
    assertTrue(t.isReady(), "a worker of the same JVM does not make its coordinator unready");
    assertEquals("waiting for 2 workers", t.readiness());
    t.ready(Telemetry.Role.COORDINATOR, false, "finished");
    assertFalse(t.isReady());
  }

  @Test
  void countersFedByCumulativeReportsOnlyGoUp() {
    Telemetry t = Telemetry.unserved();
    ClusterMetrics c = t.cluster();
    c.totals(2, 5, 1, 0, 3);
    c.totals(1, 4, 1, 0, 3); // an older report arriving late
    c.totals(4, 9, 1, 2, 7);
    assertEquals(4, counter(t, "syncgrad_shards_reassigned"));
    assertEquals(9, counter(t, "syncgrad_stale_rejected"));
    assertEquals(1, counter(t, "syncgrad_duplicates_rejected"));
    assertEquals(2, counter(t, "syncgrad_retransmitted"));
    assertEquals(7, counter(t, "syncgrad_faults_injected"));
  }

  @Test
  void valuesNotMeasuredYetAreNotANumberAndStepsMoveTheGauges() {
    Telemetry t = Telemetry.unserved();
    TrainingMetrics m = t.training();
    assertTrue(Double.isNaN(gauge(t, "syncgrad_test_accuracy", Labels.EMPTY)), "no accuracy before an evaluation");
    m.started("run", "kernel", "model", 10, 100, 20);
    m.stepped(11, 100, 20, 0.5, 0.01, 1.5, 128, 4_000_000, 3_000_000);
    assertEquals(11, gauge(t, "syncgrad_step", Labels.EMPTY));
    assertEquals(0.55, gauge(t, "syncgrad_epoch", Labels.EMPTY), 1e-12);
    assertEquals(0.11, gauge(t, "syncgrad_progress_ratio", Labels.EMPTY), 1e-12);
    assertEquals(0.003, gauge(t, "syncgrad_step_phase_seconds", Labels.of("phase", "compute")), 1e-12);
    assertEquals(0.001, gauge(t, "syncgrad_step_phase_seconds", Labels.of("phase", "exchange_update")), 1e-12);
    assertEquals(128 / 0.004, gauge(t, "syncgrad_samples_per_second", Labels.EMPTY), 1e-6);
    assertEquals(128, counter(t, "syncgrad_samples"));
  }

  @Test
  void eachWorkerCountsItsOwnBytesFromCumulativeTotals() {
    Telemetry t = Telemetry.unserved();
    WorkerMetrics.Of a = t.worker().of("worker-00");
    WorkerMetrics.Of b = t.worker().of("worker-01");
    a.applied(1, 1_000, 2_000, 100, 50);
    a.applied(2, 1_000, 2_000, 250, 90);
    b.applied(1, 1_000, 2_000, 70, 10);
    CounterSnapshot sent = (CounterSnapshot) find(t.registry().scrape(), "syncgrad_worker_sent_bytes");
    for (CounterSnapshot.CounterDataPointSnapshot p : sent.getDataPoints()) {
      assertEquals(p.getLabels().get("worker").equals("worker-00") ? 250 : 70, p.getValue());
    }
    assertEquals(2, gauge(t, "syncgrad_worker_applied_step", Labels.of("worker", "worker-00")));
  }

  @Test
  void aStepsUpdatesAllocateNothing() {
    Telemetry t = Telemetry.unserved();
    TrainingMetrics run = t.training();
    WorkerMetrics.Of worker = t.worker().of("worker-00");
    ClusterMetrics cluster = t.cluster();
    run.started("run", "kernel", "model", 0, 1_000_000, 400);
    com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    long before = 0;
    for (int i = 0; i < 20_000; i++) {
      if (i == 10_000) {
        before = threads.getCurrentThreadAllocatedBytes();
      }
      run.stepped(i, 1_000_000, 400, 0.5, 0.01, 1.0, 128, 2_000_000, 1_000_000);
      worker.applied(i, 1_000_000, 2_000_000, 1000L * i, 1000L * i);
      cluster.computed("worker-00", 1_000_000);
    }
    long allocated = threads.getCurrentThreadAllocatedBytes() - before;
    assertTrue(allocated < 4096, allocated + " bytes allocated over 10,000 steps' metric updates");
  }
}
