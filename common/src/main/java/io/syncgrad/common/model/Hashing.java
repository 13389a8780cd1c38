package io.syncgrad.common.model;

/**
 * Counter-based randomness: a value that is a pure function of its key. Dropout masks, data
 * order and initial weights come from here, so they never depend on which node or thread
 * draws them, or in which order.
 */
public final class Hashing {

  private Hashing() {}

  /** SplitMix64's finaliser: a bijective scramble of 64 bits. */
  public static long scramble(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /** A 64-bit key for the tuple {@code (a, b)}. */
  public static long mix(long a, long b) {
    return scramble(scramble(a + 0x9E3779B97F4A7C15L) ^ b);
  }

  /** A 64-bit key for the tuple {@code (a, b, c)}. */
  public static long mix(long a, long b, long c) {
    return mix(mix(a, b), c);
  }

  /** A uniform double in [0, 1) from a key. */
  public static double unit(long key) {
    return (scramble(key) >>> 11) * 0x1.0p-53;
  }
}
