package io.syncgrad.common.reduce;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A chunk owner's half of the reduce-scatter for one step: the partial sums of its chunk from
 * every member of the generation, checked against what each member owes, then combined in the
 * order of the {@link ReductionTree}. Which member sends first never matters.
 *
 * <p>Buffers are made once per generation, one per subtree a member owes, and reused from step
 * to step.
 */
public final class ChunkReduction {

  /** Why a partial sum was refused; null when it was taken. */
  public enum Refusal { DUPLICATE, NOT_OWED }

  private final ReductionTree tree;
  private final int length;
  private final List<List<ReductionTree.Node>> owed;
  private final int[] firstShard;
  private final Map<Long, float[]> buffers = new HashMap<>();
  private final boolean[] received;
  /** Members whose partial sums of this step hold a value that is not finite. */
  private final boolean[] nonFinite;
  private final double[] shardLoss;
  private int receivedCount;
  private long step = -1;
  private float[] reduced;

  /**
   * @param tree   the step's tree
   * @param blocks each member's block of shards {@code {first, end}}, in rank order
   * @param length the chunk's length
   */
  public ChunkReduction(ReductionTree tree, List<int[]> blocks, int length) {
    this.tree = tree;
    this.length = length;
    this.owed = blocks.stream().map(b -> tree.cover(b[0], b[1])).toList();
    this.firstShard = blocks.stream().mapToInt(b -> b[0]).toArray();
    this.received = new boolean[blocks.size()];
    this.nonFinite = new boolean[blocks.size()];
    this.shardLoss = new double[tree.shards()];
    for (List<ReductionTree.Node> nodes : owed) {
      for (ReductionTree.Node n : nodes) {
        buffers.put(key(n.first(), n.end()), new float[length]);
      }
    }
  }

  private static long key(int first, int end) {
    return ((long) first << 32) | end;
  }

  /** The step whose partial sums this holds; -1 before the first. */
  public long step() {
    return step;
  }

  /** Starts collecting {@code newStep}, forgetting the last one. */
  public void begin(long newStep) {
    step = newStep;
    Arrays.fill(received, false);
    Arrays.fill(nonFinite, false);
    receivedCount = 0;
    reduced = null;
  }

  /**
   * Checks a member's partial sums before reading them: the nodes must be exactly those of its
   * block, the data their size, the losses one per shard of the block.
   *
   * @return null when they fit, else what is wrong
   */
  public String check(int member, List<Integer> nodeFirst, List<Integer> nodeEnd, int dataBytes, int first,
      int losses) {
    if (member < 0 || member >= owed.size()) {
      return "member " + member + " is not in the generation";
    }
    List<ReductionTree.Node> expected = owed.get(member);
    if (nodeFirst.size() != expected.size() || nodeEnd.size() != expected.size()) {
      return nodeFirst.size() + " subtrees, expected " + expected.size();
    }
    int shards = 0;
    for (int i = 0; i < expected.size(); i++) {
      ReductionTree.Node n = expected.get(i);
      if (nodeFirst.get(i) != n.first() || nodeEnd.get(i) != n.end()) {
        return "subtree [" + nodeFirst.get(i) + ", " + nodeEnd.get(i) + "), expected [" + n.first() + ", " + n.end()
            + ")";
      }
      shards += n.size();
    }
    if ((long) dataBytes != (long) expected.size() * length * Float.BYTES) {
      return dataBytes + " data bytes, expected " + (long) expected.size() * length * Float.BYTES;
    }
    if (first != firstShard[member] || losses != shards) {
      return "losses of shards from " + first + " (" + losses + "), expected " + shards + " from " + firstShard[member];
    }
    return null;
  }

