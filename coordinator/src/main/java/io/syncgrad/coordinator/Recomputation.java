package io.syncgrad.coordinator;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the run does when a step's sum is not finite: whose result brought the non-finite values
 * in is computed again by the other workers before anyone is blamed.
 *
 * <p>A shard's result is a pure function of the weights, the seed and the step, so computing it
 * again tells a worker that diverged from one that sent garbage. The suspect is held out and
 * the step is formed again without it. If the others' step is finite, the suspect's result was
 * not the step's: it is named and quarantined for the rest of the run, and the run goes on with
 * the bytes of a run without the fault. If theirs diverges too, the training itself diverged.
 * With nobody left to compute it again, the step's divergence ends the run, naming the suspect.
 */
final class Recomputation {

  /** What to do about a step that diverged. */
  enum Verdict { RECOMPUTE, DIVERGED }

  /** A step being computed again without {@code suspect}; {@code applied} is its report's step. */
  private record Pending(long applied, String suspect, String reporter) {}

  private Pending pending;
  private final List<Map<String, Object>> quarantined = new ArrayList<>();

  /**
   * A worker reported that step {@code applied} (its report's step: the step index plus one)
   * could not be applied.
   *
   * @param suspect  the worker whose result brought the non-finite values in; empty: none
   * @param eligible how many workers could form a generation without the suspect
   * @param needed   the fewest a generation may have
   */
  Verdict diverged(long applied, String suspect, String reporter, int eligible, int needed) {
    if (pending != null && pending.applied() == applied) {
      return Verdict.DIVERGED;
    }
    if (suspect.isEmpty() || eligible < Math.max(1, needed)) {
      return Verdict.DIVERGED;
    }
    pending = new Pending(applied, suspect, reporter);
    return Verdict.RECOMPUTE;
  }

  /** The worker being checked, or null. */
  String suspect() {
    return pending == null ? null : pending.suspect();
  }

  /** Why the recomputed step diverged too: what the divergence message adds. */
  String sameOutcome() {
    return pending == null ? "" : " (computed again without worker " + pending.suspect() + ", with the same outcome)";
  }

  /**
   * The record reached step {@code applied}: when that includes the step computed again, its
   * suspect's result was not the step's.
   *
   * @return the worker to quarantine, or null
   */
  String recorded(long applied) {
    if (pending == null || applied < pending.applied()) {
      return null;
    }
    Map<String, Object> q = new LinkedHashMap<>();
    q.put("worker", pending.suspect());
    q.put("step", pending.applied() - 1);
    q.put("reported_by", pending.reporter());
    quarantined.add(q);
    String suspect = pending.suspect();
    pending = null;
    return suspect;
  }

  /** Every quarantined worker, the step it failed and who found it: for the summary. */
  List<Map<String, Object>> quarantined() {
    return List.copyOf(quarantined);
  }
}
