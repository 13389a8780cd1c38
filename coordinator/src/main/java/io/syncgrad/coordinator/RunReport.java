package io.syncgrad.coordinator;

import io.syncgrad.common.protocol.CoordinatorProtocol.StepReport;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a cluster run tells in {@code summary.json} beyond the one-node trainer: per worker its
 * compute time and its share of the step, the traffic of every node, the generations, and the
 * faults injected and recovered from. Fed by the workers' step reports, whose counters are
 * cumulative, so a lost report loses nothing.
 */
final class RunReport {

  /** The latest cumulative figures of one worker. */
  private static final class WorkerFigures {
    long reports;
    long computeNanos;
    /** Reports and compute time since the last {@link #computeWindow()}. */
    long windowReports;
    long windowNanos;
    long stepNanos;
    long sent;
    long received;
    /** The step of the report the traffic figures come from. */
    long trafficStep;
    /** The latest step this worker reported. */
    long lastStep;
    long injected;
    long duplicates;
    long stale;
    long retries;
  }

  private final Map<String, WorkerFigures> workers = new TreeMap<>();
  private long shardsReassigned;
  private long generations;
  private long coordinatorFaults;
  private Map<String, List<Integer>> assignment = Map.of();

  /** Whether every one of {@code ids} has reported step {@code step} or a later one. */
  boolean reportedThrough(java.util.Collection<String> ids, long step) {
    for (String id : ids) {
      WorkerFigures f = workers.get(id);
      if (f == null || f.lastStep < step) {
        return false;
      }
    }
    return true;
  }

  /** Takes a worker's report. */
  void report(StepReport r) {
    WorkerFigures f = workers.computeIfAbsent(r.workerId(), k -> new WorkerFigures());
    f.reports++;
    f.computeNanos += r.computeNanos();
    f.windowReports++;
    f.windowNanos += r.computeNanos();
    f.stepNanos += r.stepNanos();
    if (r.sentBytes() >= f.sent) {
      f.sent = r.sentBytes();
      f.received = Math.max(f.received, r.receivedBytes());
      f.trafficStep = r.step();
    }
    f.lastStep = Math.max(f.lastStep, r.step());
    f.injected = Math.max(f.injected, r.faultsInjected());
    f.duplicates = Math.max(f.duplicates, r.duplicatesRejected());
    f.stale = Math.max(f.stale, r.staleRejected());
    f.retries = Math.max(f.retries, r.retries());
  }

  /**
   * Each worker's mean compute time per step, in milliseconds, since the last call: the series
   * in which a slow worker stands out. Workers without reports since are left out.
   */
  Map<String, Object> computeWindow() {
    Map<String, Object> out = new TreeMap<>();
    for (Map.Entry<String, WorkerFigures> e : workers.entrySet()) {
      WorkerFigures f = e.getValue();
      if (f.windowReports > 0) {
        out.put(e.getKey(), Math.round(f.windowNanos / 1e3 / f.windowReports) / 1e3);
        f.windowReports = 0;
        f.windowNanos = 0;
      }
    }
    return out;
  }

  /** A generation formed with this shard assignment. */
  void generation(Map<String, List<Integer>> shards) {
    if (generations > 0) {
      Map<Integer, String> before = owners(assignment);
      Map<Integer, String> after = owners(shards);
      for (Map.Entry<Integer, String> e : after.entrySet()) {
        if (!e.getValue().equals(before.get(e.getKey()))) {
          shardsReassigned++;
        }
      }
    }
    generations++;
    assignment = new LinkedHashMap<>(shards);
  }

  private static Map<Integer, String> owners(Map<String, List<Integer>> a) {
    Map<Integer, String> out = new TreeMap<>();
    a.forEach((w, shards) -> shards.forEach(s -> out.put(s, w)));
    return out;
  }

  /** A fault the coordinator injected itself (a partition on its transport). */
  void coordinatorFault() {
    coordinatorFaults++;
  }

  long shardsReassigned() {
    return shardsReassigned;
  }

  /** The {@code distributed} object of the summary. */
  /**
   * @param firstStep the step the run started from: a worker's bytes are averaged over the steps
   *                  up to its last report (the others report every few steps)
   */
  Map<String, Object> distributed(long steps, long firstStep, long generation, long coordinatorSent,
      long coordinatorReceived) {
    Map<String, Object> out = new LinkedHashMap<>();
    Map<String, Object> compute = new TreeMap<>();
    Map<String, Object> share = new TreeMap<>();
    String slowest = null;
    double slowestMs = -1;
    for (Map.Entry<String, WorkerFigures> e : workers.entrySet()) {
      WorkerFigures f = e.getValue();
      double ms = f.reports == 0 ? 0 : f.computeNanos / 1e6 / f.reports;
      compute.put(e.getKey(), round(ms));
      share.put(e.getKey(), f.stepNanos == 0 ? 0 : round((double) f.computeNanos / f.stepNanos));
      if (ms > slowestMs) {
        slowestMs = ms;
        slowest = e.getKey();
      }
    }
    out.put("compute_ms_per_step", compute);
    out.put("slowest_worker", slowest);
    // Compute over the whole step, per worker: the rest is the exchange with the peers and waiting.
    out.put("compute_share_of_step", share);
    Map<String, Object> traffic = new TreeMap<>();
    long n = Math.max(1, steps);
    traffic.put("coordinator", Map.of("sent_bytes_per_step", coordinatorSent / n, "received_bytes_per_step",
        coordinatorReceived / n));
    workers.forEach((id, f) -> {
      long covered = Math.max(1, f.trafficStep - firstStep);
      traffic.put(id, Map.of("sent_bytes_per_step", f.sent / covered, "received_bytes_per_step",
          f.received / covered));
    });
    out.put("traffic", traffic);
    out.put("final_generation", generation);
    out.put("shard_assignment", assignment);
    return out;
  }

  /** The {@code faults} object of the summary (the run adds {@code resumes}). */
  Map<String, Object> faults(long scripted, long workersLost) {
    long injected = coordinatorFaults + scripted;
    long duplicates = 0;
    long stale = 0;
    long retries = 0;
    for (WorkerFigures f : workers.values()) {
      injected += f.injected;
      duplicates += f.duplicates;
      stale += f.stale;
      retries += f.retries;
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("injected", injected);
    out.put("workers_lost", workersLost);
    out.put("shards_reassigned", shardsReassigned);
    out.put("stale_rejected", stale);
    out.put("duplicates_rejected", duplicates);
    out.put("retransmitted", retries);
    out.put("generations", generations);
    return out;
  }

  private static double round(double v) {
    return Math.round(v * 1000) / 1000.0;
  }
}
