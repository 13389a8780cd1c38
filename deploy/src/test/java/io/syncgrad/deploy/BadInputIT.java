package io.syncgrad.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.syncgrad.common.checkpoint.CheckpointStore;
import io.syncgrad.common.testing.Fixtures;
import io.syncgrad.deploy.CliIT.Result;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Inputs a careless user gives {@code syncgrad}: each is refused with exit 2, one line per problem
 * naming the input and no stack trace, and leaves nothing half-written; or, valid, is read right.
 */
class BadInputIT {

  private static final long SEED = 7;
  /** A short run on a small CSV, as the acceptance check runs it. */
  private static final List<String> SHORT = List.of("--label-column", "label", "--test-fraction", "0.2",
      "--layers", "8", "--batch-size", "12", "--shards", "4", "--max-steps", "5", "--plain");

  @TempDir
  static Path dir;

  @Test
  void unknownConfigurationKeysAreRefusedWithTheKeyMeant() throws IOException {
    Path conf = Files.writeString(dir.resolve("typo.conf"), "learning-rate = 0.01\nepoch = 2\n");
    Path out = dir.resolve("out-typo");
    Result r = train(csv("good.csv", 60, i -> i % 3), out, "--config", conf.toString());
    assertRefused(r, out, List.of(
        "typo.conf:1: unknown key 'learning-rate'; did you mean 'lr'?",
        "typo.conf:2: unknown key 'epoch'; did you mean 'epochs'?"));
  }

