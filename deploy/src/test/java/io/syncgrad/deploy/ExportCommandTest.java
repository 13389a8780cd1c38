package io.syncgrad.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code syncgrad export} refuses what it cannot export with one clear line and exit code 2. */
class ExportCommandTest {

  @TempDir
  Path dir;

  /** Runs the command line; returns standard error, after checking the exit code of a user error. */
  private static String refused(String... args) {
    StringWriter err = new StringWriter();
    int code = SyncgradCli.execute(new PrintWriter(err, true), args);
    assertEquals(SyncgradCli.USER_ERROR, code, err.toString());
    assertFalse(err.toString().contains("\tat "), "no stack trace: " + err);
    return err.toString();
  }

  @Test
  void anotherFormatIsRefused() {
    Path out = dir.resolve("model.tflite");
    String err = refused("export", "--format", "tflite", "--model", dir.toString(), "--out", out.toString());
    assertTrue(err.startsWith("syncgrad: error: --format must be onnx (the only export format for now), got 'tflite'"),
        err);
    assertFalse(Files.exists(out));
  }

  @Test
  void aMissingModelIsNamed() {
    Path missing = dir.resolve("no-such-run");
    Path out = dir.resolve("model.onnx");
    String err = refused("export", "--format", "onnx", "--model", missing.toString(), "--out", out.toString());
    assertTrue(err.startsWith("syncgrad: error: " + missing + ": no such checkpoint file or run directory"), err);
    assertFalse(Files.exists(out));
  }

  @Test
  void aCorruptModelIsNamed() throws IOException {
    Path bad = Files.write(dir.resolve("model.pb"), new byte[] {1, 2, 3});
    Path out = dir.resolve("model.onnx");
    String err = refused("export", "--model", bad.toString(), "--out", out.toString());
    assertTrue(err.startsWith("syncgrad: error: " + bad + ": not a readable syncgrad checkpoint"), err);
    assertFalse(Files.exists(out));
  }

  @Test
  void withoutModelTheUsageSaysSo() {
    String err = refused("export", "--out", dir.resolve("model.onnx").toString());
    assertTrue(err.contains("Missing required option: '--model=FILE'"), err);
  }

  @Test
  void aFolderAsOutIsRefused() {
    String err = refused("export", "--model", dir.toString(), "--out", dir.toString());
    assertTrue(err.startsWith("syncgrad: error: --out " + dir + ": is a folder"), err);
  }
}
