package io.syncgrad.coordinator;

import akka.actor.typed.ActorRef;
import io.syncgrad.common.protocol.WorkerProtocol;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Who may take part in the run: the workers that registered, those that are ready (data loaded,
 * state received), those suspended for missing a generation or a deadline, and those lost. The
 * coordinator asks a suspended worker again after it sat out {@link #SIT_OUT_STEPS} steps,
 * twice as long at each new suspension, so that a worker whose message was lost is not kept out
 * for good, and a flapping one costs little.
 *
 * <p>A worker whose result was not finite is held out while others compute that result again;
 * when theirs is finite, the worker is quarantined: out for the rest of the run.
 */
final class Membership {

  /** Steps a worker sits out after its first suspension. */
  static final int SIT_OUT_STEPS = 16;
  /** The longest pause between two requests to workers that are ready but did not answer. */
  static final java.time.Duration ASK_AGAIN_AT_MOST = java.time.Duration.ofSeconds(30);

  /**
   * How long to wait before asking ready workers again after {@code attempt} generations (0 for
   * the first) in which too few of them answered: {@code formTimeout} doubled at each attempt, at
   * most {@link #ASK_AGAIN_AT_MOST}. Workers that were all stopped at once (a pause, a long
   * collection, a busy host) answer the first request after they are back; dead ones cost a
   * request every half minute until the cluster removes them.
   */
  static java.time.Duration askAgainAfter(java.time.Duration formTimeout, int attempt) {
    java.time.Duration d = formTimeout.multipliedBy(1L << Math.min(Math.max(attempt, 0), 16));
    return d.compareTo(ASK_AGAIN_AT_MOST) > 0 ? ASK_AGAIN_AT_MOST : d;
  }

  /** A worker that registered. */
  record Worker(String id, ActorRef<WorkerProtocol.Command> ref, String peerEndpoint) {}

  private final TreeMap<String, Worker> workers = new TreeMap<>();
  private final TreeSet<String> ready = new TreeSet<>();
  private final Map<String, Long> askAgainAt = new HashMap<>();
  private final Map<String, Integer> suspensions = new HashMap<>();
  private final TreeSet<String> lost = new TreeSet<>();
  /** Workers kept out while a result of theirs is computed again by others. */
  private final TreeSet<String> held = new TreeSet<>();
  /** Workers out for the rest of the run: a result of theirs was not what others computed. */
  private final TreeSet<String> quarantined = new TreeSet<>();
  /** Every worker that dropped out of a generation at some point: lost, or suspended. */
  private final TreeSet<String> droppedOut = new TreeSet<>();
  /** The workers when the run started, in name order: what fault specs' worker indices mean. */
  private final List<String> atStart = new ArrayList<>();
  private String kernel;

  /**
   * The kernel every worker must share.
   *
   * @return null when {@code workerKernel} is acceptable, else why not
   */
  String kernelProblem(String workerKernel, boolean allowMixed) {
    if (kernel == null) {
      kernel = workerKernel;
      return null;
    }
    if (kernel.equals(workerKernel) || allowMixed) {
      return null;
    }
    return "its kernel " + workerKernel + " differs from the cluster's " + kernel
        + " (the bytes would differ; --allow-mixed-kernels accepts it)";
  }

  /** @return whether the worker is new (a quarantined worker never is) */
  boolean register(Worker w) {
    if (quarantined.contains(w.id())) {
      return false;
    }
    lost.remove(w.id());
    return workers.putIfAbsent(w.id(), w) == null;
  }

  Worker get(String id) {
    return workers.get(id);
  }

  boolean known(String id) {
    return workers.containsKey(id);
  }

  int size() {
    return workers.size();
  }

  Iterable<Worker> all() {
    return workers.values();
  }

  void ready(String id) {
    if (!quarantined.contains(id)) {
      ready.add(id);
    }
  }

  boolean isReady(String id) {
    return ready.contains(id);
  }

  int readyCount() {
    return ready.size();
  }

  /** @return whether it was a worker of the run */
  boolean lose(String id) {
    ready.remove(id);
    askAgainAt.remove(id);
    if (workers.remove(id) == null) {
      return false;
    }
    lost.add(id);
    droppedOut.add(id);
    return true;
  }

  /** Workers that dropped out of the run so far, for good or for a while. */
  int lostCount() {
    return droppedOut.size();
  }

  /** Keeps the worker out of generations until {@link #release} or {@link #quarantine}. */
  void hold(String id) {
    held.add(id);
  }

  /** Lets a held worker take part again. */
  void release(String id) {
    held.remove(id);
  }

  /** Keeps the worker out for the rest of the run. */
  void quarantine(String id) {
    held.remove(id);
    ready.remove(id);
    askAgainAt.remove(id);
    quarantined.add(id);
    droppedOut.add(id);
  }

  boolean quarantined(String id) {
    return quarantined.contains(id);
  }

  /** The ready workers that could form a generation now that are neither held nor quarantined. */
  int eligibleCount() {
    int n = 0;
    for (String id : ready) {
      if (!held.contains(id) && !quarantined.contains(id)) {
        n++;
      }
    }
    return n;
  }

  /** Keeps the worker out until it sat out its time from {@code step}. */
  void suspend(String id, long step) {
    droppedOut.add(id);
    int times = suspensions.merge(id, 1, Integer::sum);
    askAgainAt.put(id, step + ((long) SIT_OUT_STEPS << Math.min(times - 1, 10)));
  }

  boolean suspended(String id) {
    return askAgainAt.containsKey(id);
  }

  /** Whether a suspended worker's time is up at {@code step}. */
  boolean dueAgain(long step) {
    return askAgainAt.values().stream().anyMatch(at -> at <= step);
  }

  /**
   * Who is asked to form the next generation at {@code step}: the ready workers, in name order,
   * less the suspended ones whose time is not up (every ready one when that leaves fewer than
   * {@code needed}, so that a run short of workers never waits for ones it does not ask), and
   * never a held or quarantined one.
   */
  List<String> candidates(long step, int needed) {
    askAgainAt.values().removeIf(at -> at <= step);
    List<String> out = new ArrayList<>();
    for (String id : ready) {
      if (!askAgainAt.containsKey(id) && !held.contains(id) && !quarantined.contains(id)) {
        out.add(id);
      }
    }
    if (out.size() < Math.max(1, needed)) {
      askAgainAt.clear();
      out.clear();
      for (String id : ready) {
        if (!held.contains(id) && !quarantined.contains(id)) {
          out.add(id);
        }
      }
    }
    return out;
  }

  /** Fixes the workers of the run's start, for fault specs. */
  void started() {
    if (atStart.isEmpty()) {
      atStart.addAll(workers.keySet());
    }
  }

  /** The {@code index}-th worker of the start, or null. */
  String atStart(int index) {
    return index < atStart.size() ? atStart.get(index) : null;
  }
}
