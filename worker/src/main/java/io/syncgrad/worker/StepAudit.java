package io.syncgrad.worker;

import com.google.protobuf.ByteString;
import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.protocol.WorkerProtocol.Member;
import io.syncgrad.common.reduce.ChunkPlan;
import io.syncgrad.common.reduce.ChunkReduction;
import io.syncgrad.common.reduce.ReductionTree;
import io.syncgrad.common.reduce.TreeSum;
import io.syncgrad.proto.AuditProto;
import io.syncgrad.proto.PartialSumProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.List;

/**
 * One worker's part in the audits of a generation ({@code --audit-fraction}).
 *
 * <p>A shard's result is a pure function of the weights, the seed and the step, so a second
 * worker can compute it again and compare bit for bit. A member's block is audited at a step by
 * a sampled choice that every member makes alike (the seed, the step, the block); its auditor is
 * the next member in rank order, which computes the block again and checks everything the
 * audited member gave the step:
 *
 * <ul>
 *   <li>the partial sums it sent the auditor, against the recomputed ones;
 *   <li>the partial sums it sent each other chunk owner: that owner sends the auditor the
 *       SHA-256 of what it received, compared with the recomputed one;
 *   <li>its own reduced chunk: every other member also sends the auditor its partial sums of
 *       that chunk, and the auditor reduces the chunk again with the recomputed block.
 * </ul>
 *
 * Only when every comparison holds does the auditor tell the members that the block is cleared,
 * and no member applies an audited step before: a mismatch leaves the step unapplied, and the
 * coordinator has it computed again without the audited member.
 */
final class StepAudit {

  private final double fraction;
  private final long seed;
  private final List<Member> members;
  private final int rank;
  private final String runId;
  private final long generation;
  private final ChunkPlan chunks;
  /** The member this worker audits (the previous one in rank order), or -1 alone. */
  private final int audited;
  private final List<ReductionTree.Node> auditedCover;
  private final Parameters[] nodeSums;
  private final Parameters[] sums;
  private final TreeSum treeSum;
  private final ChunkReduction[] copies = new ChunkReduction[2];
  private final Slot[] slots;
  private final float[] scratch;
  private final float[] other;


  /** What is known of the audits of one step; two steps are kept, as a peer may be one ahead. */
  private static final class Slot {
    long step = -1;
    boolean recomputed;
    double[] losses;
    byte[][] expected;
    byte[][] digests;
    boolean[] cleared;
    String verdict;

    void begin(long s, int w, int shards) {
      step = s;
      recomputed = false;
      if (losses == null || losses.length != shards) {
        losses = new double[shards];
      }
      expected = new byte[w][];
      digests = new byte[w][];
      cleared = new boolean[w];
      verdict = null;
    }
  }

  StepAudit(double fraction, long seed, String runId, long generation, List<Member> members, int rank,
      ReductionTree tree, ChunkPlan chunks, TreeSum treeSum, Parameters shape) {
    this.fraction = fraction;
    this.seed = seed;
    this.runId = runId;
    this.generation = generation;
    this.members = members;
    this.rank = rank;
    this.chunks = chunks;
    this.treeSum = treeSum;
    int w = members.size();
    this.audited = fraction > 0 && w > 1 ? (rank - 1 + w) % w : -1;
    this.slots = new Slot[] {new Slot(), new Slot()};
    if (audited < 0) {
      // Nothing to audit (the default): no buffer the size of a chunk.
      this.scratch = new float[0];
      this.other = new float[0];
      this.auditedCover = List.of();
      this.nodeSums = new Parameters[0];
      this.sums = new Parameters[0];
      return;
    }
    this.scratch = new float[chunks.maxLength()];
    this.other = new float[chunks.maxLength()];
    Member a = members.get(audited);
    this.auditedCover = tree.cover(a.firstShard(), a.endShard());
    this.nodeSums = new Parameters[auditedCover.size()];
    this.sums = new Parameters[auditedCover.size()];
    for (int i = 0; i < auditedCover.size(); i++) {
      if (auditedCover.get(i).size() > 1) {
        nodeSums[i] = shape.zerosLike();
      }
    }
    List<int[]> blocks = members.stream().map(m -> new int[] {m.firstShard(), m.endShard()}).toList();
    copies[0] = new ChunkReduction(tree, blocks, chunks.length(audited));
    copies[1] = new ChunkReduction(tree, blocks, chunks.length(audited));
  }

