package io.syncgrad.common.reduce;

import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.optim.GradientTransforms;

/**
 * Adds whole-vector shard gradients in the order of the {@link ReductionTree}, on one node: the
 * one-node trainer's whole sum, and the subtrees a worker adds up inside its block of shards.
 * A node whose sum the shards already hold ({@link ShardGradients#nodeSum}) is taken as it is.
 * Scratch space is two vectors per level of the tree, made on first use; nothing is allocated
 * after that, and the shard gradients are only read.
 */
public final class TreeSum {

  /** The gradient sum of each shard, or of whole nodes where those were summed already. */
  public interface ShardGradients {
    /** Shard {@code s}'s gradient sum; read, never modified. */
    Parameters gradient(int s);

    /**
     * The sum of node {@code [first, end)} of the tree where it is already known (its shards
     * were summed as they were computed), else null; read, never modified.
     */
    default Parameters nodeSum(int first, int end) {
      return null;
    }
  }

  private final Parameters shape;
  /** [level][0 for a left child, 1 for a right one]. */
  private final Parameters[][] scratch;

  /** @param shape parameters of the model's shape; their values are not used */
  public TreeSum(Parameters shape, int shards) {
    this.shape = shape;
    this.scratch = new Parameters[33 - Integer.numberOfLeadingZeros(Math.max(1, shards))][2];
  }

  /**
   * The sum of node {@code [first, end)} of the tree.
   *
   * @param out where a sum of two shards or more is written; Modified
   * @return {@code out}, or shard {@code first}'s own gradient when the node is one shard, or the
   *     node's sum where the shards hold it
   */
  public Parameters sum(int first, int end, ShardGradients shards, Parameters out) {
    return node(first, end, shards, out, 0);
  }

  private Parameters node(int lo, int hi, ShardGradients shards, Parameters out, int level) {
    Parameters known = shards.nodeSum(lo, hi);
    if (known != null) {
      return known;
    }
    if (hi - lo == 1) {
      return shards.gradient(lo);
    }
    int mid = ReductionTree.split(lo, hi);
    Parameters left = node(lo, mid, shards, slot(level, 0), level + 1);
    Parameters right = node(mid, hi, shards, slot(level, 1), level + 1);
    GradientTransforms.sum(left, right, out);
    return out;
  }

  private Parameters slot(int level, int side) {
    Parameters p = scratch[level][side];
    if (p == null) {
      p = shape.zerosLike();
      scratch[level][side] = p;
    }
    return p;
  }
}
