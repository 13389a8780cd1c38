package io.syncgrad.common.reduce;

import java.util.ArrayList;
import java.util.List;

/**
 * The one order in which the S virtual shards of a step are added, element by element: a fixed
 * binary tree that depends on S alone.
 *
 * <pre>
 *   sum(lo, hi) = g[lo]                           when hi - lo = 1
 *   sum(lo, hi) = sum(lo, mid) + sum(mid, hi)     otherwise, mid = lo + 2^floor(log2(hi - lo - 1))
 * </pre>
 *
 * (mid splits off the largest power of two below {@code hi - lo}: for 8 shards ((g0+g1)+(g2+g3)) +
 * ((g4+g5)+(g6+g7)), for 5 shards (((g0+g1)+(g2+g3)) + g4). Each addition is one float32 addition
 * per element, so the sum is reproducible anywhere from this definition.
 *
 * <p>Why a tree: any node's sum may be computed anywhere, and partial sums meet where the tree
 * says, so neither the number of workers, nor who computes which subtree, nor the order in which
 * partial sums arrive, nor how the parameter vector is cut into chunks changes a bit. A worker
 * owning the consecutive shards {@code [from, to)} adds up the complete subtrees inside its block
 * ({@link #cover}); the owner of a chunk combines everyone's subtrees with {@link #combine}.
 */
public final class ReductionTree {

  private final int shards;

  /** @param shards S, at least 1 */
  public ReductionTree(int shards) {
    if (shards < 1) {
      throw new IllegalArgumentException("a reduction tree needs at least one shard, got " + shards);
    }
    this.shards = shards;
  }

  /** S. */
  public int shards() {
    return shards;
  }

  /** Where node {@code [lo, hi)} splits; needs {@code hi - lo >= 2}. */
  public static int split(int lo, int hi) {
    return lo + Integer.highestOneBit(hi - lo - 1);
  }

  /** A node of the tree: shards {@code [first, end)}. */
  public record Node(int first, int end) {
    /** Its number of shards. */
    public int size() {
      return end - first;
    }
  }

  /**
   * The largest nodes of the tree inside {@code [from, to)}, left to right: what the owner of
   * that block of shards adds up on its own. One node when the block lines up with the tree.
   */
  public List<Node> cover(int from, int to) {
    if (from < 0 || to > shards || from > to) {
      throw new IllegalArgumentException("shards [" + from + ", " + to + ") of " + shards);
    }
    List<Node> out = new ArrayList<>();
    cover(0, shards, from, to, out);
    return out;
  }

  private static void cover(int lo, int hi, int from, int to, List<Node> out) {
    if (to <= lo || hi <= from) {
      return;
    }
    if (from <= lo && hi <= to) {
      out.add(new Node(lo, hi));
      return;
    }
    int mid = split(lo, hi);
    cover(lo, mid, from, to, out);
    cover(mid, hi, from, to, out);
  }

  /** Whether {@code [first, end)} is a node of the tree. */
  public boolean isNode(int first, int end) {
    int lo = 0;
    int hi = shards;
    while (true) {
      if (lo == first && hi == end) {
        return true;
      }
      if (hi - lo < 2 || first < lo || end > hi) {
        return false;
      }
      int mid = split(lo, hi);
      if (end <= mid) {
        hi = mid;
      } else if (first >= mid) {
        lo = mid;
      } else {
        return false;
      }
    }
  }

  /** Where the sum of a node is, for {@link #combine}. */
  public interface Sums {
    /** The buffer holding the sum of node {@code [first, end)}, or null when nobody sent it. */
    float[] of(int first, int end);
  }

  /**
   * Adds the node sums that {@code sums} holds into the sum of the whole tree, in the tree's
   * order: a node present is taken as it is, an absent one is the sum of its children. The sums
   * are added into the buffers of the left children, so {@code sums}' buffers are modified.
   *
   * @param n how many elements of each buffer to add
   * @return the buffer holding the total
   * @throws IllegalStateException when the nodes present do not cover every shard
   */
  public float[] combine(Sums sums, int n) {
    return combine(0, shards, sums, n);
  }

  private static float[] combine(int lo, int hi, Sums sums, int n) {
    float[] here = sums.of(lo, hi);
    if (here != null) {
      return here;
    }
    if (hi - lo < 2) {
      throw new IllegalStateException("no partial sum covers shard " + lo);
    }
    int mid = split(lo, hi);
    float[] left = combine(lo, mid, sums, n);
    float[] right = combine(mid, hi, sums, n);
    for (int i = 0; i < n; i++) {
      left[i] += right[i];
    }
    return left;
  }
}
