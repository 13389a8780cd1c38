package io.syncgrad.common.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The optimisers' comparison-free flush of subnormal moments is {@code |x| < MIN_NORMAL ? +0 : x}
 * bit for bit: on every float of the exponent fields where the two sides meet (all zeros and
 * subnormals and the lowest normal binade, of both signs), on infinities and NaNs, and on
 * a million random floats.
 */
class NormalOrZeroTest {

  private static final long SEED = 11;
  private static final int RANDOM_BITS = 1_000_000;
  private static final int MANTISSAS = 1 << 23;

  @Test
  void everyFloatNearTheSmallestNormalIsFlushedOrKeptExactly() {
    for (int exponent : new int[] {0, 1, 2, 254, 255}) {
      for (int sign : new int[] {0, 0x80000000}) {
        int base = sign | exponent << 23;
        for (int m = 0; m < MANTISSAS; m++) {
          check(base | m);
        }
      }
    }
    SplittableRandom random = new SplittableRandom(SEED);
    for (int i = 0; i < RANDOM_BITS; i++) {
      check(random.nextInt());
    }
  }

  @Test
  void negativeSubnormalsAndNegativeZeroBecomePositiveZero() {
    assertEquals(0, Float.floatToRawIntBits(Optimizer.normalOrZero(-0f)));
    assertEquals(0, Float.floatToRawIntBits(Optimizer.normalOrZero(-Float.MIN_VALUE)));
    assertEquals(0, Float.floatToRawIntBits(Optimizer.normalOrZero(-Math.nextDown(Float.MIN_NORMAL))));
    assertEquals(-Float.MIN_NORMAL, Optimizer.normalOrZero(-Float.MIN_NORMAL));
  }

  private static void check(int bits) {
    float x = Float.intBitsToFloat(bits);
    float expected = Math.abs(x) < Float.MIN_NORMAL ? 0f : x;
    float actual = Optimizer.normalOrZero(x);
    if (Float.isNaN(expected)) {
      assertTrue(Float.isNaN(actual), () -> "bits " + Integer.toHexString(bits) + ": NaN became " + actual);
    } else if (Float.floatToRawIntBits(expected) != Float.floatToRawIntBits(actual)) {
      assertEquals(Integer.toHexString(Float.floatToRawIntBits(expected)), Integer.toHexString(Float.floatToRawIntBits(actual)),
          "bits " + Integer.toHexString(bits) + " (" + x + ")");
    }
  }
}
