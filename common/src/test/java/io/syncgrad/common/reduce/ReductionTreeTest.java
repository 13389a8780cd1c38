package io.syncgrad.common.reduce;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.syncgrad.common.model.Activation;
import io.syncgrad.common.model.LossFunction;
import io.syncgrad.common.model.ModelSpec;
import io.syncgrad.common.model.OutputActivation;
import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.testing.Fixtures;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The reduction tree: its definition, and that no split of the work changes a bit of the sum. */
class ReductionTreeTest {

  private static final long SEED = 7;
  private static final ModelSpec MODEL = Fixtures.model(9, List.of(5), 3, Activation.RELU,
      OutputActivation.SOFTMAX, LossFunction.CROSS_ENTROPY, 0f);

  @Test
  void splitsOffTheLargestPowerOfTwoBelowTheSize() {
    assertEquals(4, ReductionTree.split(0, 8));
    assertEquals(4, ReductionTree.split(0, 5));
    assertEquals(2, ReductionTree.split(0, 3));
    assertEquals(1, ReductionTree.split(0, 2));
    assertEquals(10, ReductionTree.split(2, 12));
    assertEquals(List.of(new ReductionTree.Node(0, 8)), new ReductionTree(8).cover(0, 8));
    assertEquals(List.of(new ReductionTree.Node(2, 4), new ReductionTree.Node(4, 5)), new ReductionTree(8).cover(2, 5));
    assertEquals(List.of(new ReductionTree.Node(5, 6), new ReductionTree.Node(6, 8)), new ReductionTree(8).cover(5, 8));
    assertTrue(new ReductionTree(8).isNode(4, 6));
    assertFalse(new ReductionTree(8).isNode(3, 5));
    assertFalse(new ReductionTree(5).isNode(4, 6));
  }

  /** 8 shards: ((g0+g1)+(g2+g3)) + ((g4+g5)+(g6+g7)), written out by hand for one element. */
  @Test
  void addsInTheOrderTheReadmeStates() {
    Random random = new Random(SEED);
    float[] g = new float[8];
    for (int i = 0; i < g.length; i++) {
      g[i] = (random.nextFloat() - 0.5f) * (float) Math.pow(10, random.nextInt(8) - 4);
    }
    float expected = ((g[0] + g[1]) + (g[2] + g[3])) + ((g[4] + g[5]) + (g[6] + g[7]));
    float[][] leaves = new float[8][];
    for (int i = 0; i < 8; i++) {
      leaves[i] = new float[] {g[i]};
    }
    float[] sum = new ReductionTree(8).combine((first, end) -> end - first == 1 ? leaves[first] : null, 1);
    assertEquals(Float.floatToIntBits(expected), Float.floatToIntBits(sum[0]));
    float[][] five = new float[5][];
    for (int i = 0; i < 5; i++) {
      five[i] = new float[] {g[i]};
    }
    float expected5 = ((g[0] + g[1]) + (g[2] + g[3])) + g[4];
    float[] sum5 = new ReductionTree(5).combine((first, end) -> end - first == 1 ? five[first] : null, 1);
    assertEquals(Float.floatToIntBits(expected5), Float.floatToIntBits(sum5[0]));
  }

  /** Every number of shards 1..12 and of members 1..shards, chunked and in random order: the one-node bytes. */
  @Test
  void theSumIsTheSameForEveryNumberOfMembersAndEveryArrivalOrder() {
    Random random = new Random(SEED);
    for (int shards = 1; shards <= 12; shards++) {
      Parameters[] g = new Parameters[shards];
      for (int s = 0; s < shards; s++) {
        g[s] = Parameters.zeros(MODEL);
        for (int t = 0; t < g[s].tensorCount(); t++) {
          float[] d = g[s].tensor(t).data;
          for (int i = 0; i < g[s].tensor(t).getNumElements(); i++) {
            d[i] = (random.nextFloat() - 0.5f) * (float) Math.pow(10, random.nextInt(10) - 5);
          }
        }
      }
      Parameters shape = Parameters.zeros(MODEL);
      String reference = new TreeSum(shape, shards).sum(0, shards, s -> g[s], shape.zerosLike()).sha256Hex();
      for (int members = 1; members <= shards; members++) {
        String hash = ChunkedReduction.reduce(s -> g[s], shape, shards, members, random).sha256Hex();
        assertEquals(reference, hash, shards + " shards over " + members + " members");
      }
    }
  }

  @Test
  void aChunkOwnerRefusesWhatItIsNotOwedAndTakesEachMemberOnce() {
    ReductionTree tree = new ReductionTree(8);
    List<int[]> blocks = List.of(new int[] {0, 3}, new int[] {3, 8});
    ChunkReduction r = new ChunkReduction(tree, blocks, 4);
    r.begin(5);
    // Member 0 owes [0,2) and [2,3).
    assertNull(r.check(0, List.of(0, 2), List.of(2, 3), 2 * 4 * 4, 0, 3));
    assertNotNull(r.check(0, List.of(0), List.of(3), 4 * 4, 0, 3), "not a node of the member's cover");
    assertNotNull(r.check(0, List.of(0, 2), List.of(2, 3), 2 * 4 * 4 + 4, 0, 3), "wrong size");
    assertNotNull(r.check(0, List.of(0, 2), List.of(2, 3), 2 * 4 * 4, 1, 3), "losses of other shards");
    assertNotNull(r.check(2, List.of(0, 2), List.of(2, 3), 2 * 4 * 4, 0, 3), "no such member");
    ByteBuffer data = ByteBuffer.allocate(2 * 4 * 4);
    assertNull(r.offer(0, data, List.of(1.0, 2.0, 3.0)));
    assertEquals(ChunkReduction.Refusal.DUPLICATE, r.offer(0, data, List.of(1.0, 2.0, 3.0)));
    assertFalse(r.complete());
    assertThrows(IllegalArgumentException.class, () -> tree.cover(0, 9));
  }