  /** The auditor of member {@code m}: the next one in rank order. */
  int auditorOf(int m) {
    return (m + 1) % members.size();
  }

  /** Whether member {@code m}'s block is audited at {@code step}: the same choice on every member. */
  boolean audited(long step, int m) {
    if (fraction <= 0 || members.size() < 2) {
      return false;
    }
    if (fraction >= 1) {
      return true;
    }
    long h = mix(seed ^ mix(step * 0x9E3779B97F4A7C15L + members.get(m).firstShard()));
    return (h >>> 11) * 0x1.0p-53 < fraction;
  }

  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /** The member whose block this worker audits at {@code step}, or -1. */
  int auditsAt(long step) {
    return audited >= 0 && audited(step, audited) ? audited : -1;
  }

  private Slot slot(long step) {
    Slot s = slots[(int) (step & 1)];
    if (s.step != step) {
      s.begin(step, members.size(), members.get(Math.max(audited, 0)).endShard()
          - members.get(Math.max(audited, 0)).firstShard());
    }
    return s;
  }

  private ChunkReduction copies(long step) {
    ChunkReduction r = copies[(int) (step & 1)];
    if (r.step() != step) {
      r.begin(step);
    }
    return r;
  }

  /**
   * The audited member's block computed here: its subtree sums, its shards' losses, the digests
   * its partial sums for the other owners must have, and its part of its own chunk.
   */
  void recompute(long step, TreeSum.ShardGradients shards, double[] losses) {
    Slot s = slot(step);
    for (int i = 0; i < auditedCover.size(); i++) {
      ReductionTree.Node n = auditedCover.get(i);
      sums[i] = treeSum.sum(n.first(), n.end(), shards, nodeSums[i]);
    }
    System.arraycopy(losses, 0, s.losses, 0, s.losses.length);
    for (int c = 0; c < members.size(); c++) {
      if (c != audited) {
        s.expected[c] = digest(ByteString.copyFrom(StepExchange.partialData(sums, chunks, c, scratch)),
            boxed(s.losses));
      }
    }
    long from = chunks.from(audited);
    int length = chunks.length(audited);
    copies(step).offerOwn(audited, (i, into) -> sums[i].readRange(from, into, 0, length), s.losses);
    s.recomputed = true;
  }

  /** This worker's own partial sums of the audited member's chunk, for the chunk reduced again. */
  void offerOwnCopy(long step, ChunkReduction.NodeSource own, double[] ownLosses) {
    copies(step).offerOwn(rank, own, ownLosses);
  }

  private static List<Double> boxed(double[] v) {
    return Arrays.stream(v).boxed().toList();
  }

  /** SHA-256 of a partial sum's floats and losses, as received: what an owner tells the auditor. */
  static byte[] digest(ByteString data, List<Double> losses) {
    try {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      d.update(data.asReadOnlyByteBuffer());
      ByteBuffer l = ByteBuffer.allocate(losses.size() * Double.BYTES).order(ByteOrder.LITTLE_ENDIAN);
      losses.forEach(l::putDouble);
      d.update(l.array());
      return d.digest();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
    }
  }

  /**
   * The audit frame an owner sends the auditor on taking member {@code member}'s partial sum
   * {@code p} of its chunk, or null when that block is not audited at the step or the auditor is
   * this worker.
   */
  AuditProto digestFor(int member, PartialSumProto p) {
    if (!audited(p.getStep(), member) || auditorOf(member) == rank || member == rank) {
      return null;
    }
    return AuditProto.newBuilder().setRunId(runId).setGeneration(generation).setStep(p.getStep())
        .setAuditedWorker(members.get(member).workerId()).setFromWorker(members.get(rank).workerId())
        .setChunk(rank).setDigest(ByteString.copyFrom(digest(p.getData(), p.getShardLossList()))).build();
  }

  /** Where this worker's partial sum of chunk {@code c} goes besides owner {@code c}: its auditor, or -1. */
  int copyTo(long step, int c) {
    return audited(step, c) && auditorOf(c) != rank ? auditorOf(c) : -1;
  }

