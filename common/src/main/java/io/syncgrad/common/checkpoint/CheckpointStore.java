package io.syncgrad.common.checkpoint;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import io.syncgrad.common.error.UserException;
import io.syncgrad.common.run.TrainingState;
import io.syncgrad.proto.CheckpointFileProto;
import io.syncgrad.proto.CheckpointProto;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checkpoints on disk: written atomically (temporary file, fsync, rename, fsync of the
 * directory) inside a SHA-256-checked envelope, so that a crash at any moment leaves either
 * the previous checkpoint or the new one, and a damaged file is refused rather than trusted.
 *
 * <p>A run directory holds {@code model.pb} (the final model) and {@code checkpoints/step-N.pb}
 * (periodic checkpoints, the newest K kept).
 */
public final class CheckpointStore {

  private static final Logger log = LoggerFactory.getLogger(CheckpointStore.class);
  private static final Pattern STEP_FILE = Pattern.compile("step-(\\d+)\\.pb");
  /** Protobuf messages end at 2 GiB: a larger file is no checkpoint. */
  private static final long MAX_FILE_BYTES = Integer.MAX_VALUE;
  private static final int SHA256_BYTES = 32;

  /** The final model's name inside a run directory. */
  public static final String MODEL_FILE = "model.pb";
  /** The model with the lowest validation loss, beside {@link #MODEL_FILE} in a run with a validation set. */
  public static final String BEST_FILE = "best.pb";
  /** The folder of periodic checkpoints inside a run directory. */
  public static final String CHECKPOINT_DIR = "checkpoints";

  private CheckpointStore() {}

  /** Where the periodic checkpoint of {@code step} goes inside {@code runDir}. */
  public static Path periodicPath(Path runDir, long step) {
    return runDir.resolve(CHECKPOINT_DIR).resolve(String.format("step-%08d.pb", step));
  }

  /**
   * Writes {@code state} to {@code target} atomically.
   *
   * @throws UserException when it cannot be written (a full disk, a read-only folder): naming the
   *                       path and the system's reason; the file there before, if any, is kept
   */
  public static void write(TrainingState state, Path target) {
    byte[] payload = CheckpointCodec.encode(state).toByteArray();
    byte[] file = CheckpointFileProto.newBuilder()
        .setFormatVersion(CheckpointCodec.FORMAT_VERSION)
        .setCheckpoint(ByteString.copyFrom(payload))
        .setSha256(ByteString.copyFrom(sha256(payload)))
        .build()
        .toByteArray();
    writeAtomically(target, file);
  }

