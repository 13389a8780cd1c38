package io.syncgrad.common.data;

import java.util.Locale;

/**
 * Maps raw features to what the network sees: {@code x' = (x - offset[j]) * factor[j]}. The
 * statistics come from the training set only and travel with the model, so that evaluation and
 * prediction see inputs mapped exactly as in training.
 *
 * @param kind   none, scale to [0, 1], or standardise to mean 0 and deviation 1
 * @param offset per feature
 * @param factor per feature
 */
public record Normalization(Kind kind, float[] offset, float[] factor) {

  /** The mappings offered. */
  public enum Kind {
    NONE, SCALE, STANDARDIZE;

    /** The name used in flags, configuration and checkpoints. */
    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }

    /** Parses a label such as {@code scale}; null when unknown. */
    public static Kind parse(String label) {
      for (Kind k : values()) {
        if (k.label().equals(label)) {
          return k;
        }
      }
      return null;
    }
  }

  /**
   * Fits the mapping on a training set. Byte-valued data (IDX images) scale by the byte range
   * 0..255; other data scale each column by its own minimum and maximum. A constant column maps
   * to 0. Sums run in row order in double precision.
   */
  public static Normalization fit(Kind kind, Dataset train) {
    int d = train.width();
    float[] offset = new float[d];
    float[] factor = new float[d];
    java.util.Arrays.fill(factor, 1f);
    float[] x = train.features();
    int n = train.size();
    switch (kind) {
      case NONE -> { }
      case SCALE -> {
        if (train.byteValued()) {
          java.util.Arrays.fill(factor, 1f / 255f);
        } else {
          for (int j = 0; j < d; j++) {
            float min = Float.POSITIVE_INFINITY;
            float max = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < n; i++) {
              min = Math.min(min, x[i * d + j]);
              max = Math.max(max, x[i * d + j]);
            }
            offset[j] = min;
            factor[j] = max > min ? 1f / (max - min) : 0f;
          }
        }
      }
      case STANDARDIZE -> {
        for (int j = 0; j < d; j++) {
          double sum = 0;
          for (int i = 0; i < n; i++) {
            sum += x[i * d + j];
          }
          double mean = sum / n;
          double sq = 0;
          for (int i = 0; i < n; i++) {
            double e = x[i * d + j] - mean;
            sq += e * e;
          }
          double sd = Math.sqrt(sq / n);
          offset[j] = (float) mean;
          factor[j] = sd > 0 ? (float) (1.0 / sd) : 0f;
        }
      }
      default -> throw new IllegalStateException("unknown normalization " + kind);
    }
    return new Normalization(kind, offset, factor);
  }

  /**
   * Checks that this mapping fits data of {@code width} features.
   *
   * @throws IllegalArgumentException when it does not
   */
  public void checkFits(int width) {
    if (width != offset.length) {
      throw new IllegalArgumentException("Inconsistent shapes: data width " + width + ", normalization "
          + offset.length);
    }
  }

  /** Maps {@code data}'s features in place. */
  public void applyInPlace(Dataset data) {
    checkFits(data.width());
    if (kind == Kind.NONE) {
      return;
    }
    float[] x = data.features();
    int d = data.width();
    for (int i = 0; i < data.size(); i++) {
      for (int j = 0; j < d; j++) {
        x[i * d + j] = (x[i * d + j] - offset[j]) * factor[j];
      }
    }
  }
}
