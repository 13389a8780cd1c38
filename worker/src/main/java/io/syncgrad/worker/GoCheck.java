package io.syncgrad.worker;

import io.syncgrad.common.protocol.WorkerProtocol.Go;
import io.syncgrad.common.protocol.WorkerProtocol.Member;
import java.util.HashSet;
import java.util.Set;

/**
 * Whether a generation's {@link Go} can be stepped with: the members' blocks of shards must
 * cover the run's shards once, in rank order, each member named once.
 * A Go that fails would otherwise index past the shards or leave some out, and the worker would
 * stop or compute a sum that is not the step's.
 */
final class GoCheck {

  private GoCheck() {}

  /** @return null when {@code go} is sound in a run of {@code shards} shards, else what is wrong */
  static String problem(Go go, int shards) {
    if (go.members().isEmpty() || go.members().size() > shards) {
      return go.members().size() + " members for " + shards + " shards";
    }
    Set<String> ids = new HashSet<>();
    int next = 0;
    for (Member m : go.members()) {
      if (!ids.add(m.workerId())) {
        return "member " + m.workerId() + " is named twice";
      }
      if (m.firstShard() != next || m.endShard() <= m.firstShard() || m.endShard() > shards) {
        return "member " + m.workerId() + " has shards [" + m.firstShard() + ", " + m.endShard() + "), expected a "
            + "block from " + next + " within " + shards;
      }
      if (m.appliedStep() < 0 || m.appliedStep() > go.startStep()) {
        return "member " + m.workerId() + " applied " + m.appliedStep() + " steps, past the start " + go.startStep();
      }
      next = m.endShard();
    }
    if (next != shards) {
      return "the blocks end at shard " + next + " of " + shards;
    }
    if (!go.stateSource().isEmpty() && !ids.contains(go.stateSource())) {
      return "the state source " + go.stateSource() + " is not a member";
    }
    return null;
  }
}
