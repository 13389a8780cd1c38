package io.syncgrad.common.data;

/**
 * How a global batch splits into virtual shards: shard {@code s} takes positions
 * {@code [s·B/S, (s+1)·B/S)} of the batch. The split depends on the batch size and the shard
 * count alone, never on the workers, so a shard holds the same samples whoever computes it.
 *
 * @param batchSize samples per step, B
 * @param shards    virtual shards per step, S (1 ≤ S ≤ B)
 */
public record ShardPlan(int batchSize, int shards) {

  public ShardPlan {
    if (batchSize <= 0 || shards <= 0 || shards > batchSize) {
      throw new IllegalArgumentException("need 1 <= shards <= batch size, got shards=" + shards + ", batch=" + batchSize);
    }
  }

  /** First batch position of shard {@code s}. */
  public int from(int s) {
    return (int) ((long) s * batchSize / shards);
  }

  /** One past the last batch position of shard {@code s}. */
  public int to(int s) {
    return from(s + 1);
  }

  /** The largest shard's size. */
  public int maxShardSize() {
    return (batchSize + shards - 1) / shards;
  }

  /** Full batches in an epoch of {@code examples} samples; the remainder is left out. */
  public long stepsPerEpoch(long examples) {
    return examples / batchSize;
  }
}
