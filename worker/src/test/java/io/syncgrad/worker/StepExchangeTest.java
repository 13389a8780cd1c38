package io.syncgrad.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.syncgrad.common.model.Activation;
import io.syncgrad.common.model.Initializer;
import io.syncgrad.common.model.LossFunction;
import io.syncgrad.common.model.ModelSpec;
import io.syncgrad.common.model.OutputActivation;
import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.protocol.WorkerProtocol.Member;
import io.syncgrad.common.reduce.TreeSum;
import io.syncgrad.common.testing.Fixtures;
import io.syncgrad.proto.PartialSumProto;
import io.syncgrad.proto.ReducedChunkProto;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Two members' exchange on one thread: the reduced sum is the one-node tree sum, and every frame
 * that is not exactly what its sender owes (another generation, step, chunk, sender, block or
 * size, or a second copy) is refused before it is read.
 */
class StepExchangeTest {

  private static final int SHARDS = 8;
  private static final long STEP = 5;
  private static final ModelSpec MODEL = Fixtures.model(7, List.of(6), 3, Activation.RELU, OutputActivation.SOFTMAX,
      LossFunction.CROSS_ENTROPY, 0f);
  private static final List<Member> MEMBERS = List.of(new Member("a", "", 0, 3, 0, new byte[0]),
      new Member("b", "", 3, 8, 0, new byte[0]));

  private static Parameters[] gradients() {
    Parameters[] g = new Parameters[SHARDS];
    for (int s = 0; s < SHARDS; s++) {
      g[s] = Parameters.zeros(MODEL);
      Initializer.XAVIER.initialize(MODEL, 100 + s, g[s]);
    }
    return g;
  }

  @Test
  void twoMembersGatherTheOneNodeSumAndRefuseWhatTheyAreNotOwed() {
    Parameters[] g = gradients();
    Parameters shape = Parameters.zeros(MODEL);
    StepExchange a = new StepExchange("run", "a", 3, MEMBERS, shape, SHARDS);
    StepExchange b = new StepExchange("run", "b", 3, MEMBERS, shape, SHARDS);
    double[] lossA = {1, 2, 3};
    double[] lossB = {4, 5, 6, 7, 8};
    a.sumOwn(s -> g[s]);
    b.sumOwn(s -> g[s]);
    PartialSumProto toB = a.partialFor(1, STEP, lossA).getPartial();
    PartialSumProto toA = b.partialFor(0, STEP, lossB).getPartial();
    a.offerOwn(STEP, lossA);
    b.offerOwn(STEP, lossB);

    // What a does not take.
    assertEquals(StepExchange.Outcome.STALE, a.offerPartial(toA.toBuilder().setGeneration(2).build(), STEP));
    assertEquals(StepExchange.Outcome.STALE, a.offerPartial(toA.toBuilder().setStep(STEP - 1).build(), STEP));
    assertEquals(StepExchange.Outcome.INVALID, a.offerPartial(toA.toBuilder().setStep(STEP + 2).build(), STEP));
    assertEquals(StepExchange.Outcome.INVALID, a.offerPartial(toB, STEP), "chunk 1 is b's");
    assertEquals(StepExchange.Outcome.INVALID, a.offerPartial(toA.toBuilder().setFromWorker("c").build(), STEP));
    assertEquals(StepExchange.Outcome.INVALID, a.offerPartial(toA.toBuilder().setFromWorker("a").build(), STEP),
        "a member does not send to itself");
    assertEquals(StepExchange.Outcome.INVALID, a.offerPartial(toA.toBuilder().setNodeFirst(0, 4).build(), STEP),
        "a subtree b does not own");
    assertEquals(StepExchange.Outcome.INVALID, a.offerPartial(toA.toBuilder().setData(toA.getData()
        .substring(4)).build(), STEP), "four bytes short");
    assertEquals(StepExchange.Outcome.INVALID, a.offerPartial(toA.toBuilder().addShardLoss(9).build(), STEP));
    assertNotNull(a.problem());
    assertFalse(a.reducible(STEP), "nothing refused was taken");

    assertEquals(StepExchange.Outcome.TAKEN, a.offerPartial(toA, STEP));
    assertEquals(StepExchange.Outcome.DUPLICATE, a.offerPartial(toA, STEP));
    assertEquals(StepExchange.Outcome.TAKEN, b.offerPartial(toB, STEP));
    assertTrue(a.reducible(STEP) && b.reducible(STEP));
    assertEquals(List.of(1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0), boxed(a.shardLosses(STEP)));

    ReducedChunkProto fromA = a.reducedFrame(STEP).getReduced();
    ReducedChunkProto fromB = b.reducedFrame(STEP).getReduced();
    assertEquals(StepExchange.Outcome.INVALID, a.offerReduced(fromB.toBuilder().setChunk(0).build(), STEP),
        "chunk 0 is a's own");
    assertEquals(StepExchange.Outcome.INVALID, a.offerReduced(fromB.toBuilder().setFromWorker("a").build(), STEP),
        "only the owner sends its chunk");
    assertEquals(StepExchange.Outcome.INVALID, a.offerReduced(fromB.toBuilder().setData(fromB.getData()
        .concat(fromB.getData())).build(), STEP), "twice the chunk's size");
    assertFalse(a.complete(STEP));
    assertEquals(StepExchange.Outcome.TAKEN, a.offerReduced(fromB, STEP));
    assertEquals(StepExchange.Outcome.DUPLICATE, a.offerReduced(fromB, STEP));
    assertEquals(StepExchange.Outcome.TAKEN, b.offerReduced(fromA, STEP));
    assertTrue(a.complete(STEP) && b.complete(STEP));

    String oneNode = new TreeSum(shape, SHARDS).sum(0, SHARDS, s -> g[s], shape.zerosLike()).sha256Hex();
    assertEquals(oneNode, a.gathered().sha256Hex(), "the one-node tree sum");
    assertEquals(oneNode, b.gathered().sha256Hex());
  }

