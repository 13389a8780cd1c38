package io.syncgrad.deploy;

import io.syncgrad.deploy.cluster.FaultPlan;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** The fault-injection, deadline and membership options of the cluster commands. */
final class FaultOptions {

  @Option(names = "--fault", paramLabel = "SPEC",
      description = "Inject a fault (repeatable): kill-worker:W@S, pause-worker:W@S:MS, kill-coordinator@S (launch), "
          + "partition:W@S:MS, corrupt-worker:W@S, drop:P, duplicate:P, delay:P:MS.")
  List<String> specs = new ArrayList<>();

  @Option(names = "--fault-seed", defaultValue = "0", paramLabel = "N",
      description = "Seed of the message faults: the same seed injects the same faults (default 0).")
  long seed;

  @Option(names = "--step-timeout", paramLabel = "DURATION",
      description = "How long a step waits for a worker before its shards go to the others, e.g. 5s "
          + "(default: adaptive, three times the median recent step, at least 250ms).")
  String stepTimeout;

  @Option(names = "--min-workers", defaultValue = "1", paramLabel = "N",
      description = "Below N ready workers the coordinator waits between steps, and continues when enough are back (default 1).")
  int minWorkers;

  @Option(names = "--wait-timeout", defaultValue = "10m", paramLabel = "DURATION",
      description = "How long to wait for workers, at the start or below --min-workers, before the run fails (default 10m).")
  String waitTimeout;

  @Option(names = "--join-timeout", defaultValue = "1m", paramLabel = "DURATION",
      description = "How long the start waits for all --workers to be ready; then the run starts with the ready ones, "
          + "if at least --min-workers, and the others join when ready (default 1m).")
  String joinTimeout;

  /** How long the start waits for every worker. */
  Duration joinTimeout() {
    return Durations.parse("--join-timeout", joinTimeout);
  }

  /** How long to wait for workers. */
  Duration waitTimeout() {
    return Durations.parse("--wait-timeout", waitTimeout);
  }

  /** The fixed step deadline, or null for the adaptive one. */
  Duration stepTimeout() {
    return stepTimeout == null ? null : Durations.parse("--step-timeout", stepTimeout);
  }

  /** Refuses a --min-workers that no cluster of {@code workers} workers can meet (or a meaningless one). */
  void checkMinWorkers(int workers) {
    if (minWorkers < 1 || minWorkers > workers) {
      throw new io.syncgrad.common.error.UserException("--min-workers must be in [1, " + workers + "] (the "
          + "workers of the run), got " + minWorkers);
    }
  }

  FaultPlan plan(int workers) {
    return FaultPlan.parse(specs, workers, seed);
  }
}
