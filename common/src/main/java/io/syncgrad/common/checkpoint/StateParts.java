package io.syncgrad.common.checkpoint;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnsafeByteOperations;
import io.syncgrad.common.error.UserException;
import io.syncgrad.common.model.ModelSpec;
import io.syncgrad.common.run.TrainingState;
import io.syncgrad.proto.CheckpointProto;
import io.syncgrad.proto.StateProto;
import java.util.ArrayList;
import java.util.List;

/**
 * A whole state (weights, optimiser, step) on the wire: the checkpoint's bytes cut into parts of
 * at most {@link #PART_BYTES}, so that a model of any size fits the links' frames, and put
 * together again on the other side. The receiver bounds the whole by what the model can need
 * before it allocates anything for it.
 */
public final class StateParts {

  /** The largest part. */
  public static final int PART_BYTES = 16 << 20;
  /** Room for the checkpoint's fields besides its tensors. */
  private static final long ENVELOPE_BYTES = 1 << 20;

  private StateParts() {}

  /** The parts of {@code state}, sent by {@code from} in {@code generation}. */
  public static List<StateProto> split(String runId, long generation, String from, TrainingState state) {
    byte[] bytes = CheckpointCodec.encode(state).toByteArray();
    int parts = Math.max(1, (bytes.length + PART_BYTES - 1) / PART_BYTES);
    List<StateProto> out = new ArrayList<>(parts);
    for (int i = 0; i < parts; i++) {
      int from0 = i * PART_BYTES;
      int len = Math.min(PART_BYTES, bytes.length - from0);
      out.add(StateProto.newBuilder().setRunId(runId).setGeneration(generation).setFromWorker(from)
          .setStep(state.step()).setPart(i).setParts(parts).setTotalBytes(bytes.length)
          // Nobody writes the array again: wrapped, not copied.
          .setData(UnsafeByteOperations.unsafeWrap(bytes, from0, len)).build());
    }
    return out;
  }

  /** The most bytes a state of {@code model} can take: weights and two moments, and the envelope. */
  public static long maxBytes(ModelSpec model) {
    return 3 * model.parameterCount() * Float.BYTES + ENVELOPE_BYTES;
  }

  /** Puts the parts of one state together, in order; parts of another state start over. */
  public static final class Assembly {
    private final long maxBytes;
    private byte[] bytes;
    private StateProto first;
    private int next;
    private int filled;

    /** @param maxBytes the largest state accepted ({@link #maxBytes(ModelSpec)}) */
    public Assembly(long maxBytes) {
      this.maxBytes = maxBytes;
    }

    /**
     * Takes one part.
     *
     * @return the state once its last part is in, else null
     * @throws IllegalArgumentException when the part does not fit: too large, out of order, malformed
     */
    public TrainingState offer(StateProto p) {
      if (p.getPart() == 0) {
        if (p.getTotalBytes() > maxBytes || p.getParts() < 1
            || p.getTotalBytes() > (long) p.getParts() * PART_BYTES) {
          throw new IllegalArgumentException("a state of " + p.getTotalBytes() + " bytes in " + p.getParts()
              + " parts, more than the model can need (" + maxBytes + ")");
        }
        bytes = new byte[(int) p.getTotalBytes()];
        first = p;
        next = 0;
        filled = 0;
      }
      if (first == null || p.getPart() != next || p.getParts() != first.getParts()
          || p.getTotalBytes() != first.getTotalBytes() || p.getStep() != first.getStep()
          || p.getGeneration() != first.getGeneration() || filled + p.getData().size() > bytes.length) {
        first = null;
        throw new IllegalArgumentException("part " + p.getPart() + " of a state does not follow the parts before it");
      }
      p.getData().copyTo(bytes, filled);
      filled += p.getData().size();
      next++;
      if (next < first.getParts()) {
        return null;
      }
      first = null;
      if (filled != bytes.length) {
        throw new IllegalArgumentException("a state of " + filled + " bytes, announced " + bytes.length);
      }
      try {
        return CheckpointCodec.decode(CheckpointProto.parseFrom(bytes));
      } catch (InvalidProtocolBufferException | UserException e) {
        throw new IllegalArgumentException("a malformed state: " + e.getMessage(), e);
      }
    }
  }
}
