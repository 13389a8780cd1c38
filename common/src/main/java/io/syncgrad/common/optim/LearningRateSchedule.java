package io.syncgrad.common.optim;

import java.util.Locale;

/**
 * The learning rate as a pure function of the step, so that a resumed run and a distributed
 * run use the very same rate at every step.
 *
 * @param kind       constant, step decay or cosine
 * @param base       the rate at step 0
 * @param decaySteps for step decay: the rate is multiplied by {@code decayRate} every this many steps
 * @param decayRate  for step decay
 * @param period     for cosine: steps from {@code base} down to {@code min}; held at {@code min} after
 * @param min        for cosine: the final rate
 */
public record LearningRateSchedule(Kind kind, double base, long decaySteps, double decayRate, long period, double min) {

  /** The shapes of schedule offered. */
  public enum Kind {
    CONSTANT, STEP, COSINE;

    /** The name used in flags, configuration and checkpoints. */
    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }

    /** Parses a label such as {@code cosine}; null when unknown. */
    public static Kind parse(String label) {
      for (Kind k : values()) {
        if (k.label().equals(label)) {
          return k;
        }
      }
      return null;
    }
  }

  /** A constant rate. */
  public static LearningRateSchedule constant(double rate) {
    return new LearningRateSchedule(Kind.CONSTANT, rate, 0, 1.0, 0, 0);
  }

  /** The rate for the update made at {@code step} (0-based). */
  public double at(long step) {
    return switch (kind) {
      case CONSTANT -> base;
      case STEP -> base * StrictMath.pow(decayRate, decaySteps > 0 ? step / decaySteps : 0);
      case COSINE -> {
        if (period <= 0 || step >= period) {
          yield min;
        }
        double progress = (double) step / period;
        yield min + 0.5 * (base - min) * (1.0 + StrictMath.cos(StrictMath.PI * progress));
      }
    };
  }
}
