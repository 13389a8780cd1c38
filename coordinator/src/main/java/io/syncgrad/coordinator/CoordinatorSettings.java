package io.syncgrad.coordinator;

import io.syncgrad.common.protocol.DataSpec;
import io.syncgrad.common.transport.LinkFaults;
import java.time.Duration;

/**
 * How the coordinator runs a cluster.
 *
 * @param workers           workers to wait for before the run starts
 * @param data              where workers find the training data
 * @param allowMixedKernels accept workers whose kernel differs from the first one's (their
 *                          bytes differ, so the result is no longer reproducible)
 * @param stepTimeout       how long a step may wait for a worker's results before its missing
 *                          shards are given to the other workers; null for an adaptive deadline
 *                          (three times the median of recent steps, at least 250 ms)
 * @param faults            message faults that the workers' peer links inject
 * @param scriptedFaultSteps the steps after which faults outside the coordinator are injected
 *                          (killed or paused workers), to count them in the summary
 * @param shipData          send the training data to the workers instead of letting them read it
 * @param partitions        network partitions between this node and a worker to inject
 * @param minWorkers        below this many ready workers the coordinator pauses between steps
 * @param waitTimeout       how long it waits for workers (at the start or below minWorkers)
 *                          before the run fails, so that nothing waits forever
 * @param joinTimeout       how long the start waits for all {@code workers} to be ready before it
 *                          starts with the ready ones (at least {@code minWorkers})
 * @param corruptions       workers whose results to corrupt at a step, to exercise the checks
 *                          that find and quarantine them
 * @param auditFraction     the share of members' blocks a step that another member computes
 *                          again and compares bit for bit (0: none, 1: all)
 */
public record CoordinatorSettings(int workers, DataSpec data, boolean allowMixedKernels, Duration stepTimeout,
    LinkFaults faults, java.util.List<Long> scriptedFaultSteps, boolean shipData,
    java.util.List<Partition> partitions, int minWorkers, Duration waitTimeout, Duration joinTimeout,
    java.util.List<Corruption> corruptions, double auditFraction) {

  /** How long a run waits for workers by default. */
  public static final Duration DEFAULT_WAIT_TIMEOUT = Duration.ofMinutes(10);
  /** How long the start waits for every worker by default. */
  public static final Duration DEFAULT_JOIN_TIMEOUT = Duration.ofMinutes(1);


  /**
   * After step {@code step}, the {@code worker}-th worker (in name order) is cut off from every
   * node for {@code duration}: Artery between it and the coordinator is blackholed (a real
   * partition, which the failure detector sees; needs {@code akka.remote.artery.advanced.test-mode
   * = on}), and its peer links drop every frame.
   */
  public record Partition(int worker, long step, Duration duration) {}

  /**
   * The {@code worker}-th worker (in name order) sends wrong partial sums for step {@code step}:
   * NaN, or finite garbage when {@code finite}.
   */
  public record Corruption(int worker, long step, boolean finite) {}

  public CoordinatorSettings {
    scriptedFaultSteps = java.util.List.copyOf(scriptedFaultSteps);
    partitions = java.util.List.copyOf(partitions);
    corruptions = java.util.List.copyOf(corruptions);
    if (!(auditFraction >= 0 && auditFraction <= 1)) {
      throw new IllegalArgumentException("audit fraction " + auditFraction + " outside [0, 1]");
    }
  }

  /**
   * The steps after which a scripted fault strikes (processes killed or paused, partitions): the
   * workers hold there until the step is recorded, so that the fault lands on the step it names.
   */
  public java.util.Set<Long> faultSteps() {
    java.util.Set<Long> steps = new java.util.TreeSet<>(scriptedFaultSteps);
    partitions.forEach(p -> steps.add(p.step()));
    return steps;
  }

  /** Settings without corrupted results nor audits. */
  public CoordinatorSettings(int workers, DataSpec data, boolean allowMixedKernels, Duration stepTimeout,
      LinkFaults faults, java.util.List<Long> scriptedFaultSteps, boolean shipData,
      java.util.List<Partition> partitions, int minWorkers, Duration waitTimeout, Duration joinTimeout) {
    this(workers, data, allowMixedKernels, stepTimeout, faults, scriptedFaultSteps, shipData, partitions, minWorkers,
        waitTimeout, joinTimeout, java.util.List.of(), 0);
  }



  /** Settings with an adaptive step deadline and no faults. */
  public CoordinatorSettings(int workers, DataSpec data, boolean allowMixedKernels) {
    this(workers, data, allowMixedKernels, null);
  }

  /** Settings with a fixed step deadline (null: adaptive), no faults, and the default membership bounds. */
  public CoordinatorSettings(int workers, DataSpec data, boolean allowMixedKernels, Duration stepTimeout) {
    this(workers, data, allowMixedKernels, stepTimeout, LinkFaults.NONE, java.util.List.of(), false,
        java.util.List.of(), 1, DEFAULT_WAIT_TIMEOUT, DEFAULT_JOIN_TIMEOUT);
  }
}