  /**
   * Another member's partial sums of the audited member's chunk, sent here as well.
   *
   * @return null when taken or a duplicate, else what is wrong with it
   */
  String offerCopy(int member, PartialSumProto p, long current) {
    if (audited < 0 || p.getChunk() != audited || member == audited || member == rank || p.getStep() < current
        || p.getStep() > current + 1 || !audited(p.getStep(), audited)) {
      return "a partial sum of chunk " + p.getChunk() + " from " + p.getFromWorker() + " that this worker does not audit";
    }
    ChunkReduction r = copies(p.getStep());
    String problem = r.check(member, p.getNodeFirstList(), p.getNodeEndList(), p.getData().size(), p.getFirstShard(),
        p.getShardLossCount());
    if (problem != null) {
      return problem;
    }
    r.offer(member, p.getData().asReadOnlyByteBuffer(), p.getShardLossList());
    return null;
  }

  /**
   * An audit frame from a peer: an owner's digest for this worker as auditor, or an auditor's
   * clearance.
   *
   * @return null when taken, else what is wrong with it
   */
  String offer(int from, AuditProto a, long current) {
    int m = rankOf(a.getAuditedWorker());
    if (m < 0 || a.getStep() < current || a.getStep() > current + 1 || !audited(a.getStep(), m)) {
      return "an audit of " + a.getAuditedWorker() + " at step " + a.getStep() + " that is not one";
    }
    Slot s = slot(a.getStep());
    if (a.getCleared()) {
      if (from != auditorOf(m)) {
        return "a clearance of " + a.getAuditedWorker() + " from " + a.getFromWorker() + ", who is not its auditor";
      }
      s.cleared[m] = true;
      return null;
    }
    if (m != audited || from == audited || from == rank || a.getChunk() != from
        || a.getDigest().size() != 32) {
      return "a digest of chunk " + a.getChunk() + " from " + a.getFromWorker() + " that this worker does not expect";
    }
    s.digests[from] = a.getDigest().toByteArray();
    return null;
  }

  private int rankOf(String worker) {
    for (int i = 0; i < members.size(); i++) {
      if (members.get(i).workerId().equals(worker)) {
        return i;
      }
    }
    return -1;
  }

  /**
   * The audited member's partial sums of this worker's chunk, taken: their digest is kept for
   * the verdict (the reduction adds into their buffers).
   */
  void received(int member, PartialSumProto p) {
    if (member == audited && audited(p.getStep(), audited)) {
      slot(p.getStep()).digests[rank] = digest(p.getData(), p.getShardLossList());
    }
  }

  /**
   * This worker's verdict on the block it audits at {@code step}, once everything is in.
   *
   * @param gathered the step's gathered sum, the audited member's reduced chunk in it
   * @return null while something is missing, "" when every comparison holds, else what differs
   */
  String verdict(long step, Parameters gathered) {
    Slot s = slot(step);
    if (s.verdict != null) {
      return s.verdict;
    }
    ChunkReduction again = copies(step);
    if (!s.recomputed || !again.complete()) {
      return null;
    }
    for (int c = 0; c < members.size(); c++) {
      if (c != audited && s.digests[c] == null) {
        return null;
      }
    }
    String who = members.get(audited).workerId();
    for (int c = 0; c < members.size(); c++) {
      if (c != audited && !MessageDigest.isEqual(s.digests[c], s.expected[c])) {
        return s.verdict = who + "'s partial sum for chunk " + c + " (as " + members.get(c).workerId()
            + " received it) differs from " + members.get(rank).workerId() + "'s computation of it";
      }
    }
    float[] reduced = again.reduce();
    int len = chunks.length(audited);
    gathered.readRange(chunks.from(audited), other, 0, len);
    if (!Arrays.equals(reduced, 0, len, other, 0, len)) {
      return s.verdict = who + "'s reduced chunk " + audited + " differs from the chunk reduced again by "
          + members.get(rank).workerId();
    }
    s.cleared[audited] = true;
    return s.verdict = "";
  }

  /** The frame that tells the members this worker cleared its audited block at {@code step}. */
  AuditProto clearance(long step) {
    return AuditProto.newBuilder().setRunId(runId).setGeneration(generation).setStep(step)
        .setAuditedWorker(members.get(audited).workerId()).setFromWorker(members.get(rank).workerId())
        .setChunk(audited).setCleared(true).build();
  }

  /** Whether every block audited at {@code step} was cleared by its auditor. */
  boolean cleared(long step) {
    Slot s = null;
    for (int m = 0; m < members.size(); m++) {
      if (audited(step, m)) {
        if (s == null) {
          s = slot(step);
        }
        if (!s.cleared[m]) {
          return false;
        }
      }
    }
    return true;
  }

  /** The worker this one audits, or null. */
  String auditedWorker() {
    return audited < 0 ? null : members.get(audited).workerId();
  }
}
