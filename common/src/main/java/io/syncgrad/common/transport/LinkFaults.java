package io.syncgrad.common.transport;

import io.syncgrad.common.model.Hashing;
import java.time.Duration;

/**
 * Message faults that the links inject into what they send: each message is dropped, duplicated
 * or delayed with the given probabilities. A decision is a pure function of the seed and the
 * message's identity, attempt included, so a run with faults replays exactly from its seed, and
 * a dropped message that the link sends again meets a fate of its own.
 *
 * @param drop       probability that an attempt is lost (the link sends it again after
 *                   {@code retransmit})
 * @param duplicate  probability that a message arrives twice
 * @param delay      probability that a message is held back
 * @param maxDelay   the longest hold-back; each delay is uniform in (0, maxDelay]
 * @param seed       the fault seed
 * @param retransmit how long a link waits before sending a lost message again
 */
public record LinkFaults(double drop, double duplicate, double delay, Duration maxDelay, long seed,
    Duration retransmit) {

  /** No faults. */
  public static final LinkFaults NONE = new LinkFaults(0, 0, 0, Duration.ZERO, 0, Duration.ofMillis(50));

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
   * The fate of one attempt at one message.
   *
   * @param kind  what sort of message (partial sum, reduced chunk ...)
   * @param route who sends it to whom, as a number (for example sender·65536 + receiver)
   * @param chunk the chunk it carries
   */
  public Decision decide(int kind, long generation, long step, long route, int chunk, int attempt) {
    if (!active()) {
      return DELIVER;
    }
    long key = Hashing.mix(Hashing.mix(Hashing.mix(seed, kind, generation), step, route), chunk, attempt);
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
