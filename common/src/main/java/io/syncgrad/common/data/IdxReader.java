package io.syncgrad.common.data;

import io.syncgrad.common.error.UserException;
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reads the IDX format of MNIST and Fashion-MNIST: unsigned-byte images (magic 0x00000803,
 * count×rows×cols) and labels (magic 0x00000801, count), plain or gzip-compressed (detected from
 * the content, not the name). Everything is checked before it is trusted: the magic, the
 * announced sizes against the bytes present, and the image and label counts against each other.
 */
public final class IdxReader {

  private static final int IMAGES_MAGIC = 0x00000803;
  private static final int LABELS_MAGIC = 0x00000801;
  private static final long MAX_BYTES = Integer.MAX_VALUE - 64;

  private IdxReader() {}

  /** Reads matching image and label files into a data set with raw byte values 0..255. */
  public static Dataset read(DataFile images, DataFile labels) {
    Dataset pixels = readImages(images);
    byte[] lab = readAll(labels);
    int labelCount = header(labels, lab, LABELS_MAGIC, "unsigned-byte labels, 1 dimension");
    checkLength(labels, lab, 8, labelCount, 1, "labels");
    if (pixels.size() != labelCount) {
      throw new UserException(labels.name() + ": holds " + labelCount + " labels but " + images.name()
          + " holds " + pixels.size() + " images; the counts must match");
    }
    int[] y = new int[labelCount];
    for (int i = 0; i < labelCount; i++) {
      y[i] = lab[8 + i] & 0xFF;
    }
    return new Dataset(images.name(), pixels.features(), y, labelCount, pixels.width(), true);
  }

  /** Reads an image file alone (for prediction); every label is 0. */
  public static Dataset readImages(DataFile images) {
    byte[] img = readAll(images);
    int count = header(images, img, IMAGES_MAGIC, "unsigned-byte images, 3 dimensions");
    int rows = readInt(img, 8);
    int cols = readInt(img, 12);
    if (rows <= 0 || cols <= 0) {
      throw new UserException(images.name() + ": image size " + rows + "x" + cols + " in the header, expected positive sizes");
    }
    long width = (long) rows * cols;
    checkLength(images, img, 16, count, width, "images of " + rows + "x" + cols);
    float[] features = new float[(int) (count * width)];
    for (int i = 0; i < features.length; i++) {
      features[i] = img[16 + i] & 0xFF;
    }
    return new Dataset(images.name(), features, new int[count], count, (int) width, true);
  }

  /** Checks the magic and the fixed header; returns the item count. */
  private static int header(DataFile file, byte[] bytes, int magic, String kind) {
    int headerBytes = magic == IMAGES_MAGIC ? 16 : 8;
    if (bytes.length < headerBytes) {
      throw new UserException(file.name() + ": truncated: " + bytes.length + " bytes, shorter than the "
          + headerBytes + "-byte IDX header");
    }
    int found = readInt(bytes, 0);
    if (found != magic) {
      throw new UserException(String.format("%s: wrong magic number 0x%08x, expected 0x%08x (%s)",
          file.name(), found, magic, kind));
    }
    int count = readInt(bytes, 4);
    if (count < 0) {
      throw new UserException(file.name() + ": negative item count " + count + " in the header");
    }
    return count;
  }

  private static void checkLength(DataFile file, byte[] bytes, int offset, int count, long itemBytes, String what) {
    long expected = offset + count * itemBytes;
    if (bytes.length < expected) {
      long whole = (bytes.length - offset) / itemBytes;
      throw new UserException(file.name() + ": truncated: the header announces " + count + " " + what + " ("
          + expected + " bytes) but the file holds " + bytes.length + " bytes, enough for " + whole);
    }
    if (bytes.length > expected) {
      throw new UserException(file.name() + ": " + (bytes.length - expected) + " unexpected bytes after the "
          + count + " " + what + " the header announces");
    }
  }

  private static int readInt(byte[] b, int at) {
    return ((b[at] & 0xFF) << 24) | ((b[at + 1] & 0xFF) << 16) | ((b[at + 2] & 0xFF) << 8) | (b[at + 3] & 0xFF);
  }

  /** The whole decompressed content. */
  static byte[] readAll(DataFile file) {
    try (InputStream raw = new BufferedInputStream(file.open())) {
      raw.mark(2);
      int b0 = raw.read();
      int b1 = raw.read();
      raw.reset();
      boolean gzip = b0 == 0x1f && b1 == 0x8b;
      try (InputStream in = gzip ? new GZIPInputStream(raw, 1 << 16) : raw) {
        byte[] all = in.readNBytes((int) MAX_BYTES);
        if (in.read() != -1) {
          throw new UserException(file.name() + ": larger than the 2 GiB syncgrad reads from one file");
        }
        return all;
      }
    } catch (EOFException e) {
      throw new UserException(file.name() + ": truncated: the gzip stream ends before its last block", e);
    } catch (ZipException e) {
      throw new UserException(file.name() + ": corrupt gzip stream (" + e.getMessage() + ")", e);
    } catch (IOException e) {
      throw new UserException(file.name() + ": cannot read (" + e.getMessage() + ")", e);
    }
  }
}
