package io.syncgrad.common.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.syncgrad.common.data.Dataset;
import io.syncgrad.common.data.Normalization;
import io.syncgrad.common.math.EjmlKernel;
import io.syncgrad.common.model.Activation;
import io.syncgrad.common.model.Initializer;
import io.syncgrad.common.model.LossFunction;
import io.syncgrad.common.model.ModelSpec;
import io.syncgrad.common.model.OutputActivation;
import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.testing.Fixtures;
import io.syncgrad.common.testing.OnnxRuntimeRunner;
import io.syncgrad.common.train.Evaluator;
import io.syncgrad.proto.onnx.ModelProto;
import io.syncgrad.proto.onnx.TensorShapeProto;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The exported graph, run by ONNX Runtime on raw features, gives what syncgrad's forward pass
 * gives on the normalised features, for every hidden activation, output activation and
 * normalisation, with weights drawn from a seed.
 */
class OnnxExportTest {

  private static final long SEED = 20261203L;
  /** |ONNX Runtime − syncgrad| bound on every output: float32 products summed in another order. */
  private static final double TOLERANCE = 1e-5;
  /** A graph without the normalisation must miss by far more than the tolerance on this data. */
  private static final double NORMALIZATION_EFFECT = 1e-3;
  private static final int WIDTH = 12;
  private static final List<Integer> HIDDEN = List.of(9, 7);
  private static final int CLASSES = 4;
  private static final int TRAIN_ROWS = 300;
  /** More than one of the evaluator's blocks of 1000 rows. */
  private static final int TEST_ROWS = 1100;

  static Stream<Arguments> models() {
    List<Arguments> cases = new ArrayList<>();
    for (Activation act : Activation.values()) {
      for (OutputActivation out : OutputActivation.values()) {
        for (Normalization.Kind kind : Normalization.Kind.values()) {
          cases.add(Arguments.of(act, out, kind, false));
        }
        // IDX pixels: scale is then the fixed 1/255 of the byte range.
        cases.add(Arguments.of(act, out, Normalization.Kind.SCALE, true));
      }
    }
    return cases.stream();
  }

  @ParameterizedTest(name = "{0} {1}, normalisation {2}, byte-valued {3}")
  @MethodSource("models")
  void onnxRuntimeOnRawFeaturesMatchesTheForwardPass(Activation act, OutputActivation out, Normalization.Kind kind,
      boolean byteValued) throws OrtException {
    ModelSpec model = model(act, out);
    Parameters params = randomParameters(model, SEED);
    Dataset train = rawData(TRAIN_ROWS, SEED, kind, byteValued);
    Dataset raw = rawData(TEST_ROWS, SEED + 1, kind, byteValued);
    Normalization normalization = Normalization.fit(kind, train);

    byte[] onnx = OnnxExport.encode(model, params, normalization, new OnnxExport.Provenance("test", 7,
        EjmlKernel.INSTANCE.identity()));
    float[] exported = OnnxRuntimeRunner.run(onnx, OnnxExport.INPUT, raw.features(), raw.size(), raw.width());
    Evaluator evaluator = new Evaluator(model, EjmlKernel.INSTANCE);
    float[] expected = evaluator.outputs(params, normalized(raw, normalization));

    double diff = OnnxRuntimeRunner.maxAbsDifference(exported, expected);
    System.out.printf("onnx %s %s %s byte-valued=%s: max |ONNX Runtime - syncgrad| = %.2e%n", act.label(),
        out.label(), kind.label(), byteValued, diff);
    assertTrue(diff <= TOLERANCE, "max |ONNX Runtime - syncgrad| = " + diff + " > " + TOLERANCE);
    if (kind != Normalization.Kind.NONE) {
      double effect = OnnxRuntimeRunner.maxAbsDifference(evaluator.outputs(params, raw), expected);
      assertTrue(effect > NORMALIZATION_EFFECT, "without the normalisation the outputs change by only " + effect
          + ", so this case could not tell whether the graph normalises");
    }
  }

