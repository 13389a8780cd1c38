package io.syncgrad.common.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class DataOrderTest {

  @Test
  void orderIsAPermutationFixedBySeedAndEpoch() {
    int[] a = new int[1000];
    int[] b = new int[1000];
    DataOrder.permutation(7, 3, a);
    DataOrder.permutation(7, 3, b);
    assertArrayEquals(a, b);
    int[] sorted = a.clone();
    Arrays.sort(sorted);
    for (int i = 0; i < sorted.length; i++) {
      assertEquals(i, sorted[i]);
    }
    DataOrder.permutation(7, 4, b);
    assertFalse(Arrays.equals(a, b), "another epoch, another order");
    DataOrder.permutation(8, 3, b);
    assertFalse(Arrays.equals(a, b), "another seed, another order");
  }

  @Test
  void shardsCoverTheBatchExactlyOnce() {
    for (int batch = 1; batch <= 67; batch++) {
      for (int shards = 1; shards <= batch; shards++) {
        ShardPlan plan = new ShardPlan(batch, shards);
        assertEquals(0, plan.from(0));
        assertEquals(batch, plan.to(shards - 1));
        for (int s = 0; s < shards; s++) {
          int size = plan.to(s) - plan.from(s);
          assertEquals(true, size >= 1 && size <= plan.maxShardSize(), "batch " + batch + " shards " + shards);
        }
      }
    }
  }
}