  /**
   * A worker alone in its generation exchanges nothing and keeps no buffer the size of the
   * parameters for it; two members without audits keep none for the audits either.
   */
  @Test
  void buffersAreMadeOnlyForWhatTheGenerationExchanges() {
    ModelSpec wide = Fixtures.model(500, List.of(1000), 10, Activation.RELU, OutputActivation.SOFTMAX,
        LossFunction.CROSS_ENTROPY, 0f);
    Parameters shape = Parameters.zeros(wide);
    long bytes = (long) shape.size() * Float.BYTES;
    com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    List<Member> one = List.of(new Member("a", "", 0, 8, 0, new byte[0]));
    long before = threads.getCurrentThreadAllocatedBytes();
    StepExchange alone = new StepExchange("run", "a", 1, one, shape, SHARDS, 0, 1);
    long allocated = threads.getCurrentThreadAllocatedBytes() - before;
    assertTrue(alone.alone());
    assertTrue(allocated < bytes / 4, "alone: " + allocated + " bytes for a model of " + bytes);
    List<Member> two = List.of(new Member("a", "", 0, 3, 0, new byte[0]), new Member("b", "", 3, 8, 0, new byte[0]));
    before = threads.getCurrentThreadAllocatedBytes();
    new StepExchange("run", "a", 1, two, shape, SHARDS, 0, 1);
    allocated = threads.getCurrentThreadAllocatedBytes() - before;
    // The gathered sum (1), a's subtree [0, 2) (1), two steps' reductions of a's chunk, half the
    // parameters, from the four subtrees a and b send (4), a chunk of scratch (0.5): 6.5 times the
    // parameters; the audits' two chunks would make it 7.5.
    assertTrue(allocated < 7 * bytes, "two members: " + allocated + " bytes for a model of " + bytes);
  }

