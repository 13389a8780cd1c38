package io.syncgrad.deploy.cluster;

import io.syncgrad.common.error.UserException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The faults a run injects, from {@code --fault SPEC} flags. Fault injection is a product
 * feature: a scripted fault is reproducible, and the run it hits must end with the fault-free
 * run's weights.
 *
 * <p>Supported here: {@code kill-worker:W@S}, worker W (its index, 0-based) dies abruptly right
 * after step S is applied (in one JVM its actor system terminates without leaving the cluster).
 */
public record FaultPlan(List<KillWorker> kills) {

  /** Worker {@code worker} dies after step {@code step}. */
  public record KillWorker(int worker, long step) {}

  private static final Pattern KILL = Pattern.compile("kill-worker:(\\d+)@(\\d+)");

  /** No faults. */
  public static final FaultPlan NONE = new FaultPlan(List.of());

  /** Parses every spec, reporting each bad one. */
  public static FaultPlan parse(List<String> specs, int workers) {
    List<KillWorker> kills = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    for (String spec : specs) {
      Matcher m = KILL.matcher(spec.trim());
      if (!m.matches()) {
        problems.add("--fault " + spec + ": expected kill-worker:W@S (worker index W, step S)");
        continue;
      }
      int w = Integer.parseInt(m.group(1));
      if (w >= workers) {
        problems.add("--fault " + spec + ": worker " + w + " does not exist (workers 0.." + (workers - 1) + ")");
        continue;
      }
      kills.add(new KillWorker(w, Long.parseLong(m.group(2))));
    }
    if (!problems.isEmpty()) {
      throw new UserException(problems);
    }
    return new FaultPlan(List.copyOf(kills));
  }
}
