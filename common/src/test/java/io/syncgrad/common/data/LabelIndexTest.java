package io.syncgrad.common.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.syncgrad.common.error.UserException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LabelIndexTest {

  private static final long SEED = 3;

  @TempDir
  Path dir;

  @Test
  void inferredClassesWithAGapAreRefusedNamingTheFirstRecordThatSkipsOne() throws IOException {
    Path train = csv("gaps.csv", 0, 0, 3, 6, 0, 3, 6, 0, 3, 6);
    // A test share is held out of the file: the record is still counted in the file.
    DataSources.TrainTest data = DataSources.load(train.toString(), null, 0.3, "0", SEED);
    UserException e = assertThrows(UserException.class, () -> DataSources.classes(data, 0));
    assertEquals(List.of(train + ": record 3: label 3 skips classes 1 and 2, which no record has (7 classes "
        + "inferred from the largest label, 6); pass --classes 7 if the gap is intended"), e.problems());
  }

  @Test
  void givenClassesAcceptAGap() throws IOException {
    DataSources.TrainTest data = DataSources.load(csv("gaps.csv", 0, 3, 6, 0, 3, 6).toString(), null, 0.3, "0", SEED);
    assertEquals(7, DataSources.classes(data, 7));
  }

  @Test
  void givenClassesRefuseTheFirstLabelOutsideThemInTrainingAndTestFiles() throws IOException {
    Path train = csv("train.csv", 0, 1, 4, 2, 5, 1);
    Path test = csv("test.csv", 1, 0, 0, 7);
    DataSources.TrainTest data = DataSources.load(train.toString(), test.toString(), 0, "0", SEED);
    UserException e = assertThrows(UserException.class, () -> DataSources.classes(data, 4));
    assertEquals(List.of(
        train + ": record 3: label 4 is out of range [0, 4) of --classes 4",
        test + ": record 4: label 7 is out of range [0, 4) of --classes 4"), e.problems());
  }

  @Test
  void aTestLabelBeyondTheInferredClassesIsRefused() throws IOException {
    Path test = csv("test.csv", 0, 3);
    DataSources.TrainTest data = DataSources.load(csv("train.csv", 0, 1, 2, 1).toString(), test.toString(), 0, "0",
        SEED);
    UserException e = assertThrows(UserException.class, () -> DataSources.classes(data, 0));
    assertEquals(List.of(test + ": record 2: label 3 is out of range [0, 3) of the training data's 3 classes"),
        e.problems());
    assertEquals(4, DataSources.classes(data, 4), "--classes 4 makes room for it");
  }

  @Test
  void everyMissingClassIsCountedButOnlyTheFirstFewListed() {
    Dataset d = new Dataset("d.csv", new float[3], new int[] {0, 9, 1}, 3, 1, false);
    assertEquals("d.csv: record 2: label 9 skips classes 2, 3, 4, 5, ... and 8, which no record has (10 classes "
        + "inferred from the largest label, 9); pass --classes 10 if the gap is intended", LabelIndex.of(d).gap());
    assertEquals(null, LabelIndex.of(new Dataset("e.csv", new float[3], new int[] {2, 0, 1}, 3, 1, false)).gap());
  }

  /** A CSV of one feature per record (its index) and these labels, in the first column. */
  private Path csv(String name, int... labels) throws IOException {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < labels.length; i++) {
      sb.append(labels[i]).append(',').append(i).append('\n');
    }
    return Files.writeString(dir.resolve(name), sb.toString());
  }
}
