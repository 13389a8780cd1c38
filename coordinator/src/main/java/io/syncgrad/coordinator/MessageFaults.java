package io.syncgrad.coordinator;

import io.syncgrad.common.model.Hashing;
import java.time.Duration;

/**
 * Network faults injected at the coordinator's boundary, in both directions: each weights
 * message it sends and each gradient message it receives is dropped, duplicated or delayed with
 * the given probabilities. A decision is a pure function of (seed, direction, step, generation,
 * shard or worker), so a run with faults replays exactly from its seed.
 *
 * @param drop      probability that a message is lost
 * @param duplicate probability that a message arrives twice
 * @param delay     probability that a message is held back
 * @param maxDelay  the longest hold-back; each delay is uniform in (0, maxDelay]
 * @param seed      the fault seed
 */
public record MessageFaults(double drop, double duplicate, double delay, Duration maxDelay, long seed) {

  /** No faults. */
  public static final MessageFaults NONE = new MessageFaults(0, 0, 0, Duration.ZERO, 0);

  /** What happens to one message. */
  public sealed interface Decision permits Deliver, Drop, Duplicate, Delay {}

  /** Delivered as sent. */
  public record Deliver() implements Decision {}

  /** Lost. */
  public record Drop() implements Decision {}

  /** Delivered twice. */
  public record Duplicate() implements Decision {}

  /** Delivered after {@code by}. */
  public record Delay(Duration by) implements Decision {}

  private static final Decision DELIVER = new Deliver();
  private static final Decision DROP = new Drop();
  private static final Decision DUPLICATE = new Duplicate();

  /** Whether any fault is configured. */
  public boolean active() {
    return drop > 0 || duplicate > 0 || delay > 0;
  }

  /**
   * The fate of one message.
   *
   * @param direction 0 for weights sent, 1 for gradients received
   * @param who       the shard (gradients) or the worker's index (weights)
   */
  public Decision decide(int direction, long step, long generation, long who) {
    if (!active()) {
      return DELIVER;
    }
    long key = Hashing.mix(Hashing.mix(seed, direction, step), generation, who);
    if (Hashing.unit(key ^ 0x1L) < drop) {
      return DROP;
    }
    if (Hashing.unit(key ^ 0x2L) < duplicate) {
      return DUPLICATE;
    }
    if (Hashing.unit(key ^ 0x3L) < delay) {
      long ms = 1 + (long) (Hashing.unit(key ^ 0x4L) * maxDelay.toMillis());
      return new Delay(Duration.ofMillis(ms));
    }
    return DELIVER;
  }
}
