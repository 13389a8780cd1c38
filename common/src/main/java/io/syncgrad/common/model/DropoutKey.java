package io.syncgrad.common.model;

/**
 * Where a block of rows sits in the run, so that its dropout masks are a pure function of
 * (seed, step, shard, row): whichever worker computes a shard draws the same masks.
 *
 * <p>Mutable so that a step reuses one instance instead of allocating.
 */
public final class DropoutKey {

  private long seed;
  private long step;
  private int shard;
  private long base;

  /** Points the key at a block of rows. */
  public DropoutKey set(long seed, long step, int shard) {
    this.seed = seed;
    this.step = step;
    this.shard = shard;
    this.base = Hashing.mix(seed, step, shard);
    return this;
  }

  /** The seed of the run. */
  public long seed() {
    return seed;
  }

  /** The step. */
  public long step() {
    return step;
  }

  /** The shard. */
  public int shard() {
    return shard;
  }

  /** Whether unit {@code unit} of hidden layer {@code layer} survives in row {@code row}. */
  public boolean keep(int layer, int row, int unit, float dropProbability) {
    long key = Hashing.mix(base, ((long) layer << 32) | row, unit);
    return Hashing.unit(key) >= dropProbability;
  }
}
