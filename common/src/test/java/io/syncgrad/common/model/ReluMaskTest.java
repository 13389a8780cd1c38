package io.syncgrad.common.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The branch-free ReLU mask says {@code z > 0f} for every float: zeros, subnormals, infinities, NaNs. */
class ReluMaskTest {

  private static final long SEED = 5;
  private static final int RANDOM_BITS = 1_000_000;

  @Test
  void theMaskIsGreaterThanZero() {
    int[] special = {0, 0x80000000, 1, 0x80000001, 0x007fffff, 0x807fffff, 0x00800000, 0x3f800000, 0xbf800000,
        0x7f7fffff, 0xff7fffff, 0x7f800000, 0xff800000, 0x7f800001, 0x7fc00000, 0x7fffffff, 0xff800001, 0xffc00000,
        0xffffffff, Integer.MAX_VALUE, Integer.MIN_VALUE};
    for (int bits : special) {
      check(bits);
    }
    SplittableRandom random = new SplittableRandom(SEED);
    for (int i = 0; i < RANDOM_BITS; i++) {
      check(random.nextInt());
    }
  }

  private static void check(int bits) {
    float z = Float.intBitsToFloat(bits);
    assertEquals(z > 0f ? -1 : 0, Network.reluMask(bits), "bits " + Integer.toHexString(bits) + " (" + z + ")");
  }
}
