package io.syncgrad.worker;

import io.syncgrad.common.protocol.WorkerProtocol.Go;
import java.util.HashMap;
import java.util.Map;

/**
 * The faults a generation's {@link Go} scripts for this worker itself (the peer links inject
 * theirs, see {@link PeerLinks}): wrong partial sums at a step, and being cut off from its peers
 * after a step. Each fires once. With no fault plan it is empty, and the worker steps as if it
 * did not exist.
 */
final class ScriptedFaults {
  /** Steps whose partial sums this worker corrupts (true: with finite garbage, false: NaN). */
  private final Map<Long, Boolean> corruptions = new HashMap<>();
  /** Steps after which this worker is cut off from its peers, for how many milliseconds. */
  private final Map<Long, Long> partitions = new HashMap<>();

  /** None: before the first generation. */
  ScriptedFaults() {
  }

  /** Those of {@code go} that name {@code workerId}. */
  static ScriptedFaults of(Go go, String workerId) {
    ScriptedFaults faults = new ScriptedFaults();
    for (var c : go.corruptions()) {
      if (c.workerId().equals(workerId)) {
        faults.corruptions.put(c.step(), c.finite());
      }
    }
    for (var p : go.partitions()) {
      if (p.workerId().equals(workerId)) {
        faults.partitions.put(p.afterStep(), p.millis());
      }
    }
    return faults;
  }

  /**
   * Whether this worker's partial sums of {@code step} are to be corrupted, and how: null when
   * not, true for finite garbage, false for NaN. Only the first ask of a step gets the answer.
   */
  Boolean takeCorruption(long step) {
    return corruptions.remove(step);
  }

  /** For how many milliseconds this worker is cut off after {@code step}; null when it is not. */
  Long takePartition(long step) {
    return partitions.remove(step);
  }
}
