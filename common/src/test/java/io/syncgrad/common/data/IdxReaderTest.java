package io.syncgrad.common.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.syncgrad.common.error.UserException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxReaderTest {

  @TempDir
  Path dir;

  @Test
  void readsPlainAndGzipFilesAlike() throws IOException {
    byte[] images = images(3, 2, 2, new byte[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, (byte) 255});
    byte[] labels = labels(new byte[] {1, 0, 9});
    Path plainImages = write("plain-images", images);
    Path plainLabels = write("plain-labels", labels);
    Path gzImages = write("gz-images.gz", gzip(images));
    Path gzLabels = write("gz-labels.gz", gzip(labels));

    Dataset plain = IdxReader.read(DataFile.of(plainImages), DataFile.of(plainLabels));
    Dataset gz = IdxReader.read(DataFile.of(gzImages), DataFile.of(gzLabels));

    assertEquals(3, plain.size());
    assertEquals(4, plain.width());
    assertEquals(255f, plain.features()[11]);
    assertArrayEquals(new int[] {1, 0, 9}, plain.labels());
    assertArrayEquals(plain.features(), gz.features());
    assertArrayEquals(plain.labels(), gz.labels());
    assertEquals(10, plain.classes());
  }

  @Test
  void embeddedSampleIsFashionMnist() {
    Dataset train = IdxReader.read(DataFile.embedded("fashion-mnist-sample/train-images-idx3-ubyte.gz"),
        DataFile.embedded("fashion-mnist-sample/train-labels-idx1-ubyte.gz"));
    assertEquals(5000, train.size());
    assertEquals(784, train.width());
    assertEquals(10, train.classes());
  }

  @Test
  void wrongMagicNamesFileAndBothNumbers() throws IOException {
    byte[] labels = labels(new byte[] {1, 2});
    labels[2] = 9;
    labels[3] = 9;
    Path img = write("train-images", images(2, 1, 1, new byte[] {0, 1}));
    Path lab = write("train-labels", labels);
    UserException e = assertThrows(UserException.class, () -> IdxReader.read(DataFile.of(img), DataFile.of(lab)));
    assertTrue(e.getMessage().startsWith(lab.toString() + ": wrong magic number 0x00000909, expected 0x00000801"),
        e.getMessage());
  }

  @Test
  void truncatedImagesSayWhatWasAnnouncedAndFound() throws IOException {
    byte[] full = images(10, 2, 2, new byte[40]);
    Path img = write("train-images.gz", gzip(Arrays.copyOf(full, 16 + 13)));
    Path lab = write("train-labels", labels(new byte[10]));
    UserException e = assertThrows(UserException.class, () -> IdxReader.read(DataFile.of(img), DataFile.of(lab)));
    assertTrue(e.getMessage().contains(img.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("truncated: the header announces 10 images of 2x2 (56 bytes) but the file holds 29 bytes, enough for 3"),
        e.getMessage());
  }

  @Test
  void brokenGzipStreamIsReportedAsTruncated() throws IOException {
    byte[] gz = gzip(images(10, 2, 2, new byte[40]));
    Path img = write("train-images.gz", Arrays.copyOf(gz, gz.length - 10));
    Path lab = write("train-labels", labels(new byte[10]));
    UserException e = assertThrows(UserException.class, () -> IdxReader.read(DataFile.of(img), DataFile.of(lab)));
    assertTrue(e.getMessage().startsWith(img + ": truncated"), e.getMessage());
  }

  @Test
  void countMismatchNamesBothFiles() throws IOException {
    Path img = write("train-images", images(3, 1, 1, new byte[3]));
    Path lab = write("train-labels", labels(new byte[2]));
    UserException e = assertThrows(UserException.class, () -> IdxReader.read(DataFile.of(img), DataFile.of(lab)));
    assertEquals(lab + ": holds 2 labels but " + img + " holds 3 images; the counts must match", e.getMessage());
  }

  private Path write(String name, byte[] bytes) throws IOException {
    return Files.write(dir.resolve(name), bytes);
  }

  static byte[] images(int n, int rows, int cols, byte[] pixels) {
    ByteBuffer b = ByteBuffer.allocate(16 + pixels.length);
    b.putInt(0x803).putInt(n).putInt(rows).putInt(cols).put(pixels);
    return b.array();
  }

  static byte[] labels(byte[] labels) {
    ByteBuffer b = ByteBuffer.allocate(8 + labels.length);
    b.putInt(0x801).putInt(labels.length).put(labels);
    return b.array();
  }

  static byte[] gzip(byte[] bytes) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
      gz.write(bytes);
    }
    return out.toByteArray();
  }
}
