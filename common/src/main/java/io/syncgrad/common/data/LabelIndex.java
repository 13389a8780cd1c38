package io.syncgrad.common.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Where each class first occurs in a labelled file, taken before any share is held out of it:
 * enough to decide a run's class count and to name the record that breaks it by its number in
 * the file, after the samples were split.
 *
 * @param source      the file, for messages
 * @param firstRecord for each label 0..max, the index (from 0) of the first record with it; -1 where none has it
 */
public record LabelIndex(String source, int[] firstRecord) {

  /** Missing classes listed in a message before the rest are left out. */
  private static final int LISTED = 5;

  /** The index of {@code d}'s labels, in its record order. */
  public static LabelIndex of(Dataset d) {
    int[] first = new int[d.classes()];
    Arrays.fill(first, -1);
    int[] labels = d.labels();
    for (int i = 0; i < labels.length; i++) {
      if (first[labels[i]] < 0) {
        first[labels[i]] = i;
      }
    }
    return new LabelIndex(d.source(), first);
  }

  /** One more than the largest label: the classes inferred from this file. */
  public int classes() {
    return firstRecord.length;
  }

  /**
   * The first record whose label is not below {@code classes}, as a problem, or null when every
   * label is.
   *
   * @param against what the labels must fit, for the message: {@code the model's 10 classes}
   */
  public String outOfRange(int classes, String against) {
    int record = -1;
    for (int label = classes; label < firstRecord.length; label++) {
      if (firstRecord[label] >= 0 && (record < 0 || firstRecord[label] < record)) {
        record = firstRecord[label];
      }
    }
    if (record < 0) {
      return null;
    }
    int label = labelOf(record);
    return source + ": record " + (record + 1) + ": label " + label + " is out of range [0, " + classes + ") of "
        + against;
  }

  /**
   * With the classes inferred ({@link #classes()}), the first record whose label skips a class
   * no record has, as a problem; null when every class below the largest label occurs. Such a
   * class is an output the model can never learn, most often a sign of a mislabelled file.
   */
  public String gap() {
    int missing = 0;
    while (missing < firstRecord.length && firstRecord[missing] >= 0) {
      missing++;
    }
    if (missing == firstRecord.length) {
      return null;
    }
    int record = Integer.MAX_VALUE;
    for (int label = missing + 1; label < firstRecord.length; label++) {
      if (firstRecord[label] >= 0) {
        record = Math.min(record, firstRecord[label]);
      }
    }
    int label = labelOf(record);
    List<String> skipped = new ArrayList<>();
    for (int c = missing; c < label; c++) {
      if (firstRecord[c] < 0) {
        skipped.add(String.valueOf(c));
      }
    }
    String listed = skipped.size() == 1 ? "class " + skipped.get(0)
        : "classes " + String.join(", ", skipped.subList(0, Math.min(LISTED, skipped.size()) - 1))
            + (skipped.size() > LISTED ? ", ... and " : " and ") + skipped.get(skipped.size() - 1);
    return source + ": record " + (record + 1) + ": label " + label + " skips " + listed + ", which no record has ("
        + classes() + " classes inferred from the largest label, " + (classes() - 1) + "); pass --classes "
        + classes() + " if the gap is intended";
  }

  private int labelOf(int record) {
    for (int label = 0; label < firstRecord.length; label++) {
      if (firstRecord[label] == record) {
        return label;
      }
    }
    throw new IllegalStateException("record " + record + " is the first of no label");
  }
}
