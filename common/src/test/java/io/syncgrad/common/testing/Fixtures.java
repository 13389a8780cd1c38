package io.syncgrad.common.testing;

import com.google.protobuf.ByteString;
import com.typesafe.config.ConfigFactory;
import io.syncgrad.common.checkpoint.CheckpointCodec;
import io.syncgrad.common.config.TrainSettings;
import io.syncgrad.common.data.Dataset;
import io.syncgrad.common.model.Activation;
import io.syncgrad.common.model.Initializer;
import io.syncgrad.common.model.LossFunction;
import io.syncgrad.common.model.ModelSpec;
import io.syncgrad.common.model.OutputActivation;
import io.syncgrad.common.optim.LearningRateSchedule;
import io.syncgrad.common.optim.Optimizer;
import io.syncgrad.common.run.TrainingConfig;
import io.syncgrad.proto.CheckpointFileProto;
import io.syncgrad.proto.CheckpointProto;
import io.syncgrad.proto.DTypeProto;
import io.syncgrad.proto.NormalizationProto;
import io.syncgrad.proto.TensorProto;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** Small deterministic models, data and configurations shared by the tests of every module. */
public final class Fixtures {

  private Fixtures() {}

  /** {@code n} samples of {@code width} features in [-1, 1] with {@code classes} labels, from a seed. */
  public static Dataset randomData(int n, int width, int classes, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] x = new float[n * width];
    int[] y = new int[n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < width; j++) {
        x[i * width + j] = (float) (2 * r.nextDouble() - 1);
      }
      y[i] = r.nextInt(classes);
    }
    return new Dataset("random-" + seed, x, y, n, width, false);
  }

  /** A small classifier. */
  public static ModelSpec model(int input, List<Integer> hidden, int output, Activation act, OutputActivation out,
      LossFunction loss, float dropout) {
    return new ModelSpec(input, hidden, output, act, out, loss, dropout);
  }

  /** A configuration for {@code examples} samples with the given optimiser. */
  public static TrainingConfig config(long seed, int batch, int shards, Optimizer.Kind optimizer, double lr,
      long examples) {
    return new TrainingConfig(seed, batch, shards, optimizer, 0.9, 0.9, 0.999, 1e-8, 0, 0, 0,
        LearningRateSchedule.constant(lr), Initializer.HE, examples, "test");
  }

  /**
   * A whole state of a small Adam run after {@code step} steps: weights from {@code seed}, the
   * optimiser's moments filled with something other than zeros.
   */
  public static io.syncgrad.common.run.TrainingState state(long seed, long step) {
    ModelSpec model = model(5, List.of(4), 3, Activation.RELU, OutputActivation.SOFTMAX, LossFunction.CROSS_ENTROPY,
        0f);
    TrainingConfig config = config(seed, 8, 2, Optimizer.Kind.ADAM, 0.01, 64);
    io.syncgrad.common.model.Parameters params = io.syncgrad.common.model.Parameters.zeros(model);
    Initializer.HE.initialize(model, seed, params);
    Optimizer optimizer = config.newOptimizer(params);
    optimizer.restore(step, params, params);
    io.syncgrad.common.data.Normalization none = io.syncgrad.common.data.Normalization.fit(
        io.syncgrad.common.data.Normalization.Kind.NONE, randomData(8, 5, 3, seed));
    return new io.syncgrad.common.run.TrainingState("run", model, none, config, params, optimizer, step, "test");
  }

  /**
   * Flags of a short run on {@code data} writing to {@code out}: {@code key, value} pairs
   * (without the dashes), as a user would give them.
   */
  public static Map<String, Object> flags(Path data, Path out, String... keyValues) {
    Map<String, Object> m = new java.util.HashMap<>();
    m.put("data", data.toString());
    m.put("out", out.toString());
    for (int i = 0; i < keyValues.length; i += 2) {
      m.put(keyValues[i], keyValues[i + 1]);
    }
    return m;
  }

  /** Settings as {@code syncgrad train} would build them from these flags. */
  public static TrainSettings settings(Map<String, Object> flags) {
    return TrainSettings.fromConfig(ConfigFactory.parseMap(flags, "command line")
        .withFallback(ConfigFactory.defaultReference().getConfig(TrainSettings.PATH)).resolve());
  }

  /**
   * A checkpoint file whose checksum is valid but whose model claims {@code size} inputs and
   * outputs (no hidden layer), with 16 bytes of weights: read trustingly, {@code size} 46340 is
   * an 8 GiB allocation.
   */
  public static Path oversizedCheckpoint(Path file, int size) throws IOException {
    CheckpointProto valid = CheckpointCodec.encode(state(1, 3));
    NormalizationProto.Builder normalization = NormalizationProto.newBuilder().setKind("none");
    for (int j = 0; j < size; j++) {
      normalization.addOffset(0).addFactor(1);
    }
    byte[] payload = valid.toBuilder()
        .setModel(valid.getModel().toBuilder().setInputSize(size).clearHiddenSizes().setOutputSize(size))
        .setNormalization(normalization)
        .clearParameters()
        .addParameters(TensorProto.newBuilder().setDtype(DTypeProto.DTYPE_FLOAT32).addShape(size).addShape(size)
            .setData(ByteString.copyFrom(new byte[16])))
        .addParameters(TensorProto.newBuilder().setDtype(DTypeProto.DTYPE_FLOAT32).addShape(1).addShape(size))
        .build()
        .toByteArray();
    byte[] sha256;
    try {
      sha256 = MessageDigest.getInstance("SHA-256").digest(payload);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
    return Files.write(file, CheckpointFileProto.newBuilder().setFormatVersion(CheckpointCodec.FORMAT_VERSION)
        .setCheckpoint(ByteString.copyFrom(payload)).setSha256(ByteString.copyFrom(sha256)).build().toByteArray());
  }

  /** Copies the embedded Fashion-MNIST sample into {@code dir} as an IDX folder; returns it. */
  public static Path sampleFolder(Path dir) throws IOException {
    Files.createDirectories(dir);
    for (String name : List.of("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")) {
      try (InputStream in = Fixtures.class.getResourceAsStream("/syncgrad/data/fashion-mnist-sample/" + name)) {
        Files.copy(in, dir.resolve(name));
      }
    }
    return dir;
  }
}