  @Test
  void aByteOrderMarkDoesNotCostTheFirstRow() throws IOException {
    Path plain = csv("plain.csv", 60, i -> i % 3);
    byte[] text = Files.readAllBytes(plain);
    // Without a header (its line removed), the label last, behind a UTF-8 byte order mark.
    String rows = new String(text, StandardCharsets.UTF_8);
    rows = rows.substring(rows.indexOf('\n') + 1);
    Path bom = Files.write(dir.resolve("bom.csv"), concat(new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF},
        rows.getBytes(StandardCharsets.UTF_8)));
    Path out = dir.resolve("out-bom");
    List<String> args = new ArrayList<>(List.of("train", "--data", bom.toString(), "--out", out.toString()));
    args.addAll(SHORT);
    args.set(args.indexOf("label"), "-1");
    Result r = CliIT.run(args.toArray(String[]::new));
    assertEquals(0, r.code(), r.err());
    assertEquals(48, summary(out).get("train_examples").asInt(), "60 rows, 12 held out for testing");
  }

  @Test
  void aValueBeyondFloat32IsRefusedBeforeTheRunFolderExists() throws IOException {
    Path data = csv("overflow.csv", 60, i -> i % 3);
    Files.writeString(data, "1e39,0.1,0.2,0.3,1\n", java.nio.file.StandardOpenOption.APPEND);
    Path out = dir.resolve("out-overflow");
    assertRefused(train(data, out), out, List.of(data + ":62: column 1: expected a finite number within float32 "
        + "range (magnitude up to 3.4e38), found 1e39"));
  }

  @Test
  void inferredClassesWithGapsAreRefusedAndGivenOnesAreChecked() throws IOException {
    Path data = csv("gaps.csv", 60, i -> (i % 3) * 3);
    Path out = dir.resolve("out-gaps");
    assertRefused(train(data, out), out, List.of(data + ": record 1: label 3 skips classes 1 and 2, which no "
        + "record has (7 classes inferred from the largest label, 6); pass --classes 7 if the gap is intended"));
    assertRefused(train(data, out, "--classes", "5"), out,
        List.of(data + ": record 2: label 6 is out of range [0, 5) of --classes 5"));

    Result r = train(data, out, "--classes", "7");
    assertEquals(0, r.code(), r.err());
    assertTrue(summary(out).get("model").asText().startsWith("4-8-7 "), summary(out).toString());
    Path resumed = dir.resolve("out-gaps-resumed");
    assertRefused(train(data, resumed, "--resume", out.toString(), "--classes", "8"), resumed,
        List.of("--classes 8 differs from the checkpoint's 7; a resumed run keeps the settings it started with"));
  }

  @Test
  void emptyAndCraftedModelFilesAreRefusedByPredictAndEvaluate() throws IOException {
    Path empty = Files.write(dir.resolve("zero.pb"), new byte[0]);
    Path crafted = Fixtures.oversizedCheckpoint(dir.resolve("crafted.pb"), 46340);
    String images = sample().resolve("t10k-images-idx3-ubyte.gz").toString();
    Path predictions = dir.resolve("predictions.txt");
    String emptyProblem = empty + ": empty (0 bytes): not a syncgrad checkpoint, or one whose writing never began";
    String craftedProblem = crafted + ": inconsistent checkpoint: parameters tensor 0: 16 data bytes, but the model "
        + "46340-46340 needs 46340x46340 floats (8589582400 bytes)";
    assertRefused(CliIT.run("predict", "--model", empty.toString(), "--input", images, "--output",
        predictions.toString()), predictions, List.of(emptyProblem));
    assertRefused(CliIT.run("predict", "--model", crafted.toString(), "--input", images, "--output",
        predictions.toString()), predictions, List.of(craftedProblem));
    assertRefused(CliIT.run("evaluate", "--model", empty.toString(), "--data", images), predictions,
        List.of(emptyProblem));
    assertRefused(CliIT.run("evaluate", "--model", crafted.toString(), "--data", images), predictions,
        List.of(craftedProblem));
  }

  @Test
  void aCheckpointThatCannotBeWrittenKeepsTheLastGoodOneAndTheRunResumesFromIt() throws IOException {
    Path full = Path.of("/dev/full");
    assumeTrue(Files.exists(full), "needs /dev/full, where every write fails with ENOSPC (even as root)");
    Path out = dir.resolve("out-full");
    // The second checkpoint's temporary file is a link to /dev/full: its write fails as on a full disk.
    Path second = CheckpointStore.periodicPath(out, 10);
    Files.createDirectories(second.getParent());
    Files.createSymbolicLink(second.resolveSibling(second.getFileName() + ".tmp-" + ProcessHandle.current().pid()),
        full);
    List<String> args = List.of("train", "--data", sample().toString(), "--layers", "8", "--max-steps", "20",
        "--checkpoint-every", "5", "--plain", "--out", out.toString());
    Result r = CliIT.run(args.toArray(String[]::new));
    assertEquals(SyncgradCli.USER_ERROR, r.code(), r.err());
    assertEquals(List.of("syncgrad: error: " + second + ": cannot write (No space left on device)"), errors(r));
    assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
    try (Stream<Path> files = Files.list(second.getParent())) {
      assertEquals(List.of(CheckpointStore.periodicPath(out, 5)), files.toList(), "no temporary file is left");
    }
    assertEquals(5, CheckpointStore.newestValid(out).step(), "the last good checkpoint");

    List<String> resume = new ArrayList<>(args);
    resume.addAll(List.of("--resume", out.toString()));
    Result again = CliIT.run(resume.toArray(String[]::new));
    assertEquals(0, again.code(), again.err());
    assertEquals(5, summary(out).get("resumed_from_step").asLong());
  }

  /** The embedded Fashion-MNIST sample as an IDX folder, copied once. */
  private static synchronized Path sample() throws IOException {
    Path folder = dir.resolve("sample");
    return Files.isDirectory(folder) ? folder : Fixtures.sampleFolder(folder);
  }

  private static Result train(Path data, Path out, String... more) {
    List<String> args = new ArrayList<>(List.of("train", "--data", data.toString(), "--out", out.toString()));
    args.addAll(SHORT);
    args.addAll(List.of(more));
    return CliIT.run(args.toArray(String[]::new));
  }

  /** Exit 2, exactly these problems, no stack trace, and no output folder, not even the node's log. */
  private static void assertRefused(Result r, Path out, List<String> problems) {
    assertEquals(SyncgradCli.USER_ERROR, r.code(), r.err());
    assertEquals(problems.stream().map(p -> "syncgrad: error: " + p).toList(), errors(r));
    assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
    assertFalse(Files.exists(out), "nothing is written for bad input");
  }

  private static List<String> errors(Result r) {
    return r.err().lines().filter(l -> l.startsWith("syncgrad: error: ")).toList();
  }

  private static JsonNode summary(Path out) throws IOException {
    return new ObjectMapper().readTree(out.resolve("summary.json").toFile());
  }

  /** A CSV with a header, four features in [0, 1) and the label last, from {@link #SEED}. */
  private static Path csv(String name, int rows, java.util.function.IntUnaryOperator label) throws IOException {
    SplittableRandom r = new SplittableRandom(SEED);
    StringBuilder sb = new StringBuilder("a,b,c,d,label\n");
    for (int i = 1; i <= rows; i++) {
      sb.append(String.format(Locale.ROOT, "%.3f,%.3f,%.3f,%.3f,%d\n", r.nextDouble(), r.nextDouble(), r.nextDouble(),
          r.nextDouble(), label.applyAsInt(i)));
    }
    return Files.writeString(dir.resolve(name), sb.toString());
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