  /**
   * The member named for sums that are not finite is the first, in rank order, whose partial sums
   * or losses hold one: a NaN or an infinity of either sign anywhere in the chunk (also past the
   * last multiple of 8 that {@link ChunkReduction#finite} takes eight at a time), or infinities of
   * both signs from two members that cancel into NaN; finite sums whose total overflows name nobody.
   */
  @Test
  void valuesThatAreNotFiniteNameTheFirstMemberTheyCameFrom() {
    float nan = Float.NaN;
    float inf = Float.POSITIVE_INFINITY;
    for (int at : new int[] {0, 7, 16, 18}) {
      for (float bad : new float[] {nan, inf, -inf}) {
        for (int culprit = 0; culprit < 3; culprit++) {
          float[] values = {0.5f, 0.5f, 0.5f};
          values[culprit] = bad;
          assertEquals(culprit, filled(at, values, 1.0).nonFiniteMember(), bad + " at " + at + " from " + culprit);
        }
      }
      ChunkReduction cancelled = filled(at, new float[] {0.5f, inf, -inf}, 1.0);
      assertEquals(1, cancelled.nonFiniteMember(), "+inf of member 1 and -inf of member 2");
      assertTrue(Float.isNaN(cancelled.reduce()[at]));
    }
    assertEquals(-1, filled(3, new float[] {1f, 1f, 1f}, 1.0).nonFiniteMember(), "finite sums");
    assertEquals(1, filled(3, new float[] {1f, 1f, 1f}, Double.NaN).nonFiniteMember(), "a loss that is not finite");
    float max = Float.MAX_VALUE;
    ChunkReduction overflow = filled(5, new float[] {max, max, 0.5f}, 1.0);
    assertEquals(-1, overflow.nonFiniteMember(), "every partial sum finite, their total not");
    assertTrue(Float.isInfinite(overflow.reduce()[5]));
    assertFalse(ChunkReduction.finite(new float[] {0, 0, 0, 0, 0, 0, 0, 0, nan}, 9));
    assertTrue(ChunkReduction.finite(new float[] {0, 0, 0, 0, 0, 0, 0, 0, nan}, 8));
    assertTrue(ChunkReduction.finite(new float[] {-0f, Float.MIN_VALUE, -max}, 3));
  }

  /**
   * A chunk of 19 floats over 8 shards held by three members, every member's partial sums of
   * step 5 taken: 0.5 everywhere but {@code values[m]} at {@code at} of member m's first subtree;
   * member 1's second shard loss is {@code loss}, the others 1.
   */
  private static ChunkReduction filled(int at, float[] values, double loss) {
    List<int[]> blocks = List.of(new int[] {0, 3}, new int[] {3, 5}, new int[] {5, 8});
    int length = 19;
    ChunkReduction r = new ChunkReduction(new ReductionTree(8), blocks, length);
    r.begin(5);
    for (int m = 0; m < blocks.size(); m++) {
      int nodes = r.owed(m).size();
      ByteBuffer data = ByteBuffer.allocate(nodes * length * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < nodes * length; i++) {
        data.putFloat(i * 4, i == at ? values[m] : 0.5f);
      }
      List<Double> losses = new ArrayList<>();
      for (int s = blocks.get(m)[0]; s < blocks.get(m)[1]; s++) {
        losses.add(m == 1 && s == blocks.get(m)[0] + 1 ? loss : 1.0);
      }
      assertNull(r.offer(m, data, losses));
    }
    assertTrue(r.complete());
    return r;
  }

  @Test
  void chunksCoverTheVectorExactly() {
    for (int w = 1; w <= 9; w++) {
      ChunkPlan plan = new ChunkPlan(1000, w);
      long next = 0;
      for (int c = 0; c < w; c++) {
        assertEquals(next, plan.from(c));
        next += plan.length(c);
      }
      assertEquals(1000, next);
    }
    Parameters p = Parameters.zeros(MODEL);
    float[] values = new float[(int) p.size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = i;
    }
    p.writeRange(0, values, 0, values.length);
    float[] back = new float[7];
    p.readRange(40, back, 0, 7);
    List<Float> got = new ArrayList<>();
    for (float f : back) {
      got.add(f);
    }
    assertEquals(List.of(40f, 41f, 42f, 43f, 44f, 45f, 46f), got);
    assertArrayEquals(new float[] {0, 1, 2}, java.util.Arrays.copyOf(p.tensor(0).data, 3));
  }
}
