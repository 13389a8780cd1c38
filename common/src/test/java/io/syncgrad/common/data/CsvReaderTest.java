package io.syncgrad.common.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.syncgrad.common.error.UserException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CsvReaderTest {

  @TempDir
  Path dir;

  @Test
  void readsHeaderAndLabelColumnByNameOrNegativeIndex() throws IOException {
    Path f = write("a.csv", "x1,x2,label\n0.5,1,2\n-1,3e2,0\n");
    Dataset byName = CsvReader.read(DataFile.of(f), new CsvReader.LabelColumn("label"));
    Dataset byIndex = CsvReader.read(DataFile.of(f), new CsvReader.LabelColumn("-1"));
    assertArrayEquals(new float[] {0.5f, 1f, -1f, 300f}, byName.features());
    assertArrayEquals(new int[] {2, 0}, byName.labels());
    assertArrayEquals(byName.features(), byIndex.features());
    assertEquals(2, byName.width());
  }

  @Test
  void raggedRowsNameTheLineAndBothCounts() throws IOException {
    Path f = write("ragged.csv", "1,0.5,0.25\n2,0.1\n");
    UserException e = assertThrows(UserException.class, () -> CsvReader.read(DataFile.of(f), CsvReader.LabelColumn.FIRST));
    assertEquals(List.of(f + ":2: expected 3 fields (as on line 1), found 2"), e.problems());
  }

  @Test
  void everyProblemIsReportedNotJustTheFirst() throws IOException {
    Path f = write("bad.csv", "1,0.5,0.25\n0,nan,0.3\n1,abc,Infinity\n1.5,0,0\n-2,0,0\n");
    UserException e = assertThrows(UserException.class, () -> CsvReader.read(DataFile.of(f), CsvReader.LabelColumn.FIRST));
    assertEquals(List.of(
        f + ":2: column 2: expected a finite number, found nan",
        f + ":3: column 2: expected a number, found 'abc'",
        f + ":3: column 3: expected a finite number, found Infinity",
        f + ":4: column 1: the label must be a class number in [0, 65536), found '1.5'",
        f + ":5: column 1: the label must be a class number in [0, 65536), found '-2'"), e.problems());
  }

  @Test
  void aByteOrderMarkIsSkippedWithoutAHeader() throws IOException {
    Path f = writeWithByteOrderMark("bom.csv", "0.5,1,2\n-1,3,0\n");
    Dataset d = CsvReader.read(DataFile.of(f), new CsvReader.LabelColumn("-1"));
    assertEquals(2, d.size(), "the first row is a sample, not a header");
    assertArrayEquals(new float[] {0.5f, 1f, -1f, 3f}, d.features());
    assertArrayEquals(new int[] {2, 0}, d.labels());
  }

  @Test
  void aByteOrderMarkIsSkippedBeforeAHeader() throws IOException {
    Path f = writeWithByteOrderMark("bom-header.csv", "label,x1,x2\n2,0.5,1\n");
    Dataset d = CsvReader.read(DataFile.of(f), new CsvReader.LabelColumn("label"));
    assertArrayEquals(new float[] {0.5f, 1f}, d.features());
    assertArrayEquals(new int[] {2}, d.labels());
  }

  @Test
  void valuesBeyondFloat32AreRefusedWithLineAndColumn() throws IOException {
    Path f = write("overflow.csv", "x1,x2,label\n0.5,1,0\n1e39,0.1,1\n0.2,-3.5e38,1\n3.4e38,1e-50,0\n");
    UserException e = assertThrows(UserException.class, () -> CsvReader.read(DataFile.of(f),
        new CsvReader.LabelColumn("label")));
    assertEquals(List.of(
        f + ":3: column 1: expected a finite number within float32 range (magnitude up to 3.4e38), found 1e39",
        f + ":4: column 2: expected a finite number within float32 range (magnitude up to 3.4e38), found -3.5e38"),
        e.problems());
  }

  @Test
  void unknownLabelNameIsRefused() throws IOException {
    Path f = write("h.csv", "a,b\n1,2\n");
    UserException e = assertThrows(UserException.class,
        () -> CsvReader.read(DataFile.of(f), new CsvReader.LabelColumn("class")));
    assertEquals(f + ":1: no column named 'class' in the header [a, b]", e.getMessage());
  }

  @Test
  void labelOutOfRangeOfTheModelIsRefused() throws IOException {
    Path f = write("t.csv", "0,1\n12,2\n");
    Dataset d = CsvReader.read(DataFile.of(f), CsvReader.LabelColumn.FIRST);
    UserException e = assertThrows(UserException.class, () -> DataSources.checkLabels(d, 10, "the model's 10 classes"));
    assertEquals(f + ": record 2: label 12 is out of range [0, 10) of the model's 10 classes", e.getMessage());
  }

  @Test
  void widthDifferentFromTheModelIsRefused() throws IOException {
    Path f = write("w.csv", "0,1,2\n");
    Dataset d = CsvReader.read(DataFile.of(f), CsvReader.LabelColumn.FIRST);
    UserException e = assertThrows(UserException.class, () -> DataSources.checkWidth(d, 784, "the model"));
    assertEquals(f + ": samples have 2 features, but the model expects 784", e.getMessage());
  }

  private Path writeWithByteOrderMark(String name, String content) throws IOException {
    byte[] text = content.getBytes(StandardCharsets.UTF_8);
    byte[] bytes = new byte[text.length + 3];
    bytes[0] = (byte) 0xEF;
    bytes[1] = (byte) 0xBB;
    bytes[2] = (byte) 0xBF;
    System.arraycopy(text, 0, bytes, 3, text.length);
    return Files.write(dir.resolve(name), bytes);
  }

  private Path write(String name, String content) throws IOException {
    return Files.writeString(dir.resolve(name), content);
  }
}
