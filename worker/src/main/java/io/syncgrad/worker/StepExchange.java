package io.syncgrad.worker;

import com.google.protobuf.UnsafeByteOperations;
import io.syncgrad.common.checkpoint.StateParts;
import io.syncgrad.common.model.ModelSpec;
import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.protocol.WorkerProtocol.Member;
import io.syncgrad.common.reduce.ChunkPlan;
import io.syncgrad.common.reduce.ChunkReduction;
import io.syncgrad.common.reduce.ReductionTree;
import io.syncgrad.common.reduce.TreeSum;
import io.syncgrad.common.transport.LinkFrames;
import io.syncgrad.proto.LinkFrameProto;
import io.syncgrad.proto.PartialSumProto;
import io.syncgrad.proto.ReducedChunkProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * One worker's part of the steps of one generation: a reduce-scatter then an all-gather over
 * its peers, in the order of the {@link ReductionTree}.
 *
 * <ol>
 *   <li>The worker adds up the complete subtrees of its block of shards ({@link #sumOwn}).
 *   <li>Chunk {@code c} of those sums goes to member {@code c} ({@link #partialFor}); its own
 *       chunk stays here ({@link #offerOwn}).
 *   <li>As the owner of its chunk it combines everyone's subtrees in tree order and sends the
 *       reduced chunk to every member ({@link #reducedFrame}).
 *   <li>Once every member's reduced chunk is in ({@link #offerReduced}), {@link #gathered} holds
 *       the step's whole gradient sum, the same bytes on every member.
 * </ol>
 *
 * A worker can be at most one step ahead of another (nobody finishes a step without everyone's
 * partial sums), so partial sums are kept for the current step and the next.
 */
final class StepExchange {

  /** What a peer frame turned out to be. */
  enum Outcome { TAKEN, DUPLICATE, STALE, INVALID }

  final long generation;
  final List<Member> members;
  final int rank;
  private final String runId;
  private final String self;
  private final ReductionTree tree;
  private final ChunkPlan chunks;
  private final List<ReductionTree.Node> cover;
  private final Parameters[] nodeSums;
  private final Parameters[] sums;
  private final TreeSum treeSum;
  private final ChunkReduction[] reductions = new ChunkReduction[2];
  /** The step's whole sum, as the chunks come in; null for a worker alone, which exchanges nothing. */
  private final Parameters gathered;
  private final boolean[] gatheredChunks;
  private final float[] scratch;
  private int gatheredCount;
  private long gatheredStep = -1;
  /** The owner of the first reduced chunk of {@code gatheredStep} that was not finite, or null. */
  private String nonFiniteReduced;
  private String problem;

  /** Room for a peer frame's fields besides its floats and losses (ids, counters, node lists, framing). */
  private static final int FRAME_ENVELOPE_BYTES = 64 << 10;

  /**
   * The largest peer frame a run of {@code model} with {@code shards} shards can need: a part of
   * a state, a reduced chunk, or a member's partial sums, which are at most two subtrees a level
   * of the tree, each a chunk of at most half the parameters (a worker alone sends nothing), and
   * a loss a shard. A peer link takes no larger frame.
   */
  static int maxFrameBytes(ModelSpec model, int shards) {
    long partial = maxPartialSumBytes(model, shards) + FRAME_ENVELOPE_BYTES;
    return (int) Math.min(Integer.MAX_VALUE - 8, Math.max(StateParts.maxFrameBytes(model), partial));
  }

  /** The most bytes of floats and losses in one member's partial sums (see {@link #maxFrameBytes}). */
  static long maxPartialSumBytes(ModelSpec model, int shards) {
    long chunk = (model.parameterCount() + 1) / 2;
    long subtrees = Math.min(shards, 2L * (33 - Integer.numberOfLeadingZeros(shards)));
    return subtrees * chunk * Float.BYTES + (long) shards * Double.BYTES;
  }

  StepExchange(String runId, String self, long generation, List<Member> members, Parameters shape, int shards) {
    this(runId, self, generation, members, shape, shards, 0, 0);
  }

  /**
   * @param auditFraction the share of members' blocks a step that are audited ({@link StepAudit})
   * @param seed          the run's seed, which the audited blocks are drawn from
   */
  StepExchange(String runId, String self, long generation, List<Member> members, Parameters shape, int shards,
      double auditFraction, long seed) {
    this.runId = runId;
    this.self = self;
    this.generation = generation;
    this.members = List.copyOf(members);
    int r = -1;
    List<int[]> blocks = new ArrayList<>();
    for (int i = 0; i < members.size(); i++) {
      Member m = members.get(i);
      blocks.add(new int[] {m.firstShard(), m.endShard()});
      if (m.workerId().equals(self)) {
        r = i;
      }
    }
    this.rank = r;
    this.tree = new ReductionTree(shards);
    this.chunks = new ChunkPlan(shape.size(), members.size());
    Member me = members.get(rank);
    this.cover = tree.cover(me.firstShard(), me.endShard());
    this.treeSum = new TreeSum(shape, shards);
    this.nodeSums = new Parameters[cover.size()];
    this.sums = new Parameters[cover.size()];
    this.gatheredChunks = new boolean[members.size()];
    if (alone()) {
      // Nothing is exchanged (the worker steps as the one-node trainer does): no buffer the size of
      // the parameters, which a worker left alone after a failure would otherwise add to its heap.
      this.gathered = null;
      this.scratch = new float[0];
    } else {
      for (int i = 0; i < cover.size(); i++) {
        if (cover.get(i).size() > 1) {
          nodeSums[i] = shape.zerosLike();
        }
      }
      int length = chunks.length(rank);
      reductions[0] = new ChunkReduction(tree, blocks, length);
      reductions[1] = new ChunkReduction(tree, blocks, length);
      this.gathered = shape.zerosLike();
      this.scratch = new float[chunks.maxLength()];
    }
    this.audit = new StepAudit(auditFraction, seed, runId, generation, this.members, rank, tree, chunks, treeSum,
        shape);
  }

  /** The audits of this generation. */
  final StepAudit audit;

  /** This worker's own partial sums of chunk {@code c}: what it sends owner {@code c}. */
  ChunkReduction.NodeSource ownChunk(int c) {
    long from = chunks.from(c);
    int length = chunks.length(c);
    return (i, into) -> sums[i].readRange(from, into, 0, length);
  }

  /** Whether the audited member's reduced chunk of {@code step} is in {@link #gathered}. */
  boolean gatheredFrom(long step, int c) {
    return gatheredStep == step && gatheredChunks[c];
  }

  /** Whether the generation is this worker alone: then there is nothing to exchange. */
  boolean alone() {
    return members.size() == 1;
  }

  /** This worker's block of shards. */
  Member me() {
    return members.get(rank);
  }

  /** The member of rank {@code i}'s index of a worker id, or -1. */
  int rankOf(String worker) {
    for (int i = 0; i < members.size(); i++) {
      if (members.get(i).workerId().equals(worker)) {
        return i;
      }
    }
    return -1;
  }

  /** Adds up the subtrees of this worker's block, from its computed shards. */
  void sumOwn(TreeSum.ShardGradients shards) {
    for (int i = 0; i < cover.size(); i++) {
      ReductionTree.Node n = cover.get(i);
      sums[i] = treeSum.sum(n.first(), n.end(), shards, nodeSums[i]);
    }
  }

  /**
   * Turns the first value of every chunk of this worker's first subtree sum to NaN, as a worker
   * whose computation went wrong would send: an injected fault ({@code corrupt-worker}).
   */
  void corruptOwn() {
    corruptOwn(false);
  }

  /**
   * Like {@link #corruptOwn()}; with {@code finite}, adds one to that value instead: garbage that
   * only an audit tells from a result ({@code corrupt-worker:W@S:garbage}).
   */
  void corruptOwn(boolean finite) {
    float[] v = new float[1];
    for (int c = 0; c < members.size(); c++) {
      if (chunks.length(c) > 0) {
        sums[0].readRange(chunks.from(c), v, 0, 1);
        v[0] = finite ? v[0] + 1f : Float.NaN;
        sums[0].writeRange(chunks.from(c), v, 0, 1);
      }
    }
  }

  /** The frame carrying chunk {@code c} of this worker's subtree sums at {@code step}, for member {@code c}. */
  LinkFrameProto partialFor(int c, long step, double[] ownLosses) {
    PartialSumProto.Builder b = PartialSumProto.newBuilder().setRunId(runId).setGeneration(generation)
        .setStep(step).setChunk(c).setFromWorker(self).setFirstShard(me().firstShard());
    for (ReductionTree.Node n : cover) {
      b.addNodeFirst(n.first()).addNodeEnd(n.end());
    }
    for (double loss : ownLosses) {
      b.addShardLoss(loss);
    }
    byte[] data = partialData(sums, chunks, c, scratch);
    return LinkFrames.of(b.setData(UnsafeByteOperations.unsafeWrap(data)));
  }

  /**
   * Chunk {@code c} of subtree sums {@code sums}, one after another, float32 little-endian: the
   * data of a partial sum frame, and what an audit compares.
   */
  static byte[] partialData(Parameters[] sums, ChunkPlan chunks, int c, float[] scratch) {
    int length = chunks.length(c);
    ByteBuffer data = ByteBuffer.allocate(sums.length * length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    for (Parameters sum : sums) {
      sum.readRange(chunks.from(c), scratch, 0, length);
      data.asFloatBuffer().put(scratch, 0, length);
      data.position(data.position() + length * Float.BYTES);
    }
    return data.array();
  }

  private ChunkReduction reduction(long step) {
    ChunkReduction r = reductions[(int) (step & 1)];
    if (r.step() != step) {
      r.begin(step);
    }
    return r;
  }

  /** This worker's own subtree sums of its chunk at {@code step}. */
  void offerOwn(long step, double[] ownLosses) {
    reduction(step).offerOwn(rank, ownChunk(rank), ownLosses);
  }

  /**
   * A peer's partial sums of this worker's chunk: checked against the generation, the step
   * (the current one or the next), the sender's block and the sizes before anything is read.
   *
   * @param current the step this worker computes now
   */
  Outcome offerPartial(PartialSumProto p, long current) {
    problem = null;
    if (!p.getRunId().equals(runId) || p.getGeneration() < generation || p.getStep() < current) {
      return Outcome.STALE;
    }
    int member = rankOf(p.getFromWorker());
    if (p.getGeneration() != generation || p.getStep() > current + 1 || p.getChunk() != rank || member < 0
        || member == rank) {
      problem = "partial sum of " + p.getFromWorker() + " for generation " + p.getGeneration() + " step "
          + p.getStep() + " chunk " + p.getChunk();
      return Outcome.INVALID;
    }
    ChunkReduction r = reduction(p.getStep());
    problem = r.check(member, p.getNodeFirstList(), p.getNodeEndList(), p.getData().size(), p.getFirstShard(),
        p.getShardLossCount());
    if (problem != null) {
      return Outcome.INVALID;
    }
    if (r.offer(member, p.getData().asReadOnlyByteBuffer(), p.getShardLossList()) != null) {
      return Outcome.DUPLICATE;
    }
    audit.received(member, p);
    return Outcome.TAKEN;
  }

  /**
   * The member whose partial sums of {@code step} for this worker's chunk were not finite (this
   * worker itself when its own were not), or null: checked once every partial sum is in.
   */
  String nonFinitePartial(long step) {
    ChunkReduction r = reductions[(int) (step & 1)];
    int m = r.step() == step ? r.nonFiniteMember() : -1;
    return m < 0 ? null : members.get(m).workerId();
  }

  /** The owner of a reduced chunk of the gathered step that was not finite, or null. */
  String nonFiniteReduced() {
    return nonFiniteReduced;
  }

  /** The member whose block holds shard {@code shard}. */
  String ownerOfShard(int shard) {
    for (Member m : members) {
      if (shard >= m.firstShard() && shard < m.endShard()) {
        return m.workerId();
      }
    }
    return "";
  }

  /** What was wrong with the last frame refused as invalid. */
  String problem() {
    return problem;
  }

  /** Whether this worker's chunk of {@code step} has every member's partial sums. */
  boolean reducible(long step) {
    ChunkReduction r = reductions[(int) (step & 1)];
    return r.step() == step && r.complete();
  }

  /** Every shard's loss sum at {@code step}; needs {@link #reducible}. */
  double[] shardLosses(long step) {
    return reductions[(int) (step & 1)].shardLosses();
  }

  /**
   * Reduces this worker's chunk of {@code step} (needs {@link #reducible}), keeps it, and returns
   * the frame that carries it to the other members.
   */
  LinkFrameProto reducedFrame(long step) {
    float[] chunk = reductions[(int) (step & 1)].reduce();
    int length = chunks.length(rank);
    beginGather(step);
    gathered.writeRange(chunks.from(rank), chunk, 0, length);
    markGathered(rank);
    ByteBuffer data = ByteBuffer.allocate(length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    data.asFloatBuffer().put(chunk, 0, length);
    return LinkFrames.of(ReducedChunkProto.newBuilder().setRunId(runId).setGeneration(generation).setStep(step)
        .setChunk(rank).setFromWorker(self).setData(UnsafeByteOperations.unsafeWrap(data.array())));
  }

  private void beginGather(long step) {
    if (gatheredStep != step) {
      gatheredStep = step;
      java.util.Arrays.fill(gatheredChunks, false);
      gatheredCount = 0;
      nonFiniteReduced = null;
    }
  }

  private void markGathered(int c) {
    gatheredChunks[c] = true;
    gatheredCount++;
  }

  /** A chunk's owner sent the reduced chunk of {@code step}: checked before it is read. */
  Outcome offerReduced(ReducedChunkProto p, long current) {
    problem = null;
    if (!p.getRunId().equals(runId) || p.getGeneration() < generation || p.getStep() < current) {
      return Outcome.STALE;
    }
    int c = p.getChunk();
    if (p.getGeneration() != generation || p.getStep() != current || c < 0 || c >= members.size() || c == rank
        || !members.get(c).workerId().equals(p.getFromWorker())
        || p.getData().size() != chunks.length(c) * Float.BYTES) {
      problem = "reduced chunk " + c + " of " + p.getFromWorker() + " for generation " + p.getGeneration() + " step "
          + p.getStep() + " (" + p.getData().size() + " bytes)";
      return Outcome.INVALID;
    }
    beginGather(current);
    if (gatheredChunks[c]) {
      return Outcome.DUPLICATE;
    }
    p.getData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(scratch, 0,
        chunks.length(c));
    if (nonFiniteReduced == null && !ChunkReduction.finite(scratch, chunks.length(c))) {
      nonFiniteReduced = p.getFromWorker();
    }
    gathered.writeRange(chunks.from(c), scratch, 0, chunks.length(c));
    markGathered(c);
    return Outcome.TAKEN;
  }

  /** Whether {@link #gathered} holds the whole sum of {@code step}. */
  boolean complete(long step) {
    return gatheredStep == step && gatheredCount == members.size();
  }

  /** The step's gradient sum over every shard, once {@link #complete}. */
  Parameters gathered() {
    return gathered;
  }
}
