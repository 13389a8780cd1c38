package io.syncgrad.common.data;

/**
 * Labelled samples held in memory: {@code size} rows of {@code width} float features,
 * row-major, and a class per row.
 *
 * @param source     where the samples came from, for messages
 * @param features   size×width values. Shared, not copied: normalisation rewrites it in place.
 * @param labels     the class of each row, in [0, classes)
 * @param size       rows
 * @param width      features per row
 * @param byteValued whether the features are raw bytes 0..255 (IDX), so scaling divides by 255
 */
public record Dataset(String source, float[] features, int[] labels, int size, int width, boolean byteValued) {

  public Dataset {
    if ((long) size * width != features.length || labels.length != size) {
      throw new IllegalArgumentException("Inconsistent shapes: features=" + features.length + ", labels="
          + labels.length + ", size=" + size + ", width=" + width);
    }
  }

  /** One more than the largest label: the classes this data set needs. */
  public int classes() {
    int max = -1;
    for (int y : labels) {
      max = Math.max(max, y);
    }
    return max + 1;
  }

  /**
   * A 64-bit digest of the features and labels, as 16 hex digits: a resumed run checks that it
   * trains on the same data.
   */
  public String fingerprint() {
    long h = 0x5EED_F00DL ^ ((long) size << 20) ^ width;
    for (float f : features) {
      h = Long.rotateLeft(h ^ Float.floatToRawIntBits(f), 23) * 0x9E3779B97F4A7C15L;
    }
    for (int y : labels) {
      h = Long.rotateLeft(h ^ y, 23) * 0x9E3779B97F4A7C15L;
    }
    return String.format("%016x", h);
  }

  /** The rows at {@code indices}, in that order. */
  public Dataset select(int[] indices, String name) {
    float[] f = new float[indices.length * width];
    int[] y = new int[indices.length];
    for (int i = 0; i < indices.length; i++) {
      System.arraycopy(features, indices[i] * width, f, i * width, width);
      y[i] = labels[indices[i]];
    }
    return new Dataset(name, f, y, indices.length, width, byteValued);
  }
}
