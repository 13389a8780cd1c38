package io.syncgrad.common.checkpoint;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnsafeByteOperations;
import io.syncgrad.common.codec.ModelCodec;
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
 * together again on the other side. The receiver knows the run's model: it bounds the whole by
 * what that model can need, allocates it only once the first part's bytes are in, and checks
 * the checkpoint's model and tensors against it before anything is allocated for them.
 */
public final class StateParts {

  /** The largest part. */
  public static final int PART_BYTES = 16 << 20;
  /** Room for the checkpoint's fields besides its tensors. */
  private static final long ENVELOPE_BYTES = 1 << 20;
  /** Room for a state frame's fields besides its part of the bytes (ids, counters, framing). */
  private static final int FRAME_ENVELOPE_BYTES = 64 << 10;

  private StateParts() {}

  /** The parts of {@code state}, sent by {@code from} in {@code generation}. */
  public static List<StateProto> split(String runId, long generation, String from, TrainingState state) {
    byte[] bytes = CheckpointCodec.encode(state).toByteArray();
    int parts = partsOf(bytes.length);
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

  private static int partsOf(long totalBytes) {
    return (int) Math.max(1, (totalBytes + PART_BYTES - 1) / PART_BYTES);
  }

  /** The most bytes a state of {@code model} can take: weights and two moments, and the envelope. */
  public static long maxBytes(ModelSpec model) {
    return 3 * model.parameterCount() * Float.BYTES + ENVELOPE_BYTES;
  }

  /** The largest link frame that carries a part of a state of {@code model}. */
  public static int maxFrameBytes(ModelSpec model) {
    return (int) Math.min(PART_BYTES, maxBytes(model)) + FRAME_ENVELOPE_BYTES;
  }

  /** Puts the parts of one state together, in order; parts of another state start over. */
  public static final class Assembly {
    private final ModelSpec model;
    private final long maxBytes;
    private byte[] bytes;
    private StateProto first;
    private int next;
    private int filled;

    /** @param model the run's: the only model whose states are taken */
    public Assembly(ModelSpec model) {
      this.model = model;
      // A state is put together in one array: a model whose state could need more than an array
      // holds (about 179 million parameters) cannot take one from a peer, and a part claiming
      // more is refused like any other too large, instead of failing the allocation.
      this.maxBytes = Math.min(maxBytes(model), Integer.MAX_VALUE - 8);
    }

    /**
     * Takes one part.
     *
     * @return the state once its last part is in, else null
     * @throws IllegalArgumentException when the part does not fit: too large, out of order,
     *                                  malformed, of another model
     */
    public TrainingState offer(StateProto p) {
      if (p.getPart() == 0) {
        long total = p.getTotalBytes();
        // uint64 on the wire: a negative long here is more than any model needs too.
        if (total < 0 || total > maxBytes || p.getParts() != partsOf(total)) {
          first = null;
          throw new IllegalArgumentException("a state of " + Long.toUnsignedString(total) + " bytes in "
              + Integer.toUnsignedLong(p.getParts()) + " parts, more than the model can need (" + maxBytes
              + " bytes) or not cut as states are");
        }
        if (p.getData().size() != partBytes(total, 0)) {
          first = null;
          throw new IllegalArgumentException("the first part of a state of " + total + " bytes holds "
              + p.getData().size() + " bytes, expected " + partBytes(total, 0));
        }
        bytes = new byte[(int) total];
        first = p;
        next = 0;
        filled = 0;
      }
      if (first == null || p.getPart() != next || p.getParts() != first.getParts()
          || p.getTotalBytes() != first.getTotalBytes() || p.getStep() != first.getStep()
          || p.getGeneration() != first.getGeneration() || p.getData().size() != partBytes(bytes.length, next)) {
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
      try {
        CheckpointProto checkpoint = CheckpointProto.parseFrom(bytes);
        bytes = null;
        // The checkpoint names its model: nothing is allocated for it unless it is the run's
        // (and the decoder checks that every byte of its tensors is present before it allocates).
        if (!ModelCodec.decode(checkpoint.getModel()).equals(model)) {
          throw new IllegalArgumentException("a state of another model than the run's");
        }
        return CheckpointCodec.decode(checkpoint);
      } catch (InvalidProtocolBufferException | UserException e) {
        throw new IllegalArgumentException("a malformed state: " + e.getMessage(), e);
      }
    }

    /** The size of part {@code i} of a state of {@code total} bytes, as {@link #split} cuts it. */
    private static long partBytes(long total, int i) {
      return Math.max(0, Math.min(PART_BYTES, total - (long) i * PART_BYTES));
    }
  }
}
