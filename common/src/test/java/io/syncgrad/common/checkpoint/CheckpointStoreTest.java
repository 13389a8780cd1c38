package io.syncgrad.common.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.syncgrad.common.data.Normalization;
import io.syncgrad.common.error.UserException;
import io.syncgrad.common.model.Activation;
import io.syncgrad.common.model.LossFunction;
import io.syncgrad.common.model.ModelSpec;
import io.syncgrad.common.model.OutputActivation;
import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.optim.Optimizer;
import io.syncgrad.common.run.TrainingConfig;
import io.syncgrad.common.run.TrainingState;
import io.syncgrad.common.testing.Fixtures;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointStoreTest {

  private static final ModelSpec MODEL = Fixtures.model(6, List.of(5), 3, Activation.SIGMOID,
      OutputActivation.SOFTMAX, LossFunction.CROSS_ENTROPY, 0.25f);

  @TempDir
  Path dir;

  @Test
  void roundTripKeepsEveryByteOfTheState() throws IOException {
    TrainingState state = state(17);
    Path file = dir.resolve("a.pb");
    CheckpointStore.write(state, file);
    TrainingState back = CheckpointStore.read(file);
    assertEquals(state.params().sha256Hex(), back.params().sha256Hex());
    assertEquals(state.optimizer().firstMoment().sha256Hex(), back.optimizer().firstMoment().sha256Hex());
    assertEquals(state.optimizer().secondMoment().sha256Hex(), back.optimizer().secondMoment().sha256Hex());
    assertEquals(state.optimizer().updates(), back.optimizer().updates());
    assertEquals(state.model(), back.model());
    assertEquals(state.config(), back.config());
    assertEquals(17, back.step());
    assertTrue(Arrays.equals(state.normalization().factor(), back.normalization().factor()));
    assertTrue(Files.list(dir).allMatch(p -> p.getFileName().toString().equals("a.pb")), "no temporary file left");
  }

  @Test
  void truncatedCheckpointIsRefusedWithItsName() throws IOException {
    Path file = dir.resolve("t.pb");
    CheckpointStore.write(state(3), file);
    byte[] bytes = Files.readAllBytes(file);
    for (int cut : new int[] {0, 1, 10, bytes.length / 2, bytes.length - 1}) {
      Files.write(file, Arrays.copyOf(bytes, cut));
      UserException e = assertThrows(UserException.class, () -> CheckpointStore.read(file), "cut at " + cut);
      assertTrue(e.getMessage().startsWith(file.toString() + ": "), e.getMessage());
    }
  }

  @Test
  void anEmptyFileSaysSo() throws IOException {
    Path file = Files.write(dir.resolve("model.pb"), new byte[0]);
    UserException e = assertThrows(UserException.class, () -> CheckpointStore.read(file));
    assertEquals(file + ": empty (0 bytes): not a syncgrad checkpoint, or one whose writing never began",
        e.getMessage());
  }

  @Test
  void aTruncatedFileSaysSoWhereverItWasCut() throws IOException {
    Path file = dir.resolve("t.pb");
    CheckpointStore.write(state(3), file);
    byte[] bytes = Files.readAllBytes(file);
    // Inside the header, inside the checkpoint, at the end of the checkpoint, inside the checksum.
    for (int cut : new int[] {1, 2, 5, bytes.length / 2, bytes.length - 34, bytes.length - 1}) {
      Files.write(file, Arrays.copyOf(bytes, cut));
      UserException e = assertThrows(UserException.class, () -> CheckpointStore.read(file), "cut at " + cut);
      assertTrue(e.getMessage().startsWith(file + ": truncated: " + cut + " bytes"), e.getMessage());
    }
  }

  @Test
  void aFileOfAnotherKindIsCorruptNotTruncated() throws IOException {
    for (byte[] bytes : new byte[][] {{1, 2, 3}, "model = 784-256-10\n".getBytes(StandardCharsets.UTF_8)}) {
      Path file = Files.write(dir.resolve("other.pb"), bytes);
      UserException e = assertThrows(UserException.class, () -> CheckpointStore.read(file));
      assertTrue(e.getMessage().startsWith(file + ": not a readable syncgrad checkpoint (corrupt: ")
          || e.getMessage().startsWith(file + ": not a syncgrad checkpoint"), e.getMessage());
    }
  }

  @Test
  void sizesClaimedByACraftedFileWithAValidChecksumAreCheckedBeforeAllocating() throws IOException {
    // 46340x46340 floats would be 8 GiB: the file holds 16 bytes of weights for them.
    Path file = Fixtures.oversizedCheckpoint(dir.resolve("crafted.pb"), 46340);
    UserException e = assertThrows(UserException.class, () -> CheckpointStore.read(file));
    assertEquals(file + ": inconsistent checkpoint: parameters tensor 0: 16 data bytes, but the model 46340-46340 "
        + "needs 46340x46340 floats (8589582400 bytes)", e.getMessage());
  }

  @Test
  void aWriteThatFailsKeepsThePreviousFileAndLeavesNoTemporaryOne() throws IOException {
    Path full = Path.of("/dev/full");
    assumeTrue(Files.exists(full), "needs /dev/full, where every write fails with ENOSPC (even as root)");
    Path file = dir.resolve("model.pb");
    CheckpointStore.write(state(10), file);
    // The temporary file is a link to /dev/full: the write fails as on a full disk.
    Files.createSymbolicLink(CheckpointStore.temporaryPath(file), full);
    UserException e = assertThrows(UserException.class, () -> CheckpointStore.write(state(20), file));
    assertEquals(file + ": cannot write (No space left on device)", e.getMessage());
    assertEquals(10, CheckpointStore.read(file).step(), "the previous checkpoint is intact");
    assertEquals(List.of(file), listing(dir), "no temporary file left");
  }

  @Test
  void aCheckpointThatCannotReplaceItsTargetLeavesNoTemporaryFile() throws IOException {
    CheckpointStore.write(state(10), CheckpointStore.periodicPath(dir, 10));
    // A folder where the next checkpoint goes: the rename fails, as root too.
    Path inTheWay = CheckpointStore.periodicPath(dir, 20);
    Files.createDirectories(inTheWay.resolve("x"));
    UserException e = assertThrows(UserException.class, () -> CheckpointStore.write(state(20), inTheWay));
    assertEquals(inTheWay + ": cannot write (Is a directory)", e.getMessage());
    assertEquals(List.of(CheckpointStore.periodicPath(dir, 10), inTheWay), listing(inTheWay.getParent()));
    assertEquals(10, CheckpointStore.newestValid(dir).step(), "the last good checkpoint is the one resumed");
  }

  @Test
  void aFolderThatCannotBeMadeIsNamedWithTheReason() throws IOException {
    Path file = Files.writeString(dir.resolve("run"), "a file where the run folder should be");
    Path target = CheckpointStore.periodicPath(file, 5);
    UserException e = assertThrows(UserException.class, () -> CheckpointStore.write(state(5), target));
    assertEquals(target + ": cannot write (" + file.resolve(CheckpointStore.CHECKPOINT_DIR) + ": Not a directory)",
        e.getMessage());
  }

  @Test
  void everyFlippedBitIsCaught() throws IOException {
    Path file = dir.resolve("f.pb");
    CheckpointStore.write(state(3), file);
    byte[] bytes = Files.readAllBytes(file);
    for (int at = 0; at < bytes.length; at += Math.max(1, bytes.length / 97)) {
      byte[] bad = bytes.clone();
      bad[at] ^= 0x10;
      Files.write(file, bad);
      assertThrows(UserException.class, () -> CheckpointStore.read(file), "bit flipped at byte " + at);
    }
  }

  @Test
  void newestValidSkipsADamagedNewerCheckpoint() throws IOException {
    CheckpointStore.write(state(10), CheckpointStore.periodicPath(dir, 10));
    CheckpointStore.write(state(20), CheckpointStore.periodicPath(dir, 20));
    Path newest = CheckpointStore.periodicPath(dir, 30);
    CheckpointStore.write(state(30), newest);
    assertEquals(30, CheckpointStore.newestValid(dir).step());
    byte[] bytes = Files.readAllBytes(newest);
    Files.write(newest, Arrays.copyOf(bytes, bytes.length - 7));
    assertEquals(20, CheckpointStore.newestValid(dir).step());
  }

  @Test
  void retentionKeepsTheNewest() throws IOException {
    for (long s = 1; s <= 5; s++) {
      CheckpointStore.write(state(s), CheckpointStore.periodicPath(dir, s));
    }
    CheckpointStore.retain(dir, 2);
    assertEquals(List.of(CheckpointStore.periodicPath(dir, 4), CheckpointStore.periodicPath(dir, 5)),
        CheckpointStore.periodic(dir));
  }

  @Test
  void missingCheckpointSaysWhereItLooked() {
    UserException e = assertThrows(UserException.class, () -> CheckpointStore.newestValid(dir));
    assertTrue(e.getMessage().startsWith(dir + ": no valid checkpoint"), e.getMessage());
  }

  private static List<Path> listing(Path folder) throws IOException {
    try (Stream<Path> files = Files.list(folder)) {
      return files.sorted().toList();
    }
  }

  private static TrainingState state(long step) {
    TrainingConfig config = Fixtures.config(9, 8, 2, Optimizer.Kind.ADAM, 0.01, 64);
    Parameters params = Parameters.zeros(MODEL);
    config.init().initialize(MODEL, 9, params);
    Optimizer opt = config.newOptimizer(params);
    Parameters grad = params.copy();
    for (int i = 0; i < 3; i++) {
      opt.update(params, grad, 0.01);
    }
    float[] offset = new float[6];
    float[] factor = new float[6];
    Arrays.fill(factor, 0.5f);
    return new TrainingState("run-1", MODEL, new Normalization(Normalization.Kind.STANDARDIZE, offset, factor),
        config, params, opt, step, "test-kernel");
  }
}
