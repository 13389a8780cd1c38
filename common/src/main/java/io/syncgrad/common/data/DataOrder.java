package io.syncgrad.common.data;

import io.syncgrad.common.model.Hashing;
import java.util.SplittableRandom;

/**
 * The order of the training set in an epoch: a pure function of (seed, epoch), so any node
 * that knows the step knows which samples it covers.
 */
public final class DataOrder {

  private DataOrder() {}

  /**
   * Fills {@code order} with a permutation of {@code 0..order.length-1} (Fisher–Yates driven by a
   * generator seeded from (seed, epoch)).
   *
   * @param order Modified.
   */
  public static void permutation(long seed, long epoch, int[] order) {
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    SplittableRandom random = new SplittableRandom(Hashing.mix(seed, 0xDA7AL, epoch));
    for (int i = order.length - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
  }
}
