package io.syncgrad.common.reduce;

/**
 * How the flat parameter vector (canonical order, see {@code Parameters}) is cut into one chunk per
 * member of a generation: chunk {@code c} is {@code [c·P/W, (c+1)·P/W)}. The owner of a chunk
 * reduces it; since the sum is element by element, the cut never changes a bit of the result.
 *
 * @param parameters P
 * @param chunks     W, at least 1
 */
public record ChunkPlan(long parameters, int chunks) {

  public ChunkPlan {
    if (chunks < 1 || parameters < chunks) {
      throw new IllegalArgumentException(parameters + " parameters cannot be cut into " + chunks + " chunks");
    }
  }

  /** Where chunk {@code c} starts in the flat vector. */
  public long from(int c) {
    return c * parameters / chunks;
  }

  /** How many parameters chunk {@code c} has. */
  public int length(int c) {
    return (int) (from(c + 1) - from(c));
  }

  /** The longest chunk. */
  public int maxLength() {
    int max = 0;
    for (int c = 0; c < chunks; c++) {
      max = Math.max(max, length(c));
    }
    return max;
  }
}
