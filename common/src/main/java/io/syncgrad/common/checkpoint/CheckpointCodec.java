package io.syncgrad.common.checkpoint;

import io.syncgrad.common.codec.ModelCodec;
import io.syncgrad.common.codec.TensorCodec;
import io.syncgrad.common.model.ModelSpec;
import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.optim.Optimizer;
import io.syncgrad.common.run.TrainingConfig;
import io.syncgrad.common.run.TrainingState;
import io.syncgrad.proto.CheckpointProto;
import io.syncgrad.proto.OptimizerStateProto;
import io.syncgrad.proto.TensorProto;
import java.math.BigInteger;
import java.util.List;

/** Maps a {@link TrainingState} to a {@link CheckpointProto} and back. */
public final class CheckpointCodec {

  /** The checkpoint layout this build writes and reads. */
  public static final int FORMAT_VERSION = 1;

  private CheckpointCodec() {}

  /** Encodes the whole state. */
  public static CheckpointProto encode(TrainingState s) {
    Optimizer opt = s.optimizer();
    OptimizerStateProto.Builder o = OptimizerStateProto.newBuilder()
        .setName(opt.kind().label())
        .setUpdates(opt.updates());
    if (opt.firstMoment() != null) {
      o.addAllFirstMoment(TensorCodec.encode(opt.firstMoment()));
    }
    if (opt.secondMoment() != null) {
      o.addAllSecondMoment(TensorCodec.encode(opt.secondMoment()));
    }
    return CheckpointProto.newBuilder()
        .setFormatVersion(FORMAT_VERSION)
        .setRunId(s.runId())
        .setModel(ModelCodec.encode(s.model()))
        .setNormalization(ModelCodec.encode(s.normalization()))
        .setConfig(ModelCodec.encode(s.config()))
        .addAllParameters(TensorCodec.encode(s.params()))
        .setOptimizer(o)
        .setStep(s.step())
        .setEpoch(s.epoch())
        .setDataCursor(s.dataCursor())
        .setWeightsSha256(s.params().sha256Hex())
        .setKernel(s.kernel())
        .build();
  }

  /**
   * Decodes and cross-checks a checkpoint. The model's layer sizes are checked against the tensor
   * bytes the checkpoint holds before anything is allocated for them, so the memory it takes is
   * bounded by its own size, whatever it claims (a file, or a whole state sent over a link).
   *
   * @throws IllegalArgumentException naming the first inconsistency
   */
  public static TrainingState decode(CheckpointProto p) {
    if (p.getFormatVersion() != FORMAT_VERSION) {
      throw new IllegalArgumentException("format version " + p.getFormatVersion() + ", this build reads "
          + FORMAT_VERSION);
    }
    ModelSpec model = ModelCodec.decode(p.getModel());
    TrainingConfig config = ModelCodec.decode(p.getConfig());
    var normalization = ModelCodec.decode(p.getNormalization());
    if (normalization.offset().length != model.inputSize()) {
      throw new IllegalArgumentException("normalization covers " + normalization.offset().length
          + " features, the model takes " + model.inputSize());
    }
    // The model's sizes come from the file too: they must match the bytes it holds before the
    // tensors are allocated, or a few bytes claiming a huge layer would exhaust the memory.
    check(heldBytes(p.getParametersList(), model, "parameters"));
    Parameters params = Parameters.zeros(model);
    check(TensorCodec.decodeInto(p.getParametersList(), params, "parameters"));
    if (!params.sha256Hex().equals(p.getWeightsSha256())) {
      throw new IllegalArgumentException("the weights do not match their recorded hash");
    }
    Optimizer opt = config.newOptimizer(params);
    OptimizerStateProto o = p.getOptimizer();
    if (!o.getName().equals(config.optimizer().label())) {
      throw new IllegalArgumentException("optimizer state of '" + o.getName() + "' for optimizer '"
          + config.optimizer().label() + "'");
    }
    if (opt.firstMoment() != null) {
      check(heldBytes(o.getFirstMomentList(), model, "optimizer first moment"));
    }
    if (opt.secondMoment() != null) {
      check(heldBytes(o.getSecondMomentList(), model, "optimizer second moment"));
    }
    Parameters first = opt.firstMoment() == null ? null : params.zerosLike();
    Parameters second = opt.secondMoment() == null ? null : params.zerosLike();
    if (first != null) {
      check(TensorCodec.decodeInto(o.getFirstMomentList(), first, "optimizer first moment"));
    }
    if (second != null) {
      check(TensorCodec.decodeInto(o.getSecondMomentList(), second, "optimizer second moment"));
    }
    opt.restore(o.getUpdates(), first, second);
    TrainingState state = new TrainingState(p.getRunId(), model, normalization, config, params, opt, p.getStep(),
        p.getKernel());
    if (state.epoch() != p.getEpoch() || state.dataCursor() != p.getDataCursor()) {
      throw new IllegalArgumentException("step " + p.getStep() + " does not match epoch " + p.getEpoch()
          + " and data cursor " + p.getDataCursor());
    }
    return state;
  }

  /**
   * Whether {@code tensors} hold the bytes of {@code model}'s tensors (weights then bias per
   * layer), computed from sizes alone.
   *
   * @return null when they do, else what is wrong
   */
  private static String heldBytes(List<TensorProto> tensors, ModelSpec model, String what) {
    int expected = 2 * model.layerCount();
    if (tensors.size() != expected) {
      return what + ": " + tensors.size() + " tensors, the model " + model.sizes() + " has " + expected;
    }
    for (int i = 0; i < expected; i++) {
      int layer = i / 2;
      long rows = Parameters.isWeights(i) ? model.fanIn(layer) : 1;
      long elements = rows * model.fanOut(layer);
      long held = tensors.get(i).getData().size();
      if (held % Float.BYTES != 0 || held / Float.BYTES != elements) {
        return what + " tensor " + i + ": " + held + " data bytes, but the model " + model.sizes() + " needs "
            + rows + "x" + model.fanOut(layer) + " floats (" + BigInteger.valueOf(elements).shiftLeft(2) + " bytes)";
      }
    }
    return null;
  }

  private static void check(String problem) {
    if (problem != null) {
      throw new IllegalArgumentException(problem);
    }
  }
}