  /**
   * A member whose partial sums hold a NaN, or an infinite shard loss, is named by the owner of
   * the chunk; a reduced chunk that is not finite names its owner; finite sums name nobody.
   */
  @Test
  void nonFiniteResultsNameTheMemberTheyCameFrom() {
    double[] lossA = {1, 2, 3};
    double[] lossB = {4, 5, 6, 7, 8};
    StepExchange[] ab = summedPair(gradients());
    StepExchange a = ab[0];
    StepExchange b = ab[1];
    b.corruptOwn();
    a.offerOwn(STEP, lossA);
    assertEquals(StepExchange.Outcome.TAKEN, a.offerPartial(b.partialFor(0, STEP, lossB).getPartial(), STEP));
    assertEquals("b", a.nonFinitePartial(STEP), "b's NaN reaches a's chunk");
    b.offerOwn(STEP, lossB);
    assertEquals(StepExchange.Outcome.TAKEN, b.offerPartial(a.partialFor(1, STEP, lossA).getPartial(), STEP));
    assertEquals("b", b.nonFinitePartial(STEP), "b's own sums are checked too");

    // corruptOwn wrote into the shards' own buffers (a one-shard subtree is its shard): fresh ones.
    Parameters[] h = gradients();
    StepExchange[] cd = summedPair(h);
    cd[0].offerOwn(STEP, lossA);
    assertEquals(StepExchange.Outcome.TAKEN, cd[0].offerPartial(cd[1].partialFor(0, STEP,
        new double[] {4, 5, Double.POSITIVE_INFINITY, 7, 8}).getPartial(), STEP));
    assertEquals("b", cd[0].nonFinitePartial(STEP), "an infinite loss is not a step's either");

    StepExchange[] ef = summedPair(h);
    StepExchange e = ef[0];
    StepExchange f = ef[1];
    e.offerOwn(STEP, lossA);
    f.offerOwn(STEP, lossB);
    e.offerPartial(f.partialFor(0, STEP, lossB).getPartial(), STEP);
    f.offerPartial(e.partialFor(1, STEP, lossA).getPartial(), STEP);
    assertNull(e.nonFinitePartial(STEP));
    assertNull(f.nonFinitePartial(STEP));
    ReducedChunkProto fromF = f.reducedFrame(STEP).getReduced();
    e.reducedFrame(STEP);
    java.nio.ByteBuffer nan = java.nio.ByteBuffer.allocate(fromF.getData().size()).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    nan.putFloat(0, Float.NaN);
    assertEquals(StepExchange.Outcome.TAKEN, e.offerReduced(fromF.toBuilder()
        .setData(com.google.protobuf.ByteString.copyFrom(nan.array())).build(), STEP));
    assertEquals("b", e.nonFiniteReduced(), "a reduced chunk that is not finite names its owner");
  }

  /** Members a and b of generation 3, each with its block's subtree sums of {@code g} done. */
  private static StepExchange[] summedPair(Parameters[] g) {
    Parameters shape = Parameters.zeros(MODEL);
    StepExchange a = new StepExchange("run", "a", 3, MEMBERS, shape, SHARDS);
    StepExchange b = new StepExchange("run", "b", 3, MEMBERS, shape, SHARDS);
    a.sumOwn(s -> g[s]);
    b.sumOwn(s -> g[s]);
    return new StepExchange[] {a, b};
  }

  /**
   * Every partial sum a member can send fits the bound its peer links read frames up to, for
   * every shard count, number of members and cut of the shards into blocks.
   */
  @Test
  void everyPartialSumFitsTheFrameBoundOfItsLinks() {
    Parameters shape = Parameters.zeros(MODEL);
    java.util.SplittableRandom random = new java.util.SplittableRandom(SEED_OF_CUTS);
    for (int shards = 1; shards <= 40; shards++) {
      Parameters[] g = new Parameters[shards];
      java.util.Arrays.fill(g, shape);
      long bound = StepExchange.maxPartialSumBytes(MODEL, shards);
      for (int members = 2; members <= Math.min(shards, 6); members++) {
        for (int cut = 0; cut < 20; cut++) {
          List<Member> blocks = randomBlocks(shards, members, random);
          for (Member m : blocks) {
            StepExchange x = new StepExchange("run", m.workerId(), 1, blocks, shape, shards);
            x.sumOwn(s -> g[s]);
            double[] losses = new double[m.endShard() - m.firstShard()];
            for (int c = 0; c < members; c++) {
              PartialSumProto p = x.partialFor(c, STEP, losses).getPartial();
              long bytes = p.getData().size() + (long) p.getShardLossCount() * Double.BYTES;
              assertTrue(bytes <= bound, shards + " shards, blocks " + blocks.stream().map(b -> "[" + b.firstShard()
                  + ", " + b.endShard() + ")").toList() + ": " + bytes + " bytes, bound " + bound);
            }
          }
        }
      }
    }
  }

  private static final long SEED_OF_CUTS = 11;

  /** {@code members} consecutive non-empty blocks covering {@code [0, shards)}, cut at random. */
  private static List<Member> randomBlocks(int shards, int members, java.util.SplittableRandom random) {
    java.util.TreeSet<Integer> cuts = new java.util.TreeSet<>();
    while (cuts.size() < members - 1) {
      cuts.add(1 + random.nextInt(shards - 1));
    }
    List<Member> out = new java.util.ArrayList<>();
    int first = 0;
    int i = 0;
    for (int end : cuts) {
      out.add(new Member("m" + i++, "", first, end, 0, new byte[0]));
      first = end;
    }
    out.add(new Member("m" + i, "", first, shards, 0, new byte[0]));
    return out;
  }

  private static List<Double> boxed(double[] v) {
    return java.util.Arrays.stream(v).boxed().toList();
  }
}
