package io.syncgrad.common.reduce;

import io.syncgrad.common.model.Parameters;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * A cluster's reduce-scatter and all-gather on one thread, for tests: the shards spread over
 * {@code members} blocks, each member's subtree sums cut into chunks, each chunk reduced by its
 * owner from partial sums offered in a random order, the chunks gathered into one vector.
 */
public final class ChunkedReduction {

  private ChunkedReduction() {}

  /**
   * @param shards  the shard gradients. Not modified.
   * @param shape   the parameters' shape
   * @return the sum of every shard's gradient, as a cluster of {@code members} computes it
   */
  public static Parameters reduce(TreeSum.ShardGradients shards, Parameters shape, int shardCount, int members,
      Random random) {
    ReductionTree tree = new ReductionTree(shardCount);
    ChunkPlan chunks = new ChunkPlan(shape.size(), members);
    List<int[]> blocks = new ArrayList<>();
    List<List<Parameters>> sums = new ArrayList<>();
    for (int m = 0; m < members; m++) {
      int first = m * shardCount / members;
      int end = (m + 1) * shardCount / members;
      blocks.add(new int[] {first, end});
      List<Parameters> own = new ArrayList<>();
      TreeSum treeSum = new TreeSum(shape, shardCount);
      for (ReductionTree.Node n : tree.cover(first, end)) {
        own.add(treeSum.sum(n.first(), n.end(), shards, shape.zerosLike()).copy());
      }
      sums.add(own);
    }
    Parameters gathered = shape.zerosLike();
    List<Integer> owners = new ArrayList<>();
    for (int c = 0; c < members; c++) {
      owners.add(c);
    }
    Collections.shuffle(owners, random);
    for (int c : owners) {
      int length = chunks.length(c);
      ChunkReduction reduction = new ChunkReduction(tree, blocks, length);
      reduction.begin(0);
      List<Integer> senders = new ArrayList<>(owners);
      Collections.shuffle(senders, random);
      for (int m : senders) {
        List<Parameters> own = sums.get(m);
        ByteBuffer data = ByteBuffer.allocate(own.size() * length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        float[] part = new float[length];
        List<Integer> firsts = new ArrayList<>();
        List<Integer> ends = new ArrayList<>();
        for (int i = 0; i < own.size(); i++) {
          own.get(i).readRange(chunks.from(c), part, 0, length);
          data.asFloatBuffer().put(part);
          data.position(data.position() + length * Float.BYTES);
          firsts.add(reduction.owed(m).get(i).first());
          ends.add(reduction.owed(m).get(i).end());
        }
        data.flip();
        int shardsOfM = blocks.get(m)[1] - blocks.get(m)[0];
        List<Double> losses = new ArrayList<>(Collections.nCopies(shardsOfM, 0.0));
        String problem = reduction.check(m, firsts, ends, data.remaining(), blocks.get(m)[0], losses.size());
        if (problem != null) {
          throw new IllegalStateException(problem);
        }
        if (reduction.offer(m, data, losses) != null) {
          throw new IllegalStateException("member " + m + " refused");
        }
      }
      gathered.writeRange(chunks.from(c), reduction.reduce(), 0, length);
    }
    return gathered;
  }
}