  /**
   * Writes {@code bytes} to {@code target} so that a reader sees all of them or the old file. The
   * temporary file beside it is removed on every way this can fail.
   *
   * @throws UserException when it cannot be written: naming the path and the system's reason
   */
  public static void writeAtomically(Path target, byte[] bytes) {
    Path dir = target.toAbsolutePath().getParent();
    Path tmp = temporaryPath(target);
    boolean moved = false;
    try {
      Files.createDirectories(dir);
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
          StandardOpenOption.TRUNCATE_EXISTING)) {
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        while (buf.hasRemaining()) {
          ch.write(buf);
        }
        ch.force(true);
      }
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      moved = true;
    } catch (AtomicMoveNotSupportedException e) {
      throw new UserException(target + ": cannot replace it atomically on this file system", e);
    } catch (IOException e) {
      throw UserException.io(target, "write", e);
    } finally {
      if (!moved) {
        deleteTemporary(tmp);
      }
    }
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException e) {
      log.debug("Cannot fsync directory [{}]: {}", dir, e.toString());
    }
  }

  /** Where {@link #writeAtomically} puts the bytes for {@code target} before they replace it. */
  static Path temporaryPath(Path target) {
    return target.toAbsolutePath().getParent().resolve(target.getFileName() + ".tmp-" + ProcessHandle.current().pid());
  }

  private static void deleteTemporary(Path tmp) {
    try {
      Files.deleteIfExists(tmp);
    } catch (IOException e) {
      log.warn("Cannot remove the temporary file [{}]: {}", tmp, e.toString());
    }
  }

  /**
   * Reads and fully validates one checkpoint file. Every size in it is checked against the bytes
   * it holds before anything is allocated for it, so a damaged or crafted file is refused rather
   * than exhausting memory.
   *
   * @throws UserException naming the file and what is wrong with it
   */
  public static TrainingState read(Path file) {
    byte[] bytes;
    try {
      long size = Files.size(file);
      if (size > MAX_FILE_BYTES) {
        throw new UserException(file + ": " + size + " bytes, more than a syncgrad checkpoint can hold ("
            + MAX_FILE_BYTES + ")");
      }
      bytes = Files.readAllBytes(file);
    } catch (IOException e) {
      throw UserException.io(file, "read the checkpoint", e);
    }
    if (bytes.length == 0) {
      throw new UserException(file + ": empty (0 bytes): not a syncgrad checkpoint, or one whose writing never "
          + "began");
    }
    long announced = announcedBytes(bytes);
    if (announced > bytes.length) {
      throw new UserException(file + ": truncated: " + bytes.length + " bytes"
          + (announced == Long.MAX_VALUE ? ", cut inside its header" : " of the " + announced + " it announces"));
    }
    CheckpointFileProto envelope;
    try {
      envelope = CheckpointFileProto.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new UserException(file + ": not a readable syncgrad checkpoint (corrupt: " + e.getMessage() + ")", e);
    }
    if (envelope.getFormatVersion() == 0 && envelope.getCheckpoint().isEmpty()) {
      throw new UserException(file + ": not a syncgrad checkpoint (" + bytes.length + " bytes without one)");
    }
    if (envelope.getFormatVersion() != CheckpointCodec.FORMAT_VERSION) {
      throw new UserException(file + ": checkpoint format version " + envelope.getFormatVersion()
          + ", this build reads version " + CheckpointCodec.FORMAT_VERSION);
    }
    byte[] payload = envelope.getCheckpoint().toByteArray();
    if (payload.length == 0 || !Arrays.equals(sha256(payload), envelope.getSha256().toByteArray())) {
      throw new UserException(file + ": checksum mismatch: the checkpoint is truncated or corrupt ("
          + bytes.length + " bytes)");
    }
    try {
      return CheckpointCodec.decode(CheckpointProto.parseFrom(payload));
    } catch (InvalidProtocolBufferException | IllegalArgumentException e) {
      throw new UserException(file + ": inconsistent checkpoint: " + e.getMessage(), e);
    }
  }

  /**
   * The length of the file {@link #write} made, as its first fields announce it: the version, the
   * checkpoint's length and the checksum after it; {@code Long.MAX_VALUE} when the bytes end
   * inside those fields, -1 when they are laid out otherwise (the parser then judges them).
   */
  private static long announcedBytes(byte[] bytes) {
    CodedInputStream in = CodedInputStream.newInstance(bytes);
    try {
      if (!isTag(in.readRawVarint32(), CheckpointFileProto.FORMAT_VERSION_FIELD_NUMBER, WireFormat.WIRETYPE_VARINT)) {
        return -1;
      }
      in.readUInt32();
      if (in.isAtEnd()) {
        return Long.MAX_VALUE;
      }
      if (!isTag(in.readRawVarint32(), CheckpointFileProto.CHECKPOINT_FIELD_NUMBER,
          WireFormat.WIRETYPE_LENGTH_DELIMITED)) {
        return -1;
      }
      long length = Integer.toUnsignedLong(in.readRawVarint32());
      int checksum = CodedOutputStream.computeTagSize(CheckpointFileProto.SHA256_FIELD_NUMBER)
          + CodedOutputStream.computeUInt32SizeNoTag(SHA256_BYTES) + SHA256_BYTES;
      return in.getTotalBytesRead() + length + checksum;
    } catch (IOException e) {
      // A read past the last byte leaves the stream at its end; a malformed number does not.
      return in.getTotalBytesRead() >= bytes.length ? Long.MAX_VALUE : -1;
    }
  }

  /**
   * The newest valid checkpoint under {@code location}: a checkpoint file itself, or a run
   * directory whose {@code model.pb} and {@code checkpoints/} are searched. Damaged files are
   * reported and skipped, so a crash while writing costs at most the checkpoint being written.
   *
   * @throws UserException when there is no valid checkpoint at all
   */
  public static TrainingState newestValid(Path location) {
    if (Files.isRegularFile(location)) {
      return read(location);
    }
    if (!Files.isDirectory(location)) {
      throw new UserException(location + ": no such checkpoint file or run directory");
    }
    List<Path> candidates = new ArrayList<>(periodic(location));
    Path model = location.resolve(MODEL_FILE);
    if (Files.isRegularFile(model)) {
      candidates.add(model);
    }
    TrainingState best = null;
    List<String> refused = new ArrayList<>();
    for (Path p : candidates) {
      try {
        TrainingState s = read(p);
        if (best == null || s.step() > best.step()) {
          best = s;
        }
      } catch (UserException e) {
        refused.add(e.getMessage());
        log.warn("Skipping checkpoint: {}", e.getMessage());
      }
    }
    if (best == null) {
      List<String> problems = new ArrayList<>();
      problems.add(location + ": no valid checkpoint (looked at " + MODEL_FILE + " and " + CHECKPOINT_DIR + "/)");
      problems.addAll(refused);
      throw new UserException(problems);
    }
    return best;
  }

  /**
   * Whether a run directory holds a checkpoint to continue (valid or not: a damaged one is
   * reported by {@link #newestValid}, never silently replaced by a fresh run).
   */
  public static boolean hasCheckpoint(Path runDir) {
    return Files.isRegularFile(runDir.resolve(MODEL_FILE)) || !periodic(runDir).isEmpty();
  }

  /** The periodic checkpoints of a run directory, oldest first. */
  public static List<Path> periodic(Path runDir) {
    Path dir = runDir.resolve(CHECKPOINT_DIR);
    List<Path> out = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return out;
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "step-*.pb")) {
      ds.forEach(out::add);
    } catch (IOException e) {
      throw new UserException(dir + ": cannot list checkpoints (" + e.getMessage() + ")", e);
    }
    out.sort((a, b) -> Long.compare(stepOf(a), stepOf(b)));
    return out;
  }

  /** Deletes all but the newest {@code keep} periodic checkpoints, and stale temporary files. */
  public static void retain(Path runDir, int keep) throws IOException {
    List<Path> all = periodic(runDir);
    for (int i = 0; i < all.size() - keep; i++) {
      Files.deleteIfExists(all.get(i));
    }
  }

  private static boolean isTag(int tag, int field, int wireType) {
    return WireFormat.getTagFieldNumber(tag) == field && WireFormat.getTagWireType(tag) == wireType;
  }

  private static long stepOf(Path p) {
    Matcher m = STEP_FILE.matcher(p.getFileName().toString());
    return m.matches() ? Long.parseLong(m.group(1)) : -1;
  }

  private static byte[] sha256(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }
}
