package io.syncgrad.deploy.cluster;

import io.syncgrad.common.error.UserException;
import io.syncgrad.common.transport.LinkFaults;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The faults a run injects, from {@code --fault SPEC} flags and {@code --fault-seed}. Fault
 * injection is a product feature: a scripted fault is reproducible, and the run it hits must end
 * with the fault-free run's weights.
 *
 * <ul>
 *   <li>{@code kill-worker:W@S}: worker W (its index, 0-based) dies abruptly right after step S;
 *   <li>{@code pause-worker:W@S:MS}: worker W stops answering for MS milliseconds after step S
 *       (SIGSTOP and SIGCONT with {@code launch});
 *   <li>{@code kill-coordinator@S}: with {@code launch}, the coordinator is killed after step S
 *       and restarted, resuming from its newest checkpoint;
 *   <li>{@code partition:W@S:MS}: worker W is cut off from every node for MS milliseconds after
 *       step S: Artery to the coordinator blackholed (a partition the failure detector sees once it
 *       outlasts the acceptable heartbeat pause: 3 s between processes, 10 s in one JVM), every peer
 *       frame dropped;
 *   <li>{@code corrupt-worker:W@S}: worker W sends NaN partial sums for step S (0-based), as a
 *       broken or hostile node would: the others compute its shards again, find a finite step,
 *       and quarantine W; the run ends with the fault-free run's weights;
 *       {@code corrupt-worker:W@S:garbage} sends finite garbage instead, which only an audit
 *       ({@code --audit-fraction}) of that step finds;
 *   <li>{@code drop:P}, {@code duplicate:P}, {@code delay:P:MS}: each peer message (partial sums,
 *       reduced chunks, states) is lost and sent again, doubled, or delayed by up to MS
 *       milliseconds with probability P.
 * </ul>
 */
public record FaultPlan(List<ProcessFault> processFaults, LinkFaults messages) {

  /** A fault that hits a node: what, which worker (-1 for the coordinator), after which step. */
  public record ProcessFault(Kind kind, int worker, long step, Duration pause) {}

  /** The kinds of node faults. */
  public enum Kind {
    KILL_WORKER, PAUSE_WORKER, KILL_COORDINATOR, PARTITION, CORRUPT_WORKER, GARBAGE_WORKER;

    /** Whether the coordinator injects it through its workers (else the launcher does, on processes). */
    public boolean byCoordinator() {
      return this == PARTITION || this == CORRUPT_WORKER || this == GARBAGE_WORKER;
    }
  }

  /** No faults. */
  public static final FaultPlan NONE = new FaultPlan(List.of(), LinkFaults.NONE);

  private static final Pattern KILL = Pattern.compile("kill-worker:(\\d+)@(\\d+)");
  private static final Pattern PAUSE = Pattern.compile("pause-worker:(\\d+)@(\\d+):(\\d+)");
  private static final Pattern KILL_COORDINATOR = Pattern.compile("kill-coordinator@(\\d+)");
  private static final Pattern PARTITION = Pattern.compile("partition:(\\d+)@(\\d+):(\\d+)");
  private static final Pattern CORRUPT = Pattern.compile("corrupt-worker:(\\d+)@(\\d+)(:nan|:garbage)?");
  private static final Pattern DROP = Pattern.compile("drop:([0-9.]+)");
  private static final Pattern DUPLICATE = Pattern.compile("duplicate:([0-9.]+)");
  private static final Pattern DELAY = Pattern.compile("delay:([0-9.]+):(\\d+)");

