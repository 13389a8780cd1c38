package io.syncgrad.common.codec;

import io.syncgrad.common.data.Normalization;
import io.syncgrad.common.model.Activation;
import io.syncgrad.common.model.Initializer;
import io.syncgrad.common.model.LossFunction;
import io.syncgrad.common.model.ModelSpec;
import io.syncgrad.common.model.OutputActivation;
import io.syncgrad.common.optim.LearningRateSchedule;
import io.syncgrad.common.optim.Optimizer;
import io.syncgrad.common.run.TrainingConfig;
import io.syncgrad.proto.ModelSpecProto;
import io.syncgrad.proto.NormalizationProto;
import io.syncgrad.proto.TrainingConfigProto;

/** Maps the model spec, the normalisation and the training configuration to protos and back. */
public final class ModelCodec {

  /**
   * The largest network a run can carry: at 12 bytes a parameter (weights and two optimiser
   * moments) its whole state must fit the one byte array it travels in, with room to spare.
   */
  public static final long MAX_PARAMETERS = (Integer.MAX_VALUE - (16L << 20)) / 12;
  /** The most training samples a run may claim: a data set holds them in arrays. */
  public static final long MAX_EXAMPLES = Integer.MAX_VALUE - 8;

  private ModelCodec() {}

  /** Encodes a model spec. */
  public static ModelSpecProto encode(ModelSpec m) {
    ModelSpecProto.Builder b = ModelSpecProto.newBuilder()
        .setInputSize(m.inputSize())
        .setOutputSize(m.outputSize())
        .setActivation(m.activation().label())
        .setOutputActivation(m.outputActivation().label())
        .setLoss(m.loss().label())
        .setDropout(m.dropout());
    m.hiddenSizes().forEach(b::addHiddenSizes);
    return b.build();
  }

  /** Decodes a model spec; throws IllegalArgumentException naming what is wrong. */
  public static ModelSpec decode(ModelSpecProto p) {
    Activation a = Activation.parse(p.getActivation());
    OutputActivation o = OutputActivation.parse(p.getOutputActivation());
    LossFunction l = LossFunction.parse(p.getLoss());
    if (a == null || o == null || l == null) {
      throw new IllegalArgumentException("unknown activation, output or loss: '" + p.getActivation() + "', '"
          + p.getOutputActivation() + "', '" + p.getLoss() + "'");
    }
    // Refuses sizes <= 0, which is what sizes above 2^31 (unsigned on the wire) read as here.
    return new ModelSpec(p.getInputSize(), p.getHiddenSizesList(), p.getOutputSize(), a, o, l, p.getDropout());
  }

  /**
   * Refuses a model larger than a run can carry ({@link #MAX_PARAMETERS}): what a message that
   * names the model of a run must pass before anything is allocated for it. Never overflows,
   * however large the layers.
   *
   * @return {@code spec}
   * @throws IllegalArgumentException naming its layers
   */
  public static ModelSpec requireCarriable(ModelSpec spec) {
    long parameters = 0;
    for (int layer = 0; layer < spec.layerCount() && parameters <= MAX_PARAMETERS; layer++) {
      parameters += (long) spec.fanIn(layer) * spec.fanOut(layer) + spec.fanOut(layer);
    }
    if (parameters > MAX_PARAMETERS) {
      throw new IllegalArgumentException("a model with layers " + spec.layerSizes() + " has more than "
          + MAX_PARAMETERS + " parameters, more than a run can carry");
    }
    return spec;
  }

  /** Encodes a normalisation. */
  public static NormalizationProto encode(Normalization n) {
    NormalizationProto.Builder b = NormalizationProto.newBuilder().setKind(n.kind().label());
    for (int j = 0; j < n.offset().length; j++) {
      b.addOffset(n.offset()[j]);
      b.addFactor(n.factor()[j]);
    }
    return b.build();
  }

  /** Decodes a normalisation; throws IllegalArgumentException naming what is wrong. */
  public static Normalization decode(NormalizationProto p) {
    Normalization.Kind kind = Normalization.Kind.parse(p.getKind());
    if (kind == null || p.getOffsetCount() != p.getFactorCount()) {
      throw new IllegalArgumentException("bad normalization '" + p.getKind() + "' with " + p.getOffsetCount()
          + " offsets and " + p.getFactorCount() + " factors");
    }
    float[] offset = new float[p.getOffsetCount()];
    float[] factor = new float[p.getFactorCount()];
    for (int j = 0; j < offset.length; j++) {
      offset[j] = p.getOffset(j);
      factor[j] = p.getFactor(j);
    }
    return new Normalization(kind, offset, factor);
  }

  /** Encodes a training configuration. */
  public static TrainingConfigProto encode(TrainingConfig c) {
    LearningRateSchedule s = c.schedule();
    return TrainingConfigProto.newBuilder()
        .setSeed(c.seed())
        .setBatchSize(c.batchSize())
        .setShards(c.shards())
        .setOptimizer(c.optimizer().label())
        .setLearningRate(s.base())
        .setMomentum(c.momentum())
        .setBeta1(c.beta1())
        .setBeta2(c.beta2())
        .setEpsilon(c.epsilon())
        .setL1(c.l1())
        .setL2(c.l2())
        .setClipNorm(c.clipNorm())
        .setLrSchedule(s.kind().label())
        .setLrDecaySteps(s.decaySteps())
        .setLrDecayRate(s.decayRate())
        .setLrPeriodSteps(s.period())
        .setLrMin(s.min())
        .setInit(c.init().label())
        .setTrainExamples(c.trainExamples())
        .setDataFingerprint(c.dataFingerprint())
        .build();
  }

  /** Decodes a training configuration; throws IllegalArgumentException naming what is wrong. */
  public static TrainingConfig decode(TrainingConfigProto p) {
    Optimizer.Kind opt = Optimizer.Kind.parse(p.getOptimizer());
    LearningRateSchedule.Kind sched = LearningRateSchedule.Kind.parse(p.getLrSchedule());
    Initializer init = Initializer.parse(p.getInit());
    if (opt == null || sched == null || init == null) {
      throw new IllegalArgumentException("unknown optimizer, schedule or init: '" + p.getOptimizer() + "', '"
          + p.getLrSchedule() + "', '" + p.getInit() + "'");
    }
    if (p.getBatchSize() <= 0 || p.getShards() <= 0 || p.getShards() > p.getBatchSize()
        || p.getTrainExamples() < p.getBatchSize() || p.getTrainExamples() > MAX_EXAMPLES) {
      throw new IllegalArgumentException("inconsistent batch " + p.getBatchSize() + ", shards " + p.getShards()
          + ", examples " + p.getTrainExamples());
    }
    LearningRateSchedule schedule = new LearningRateSchedule(sched, p.getLearningRate(), p.getLrDecaySteps(),
        p.getLrDecayRate(), p.getLrPeriodSteps(), p.getLrMin());
    return new TrainingConfig(p.getSeed(), p.getBatchSize(), p.getShards(), opt, p.getMomentum(), p.getBeta1(),
        p.getBeta2(), p.getEpsilon(), p.getL1(), p.getL2(), p.getClipNorm(), schedule, init, p.getTrainExamples(),
        p.getDataFingerprint());
  }
}