  @Test
  void fileDeclaresItsInterfaceVersionsAndProvenance() throws Exception {
    ModelSpec model = model(Activation.RELU, OutputActivation.SOFTMAX);
    Parameters params = randomParameters(model, SEED);
    Normalization normalization = Normalization.fit(Normalization.Kind.STANDARDIZE,
        rawData(TRAIN_ROWS, SEED, Normalization.Kind.STANDARDIZE, false));
    byte[] onnx = OnnxExport.encode(model, params, normalization, new OnnxExport.Provenance("run-7", 42, "ejml-test"));

    ModelProto proto = ModelProto.parseFrom(onnx);
    assertEquals(8, proto.getIrVersion());
    assertEquals(1, proto.getOpsetImportCount());
    assertEquals("", proto.getOpsetImport(0).getDomain());
    assertEquals(13, proto.getOpsetImport(0).getVersion());
    assertEquals("syncgrad", proto.getProducerName());
    assertTrue(!proto.getProducerVersion().isEmpty());
    TensorShapeProto in = proto.getGraph().getInput(0).getType().getTensorType().getShape();
    assertEquals("batch", in.getDim(0).getDimParam());
    assertEquals(WIDTH, in.getDim(1).getDimValue());
    assertTrue(proto.getDocString().contains("standardize normalisation is part of the graph"), proto.getDocString());

    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
         OrtSession session = env.createSession(onnx, options)) {
      assertEquals(List.of("input"), List.copyOf(session.getInputNames()));
      assertEquals(List.of("output"), List.copyOf(session.getOutputNames()));
      assertEquals("[-1, " + WIDTH + "]", shape(session.getInputInfo().get("input")));
      assertEquals("[-1, " + CLASSES + "]", shape(session.getOutputInfo().get("output")));
      var meta = session.getMetadata();
      assertEquals("syncgrad", meta.getProducerName());
      assertEquals(params.sha256Hex(), meta.getCustomMetadata().get("syncgrad.weights_sha256"));
      assertEquals("ejml-test", meta.getCustomMetadata().get("syncgrad.kernel"));
      assertEquals("42", meta.getCustomMetadata().get("syncgrad.step"));
    }
  }

  @Test
  void weightsOfAnotherModelAreRefused() {
    ModelSpec model = model(Activation.RELU, OutputActivation.SOFTMAX);
    Parameters other = randomParameters(Fixtures.model(WIDTH, List.of(5), CLASSES, Activation.RELU,
        OutputActivation.SOFTMAX, LossFunction.CROSS_ENTROPY, 0f), SEED);
    Normalization none = Normalization.fit(Normalization.Kind.NONE, Fixtures.randomData(TRAIN_ROWS, WIDTH, CLASSES, SEED));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> OnnxExport.encode(model, other, none, new OnnxExport.Provenance("run", 0, "k")));
    assertTrue(e.getMessage().contains("12-9-7-4"), e.getMessage());
  }

  private static String shape(NodeInfo info) {
    return Arrays.toString(((TensorInfo) info.getInfo()).getShape());
  }

  private static ModelSpec model(Activation act, OutputActivation out) {
    LossFunction loss = out == OutputActivation.SOFTMAX ? LossFunction.CROSS_ENTROPY : LossFunction.MSE;
    return Fixtures.model(WIDTH, HIDDEN, CLASSES, act, out, loss, 0f);
  }

  /** Xavier weights and biases in [-0.5, 0.5), so that the bias inputs of the graph matter. */
  private static Parameters randomParameters(ModelSpec model, long seed) {
    Parameters params = Parameters.zeros(model);
    Initializer.XAVIER.initialize(model, seed, params);
    SplittableRandom r = new SplittableRandom(seed);
    for (int l = 0; l < model.layerCount(); l++) {
      float[] b = params.bias(l).data;
      for (int j = 0; j < b.length; j++) {
        b[j] = (float) (r.nextDouble() - 0.5);
      }
    }
    return params;
  }

  /**
   * Raw features for a model trained with {@code kind}. Without normalisation they are in
   * [-1, 1], as a model trained on raw features needs them; otherwise far from normalised: bytes
   * 0..255, or per feature a centre in [-100, 100) and a spread in [0.5, 50); feature 0 is
   * constant, so that scale and standardize give it factor 0.
   */
  private static Dataset rawData(int n, long seed, Normalization.Kind kind, boolean byteValued) {
    if (kind == Normalization.Kind.NONE) {
      return Fixtures.randomData(n, WIDTH, CLASSES, seed);
    }
    SplittableRandom r = new SplittableRandom(seed);
    SplittableRandom columns = new SplittableRandom(SEED);
    float[] centre = new float[WIDTH];
    float[] spread = new float[WIDTH];
    for (int j = 0; j < WIDTH; j++) {
      centre[j] = (float) (200 * columns.nextDouble() - 100);
      spread[j] = (float) (0.5 + 49.5 * columns.nextDouble());
    }
    float[] x = new float[n * WIDTH];
    int[] y = new int[n];
    for (int i = 0; i < n; i++) {
      for (int j = 1; j < WIDTH; j++) {
        x[i * WIDTH + j] = byteValued ? r.nextInt(256) : (float) (centre[j] + spread[j] * (2 * r.nextDouble() - 1));
      }
      x[i * WIDTH] = byteValued ? 17 : centre[0];
      y[i] = r.nextInt(CLASSES);
    }
    return new Dataset("raw-" + seed, x, y, n, WIDTH, byteValued);
  }

  private static Dataset normalized(Dataset raw, Normalization normalization) {
    Dataset copy = new Dataset(raw.source(), raw.features().clone(), raw.labels(), raw.size(), raw.width(),
        raw.byteValued());
    normalization.applyInPlace(copy);
    return copy;
  }
}