  /** Parses every spec, reporting each bad one. */
  public static FaultPlan parse(List<String> specs, int workers, long seed) {
    List<ProcessFault> process = new ArrayList<>();
    double drop = 0;
    double duplicate = 0;
    double delay = 0;
    long maxDelay = 0;
    List<String> problems = new ArrayList<>();
    for (String raw : specs) {
      String spec = raw.trim();
      Matcher m;
      try {
        if ((m = KILL.matcher(spec)).matches()) {
          process.add(new ProcessFault(Kind.KILL_WORKER, worker(m.group(1), workers, spec), Long.parseLong(m.group(2)),
              Duration.ZERO));
        } else if ((m = PAUSE.matcher(spec)).matches()) {
          process.add(new ProcessFault(Kind.PAUSE_WORKER, worker(m.group(1), workers, spec),
              Long.parseLong(m.group(2)), Duration.ofMillis(Long.parseLong(m.group(3)))));
        } else if ((m = PARTITION.matcher(spec)).matches()) {
          process.add(new ProcessFault(Kind.PARTITION, worker(m.group(1), workers, spec), Long.parseLong(m.group(2)),
              Duration.ofMillis(Long.parseLong(m.group(3)))));
        } else if ((m = CORRUPT.matcher(spec)).matches()) {
          process.add(new ProcessFault(":garbage".equals(m.group(3)) ? Kind.GARBAGE_WORKER : Kind.CORRUPT_WORKER,
              worker(m.group(1), workers, spec), Long.parseLong(m.group(2)), Duration.ZERO));
        } else if ((m = KILL_COORDINATOR.matcher(spec)).matches()) {
          process.add(new ProcessFault(Kind.KILL_COORDINATOR, -1, Long.parseLong(m.group(1)), Duration.ZERO));
        } else if ((m = DROP.matcher(spec)).matches()) {
          drop = probability(m.group(1), spec);
        } else if ((m = DUPLICATE.matcher(spec)).matches()) {
          duplicate = probability(m.group(1), spec);
        } else if ((m = DELAY.matcher(spec)).matches()) {
          delay = probability(m.group(1), spec);
          maxDelay = Long.parseLong(m.group(2));
        } else {
          problems.add("--fault " + spec + ": expected kill-worker:W@S, pause-worker:W@S:MS, kill-coordinator@S, "
              + "partition:W@S:MS, corrupt-worker:W@S[:garbage], drop:P, duplicate:P or delay:P:MS");
        }
      } catch (UserException e) {
        problems.add(e.getMessage());
      }
    }
    if (!problems.isEmpty()) {
      throw new UserException(problems);
    }
    return new FaultPlan(List.copyOf(process), new LinkFaults(drop, duplicate, delay, Duration.ofMillis(maxDelay),
        seed, LinkFaults.NONE.retransmit()));
  }

  /** The steps after which node faults outside the coordinator strike, for the summary's count. */
  public List<Long> processFaultSteps() {
    return processFaults.stream().filter(f -> f.kind() != Kind.PARTITION).map(ProcessFault::step).toList();
  }

  /** The partitions, which the coordinator injects itself. */
  public List<io.syncgrad.coordinator.CoordinatorSettings.Partition> partitions() {
    return processFaults.stream().filter(f -> f.kind() == Kind.PARTITION)
        .map(f -> new io.syncgrad.coordinator.CoordinatorSettings.Partition(f.worker(), f.step(), f.pause())).toList();
  }

  /** The corrupted results, which the coordinator has its workers inject. */
  public List<io.syncgrad.coordinator.CoordinatorSettings.Corruption> corruptions() {
    return processFaults.stream().filter(f -> f.kind() == Kind.CORRUPT_WORKER || f.kind() == Kind.GARBAGE_WORKER)
        .map(f -> new io.syncgrad.coordinator.CoordinatorSettings.Corruption(f.worker(), f.step(),
            f.kind() == Kind.GARBAGE_WORKER)).toList();
  }

  /** The coordinator node's settings for this plan: partitions need Artery's test mode. */
  public com.typesafe.config.Config coordinatorNodeConfig(com.typesafe.config.Config base) {
    return partitions().isEmpty() ? base : base.withValue("akka.remote.artery.advanced.test-mode",
        com.typesafe.config.ConfigValueFactory.fromAnyRef(true));
  }

  private static int worker(String text, int workers, String spec) {
    int w = Integer.parseInt(text);
    if (w >= workers) {
      throw new UserException("--fault " + spec + ": worker " + w + " does not exist (workers 0.." + (workers - 1) + ")");
    }
    return w;
  }

  private static double probability(String text, String spec) {
    double p = Double.parseDouble(text);
    if (!(p >= 0 && p <= 1)) {
      throw new UserException("--fault " + spec + ": the probability must be in [0, 1], got " + text);
    }
    return p;
  }
}
