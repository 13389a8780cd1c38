package io.syncgrad.common.model;

import java.util.function.IntBinaryOperator;

/**
 * How {@link Network#gradients} cuts its loaded rows: consecutive shards, and the nodes of the
 * reduction tree over them whose gradient sums it is to produce. Made once per block geometry;
 * the arrays are not modified afterwards.
 *
 * @param bounds    shard {@code q} is rows {@code [bounds[q], bounds[q+1])}; {@code shards + 1} values from 0
 * @param shards    how many shards
 * @param dropout   each shard's place in the run, for its dropout masks (set each step)
 * @param nodeFirst node {@code n} is shards {@code [nodeFirst[n], nodeEnd[n])}, in this block's numbering
 * @param nodeEnd   see {@code nodeFirst}
 * @param split     where a node of two shards or more splits (the tree's rule, passed in so that
 *                  the model does not depend on the reduction package)
 * @param pairs     whether two-shard nodes accumulate the second product onto the first
 *                  ({@link Network#pairsAccumulate})
 */
public record ShardBlock(int[] bounds, int shards, DropoutKey[] dropout, int[] nodeFirst, int[] nodeEnd,
    IntBinaryOperator split, boolean pairs) {

  /** Rows of the block. */
  public int rows() {
    return bounds[shards];
  }
}