  /**
   * Takes a member's partial sums, already {@link #check checked}.
   *
   * @param data the nodes' sums one after another, float32 little-endian
   * @return null when taken, else why not
   */
  public Refusal offer(int member, ByteBuffer data, List<Double> losses) {
    if (received[member]) {
      return Refusal.DUPLICATE;
    }
    ByteBuffer in = data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    boolean finite = true;
    for (ReductionTree.Node n : owed.get(member)) {
      float[] into = buffers.get(key(n.first(), n.end()));
      in.asFloatBuffer().get(into, 0, length);
      in.position(in.position() + length * Float.BYTES);
      finite &= finite(into, length);
    }
    for (int i = 0; i < losses.size(); i++) {
      shardLoss[firstShard[member] + i] = losses.get(i);
      finite &= Double.isFinite(losses.get(i));
    }
    nonFinite[member] = !finite;
    received[member] = true;
    receivedCount++;
    return null;
  }

  /** Like {@link #offer(int, ByteBuffer, List)} for this node's own sums, read from {@code own}. */
  public void offerOwn(int member, NodeSource own, double[] losses) {
    int i = 0;
    boolean finite = true;
    for (ReductionTree.Node n : owed.get(member)) {
      float[] into = buffers.get(key(n.first(), n.end()));
      own.read(i++, into);
      finite &= finite(into, length);
    }
    System.arraycopy(losses, 0, shardLoss, firstShard[member], losses.length);
    for (double l : losses) {
      finite &= Double.isFinite(l);
    }
    nonFinite[member] = !finite;
    received[member] = true;
    receivedCount++;
  }

  /** Where a node's own subtree sums come from. */
  public interface NodeSource {
    /** Writes this chunk of its {@code index}-th subtree sum into {@code into}. */
    void read(int index, float[] into);
  }

  /**
   * The first member, in rank order, whose partial sums of this step hold a value that is not
   * finite (a sum or a shard's loss), or -1. Such sums are not a step's: the member either
   * diverged or sent garbage, which only computing its shards again can tell.
   */
  public int nonFiniteMember() {
    for (int m = 0; m < nonFinite.length; m++) {
      if (received[m] && nonFinite[m]) {
        return m;
      }
    }
    return -1;
  }

  /**
   * Whether the first {@code length} values of {@code v} are finite. Eight independent chains of
   * {@code x - x}, which is 0 for a finite x and NaN for an infinite or NaN one, and stays NaN
   * through every later addition: no comparison in the loop, no chain waiting on its last sum.
   */
  public static boolean finite(float[] v, int length) {
    float a0 = 0;
    float a1 = 0;
    float a2 = 0;
    float a3 = 0;
    float a4 = 0;
    float a5 = 0;
    float a6 = 0;
    float a7 = 0;
    int i = 0;
    for (; i + 8 <= length; i += 8) {
      a0 += v[i] - v[i];
      a1 += v[i + 1] - v[i + 1];
      a2 += v[i + 2] - v[i + 2];
      a3 += v[i + 3] - v[i + 3];
      a4 += v[i + 4] - v[i + 4];
      a5 += v[i + 5] - v[i + 5];
      a6 += v[i + 6] - v[i + 6];
      a7 += v[i + 7] - v[i + 7];
    }
    for (; i < length; i++) {
      a0 += v[i] - v[i];
    }
    return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) == 0f;
  }

  /** Whether member {@code member}'s partial sums of this step are in. */
  public boolean has(int member) {
    return received[member];
  }

  /** The partial sum of node {@code [first, end)} taken this step: read it, do not change it. */
  public float[] buffer(int first, int end) {
    return buffers.get(key(first, end));
  }

  /** Whether every member's partial sums are in. */
  public boolean complete() {
    return receivedCount == received.length;
  }

  /** The chunk reduced in tree order; needs {@link #complete}. Computed once a step. */
  public float[] reduce() {
    if (reduced == null) {
      reduced = tree.combine((first, end) -> buffers.get(key(first, end)), length);
    }
    return reduced;
  }

  /** Every shard's loss sum of the step; complete once {@link #complete} holds. */
  public double[] shardLosses() {
    return shardLoss;
  }

  /** The subtrees member {@code m} owes. */
  public List<ReductionTree.Node> owed(int member) {
    return owed.get(member);
  }
}
