package io.syncgrad.common.export;

import com.google.protobuf.ByteString;
import io.syncgrad.common.data.Normalization;
import io.syncgrad.common.model.Activation;
import io.syncgrad.common.model.ModelSpec;
import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.run.TrainingState;
import io.syncgrad.proto.onnx.AttributeProto;
import io.syncgrad.proto.onnx.GraphProto;
import io.syncgrad.proto.onnx.ModelProto;
import io.syncgrad.proto.onnx.NodeProto;
import io.syncgrad.proto.onnx.OperatorSetIdProto;
import io.syncgrad.proto.onnx.StringStringEntryProto;
import io.syncgrad.proto.onnx.TensorProto;
import io.syncgrad.proto.onnx.TensorShapeProto;
import io.syncgrad.proto.onnx.TypeProto;
import io.syncgrad.proto.onnx.ValueInfoProto;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import org.ejml.data.FMatrixRMaj;

/**
 * Writes a trained network as an ONNX model, so that it can leave syncgrad: ONNX Runtime and
 * every other ONNX reader run it without syncgrad.
 *
 * <p>The graph computes what syncgrad's own forward pass computes, from the <em>raw</em>
 * features: the input normalisation of training comes first ({@code Sub} of the per-feature
 * offsets, then {@code Mul} by the per-feature factors, the same float32 constants and the same
 * two roundings as {@link Normalization#applyInPlace}), then one {@code Gemm} per dense layer
 * (weights fanIn×fanOut as syncgrad stores them, plus the bias), the hidden activation after
 * each hidden layer, and the output activation last ({@code Softmax} over axis 1,
 * {@code Sigmoid}, or {@code Identity} for logits). Dropout is a training device and is left
 * out, as in evaluation.
 *
 * <p>Input {@value #INPUT}: float32 [{@value #BATCH}, inputSize]. Output {@value #OUTPUT}:
 * float32 [{@value #BATCH}, outputSize]. Everything the graph uses is in the default ONNX
 * operator set at version {@value #OPSET}, in a file of IR version {@value #IR_VERSION}: old
 * enough for any current ONNX reader (the tests run the files in ONNX Runtime 1.20).
 */
public final class OnnxExport {

  /** The ONNX IR version of the file (IR 8, ONNX 1.10). */
  public static final int IR_VERSION = 8;
  /** The version of the default ONNX operator set the nodes bind against. */
  public static final int OPSET = 13;
  /** The graph's input: raw features. */
  public static final String INPUT = "input";
  /** The graph's output: what the output activation gives. */
  public static final String OUTPUT = "output";
  /** The symbolic batch dimension of input and output. */
  public static final String BATCH = "batch";
  /** producer_name of the file. */
  public static final String PRODUCER = "syncgrad";

  private OnnxExport() {}

  /**
   * Where the weights came from, for the file's doc_string and metadata_props.
   *
   * @param runId  the training run
   * @param step   steps applied to the weights
   * @param kernel identity of the kernel that produced the weights
   */
  public record Provenance(String runId, long step, String kernel) {

    /** The provenance of a checkpoint's weights. */
    public static Provenance of(TrainingState state) {
      return new Provenance(state.runId(), state.step(), state.kernel());
    }
  }

  /**
   * The ONNX model of a network.
   *
   * @param model         the architecture
   * @param params        its weights, in the shapes of {@code model}. Not modified.
   * @param normalization what training applied to the raw features; it becomes part of the graph
   * @param provenance    recorded in the file's metadata
   * @throws IllegalArgumentException when the weights or the normalisation do not fit the model
   */
  public static ModelProto toProto(ModelSpec model, Parameters params, Normalization normalization,
      Provenance provenance) {
    checkShapes(model, params, normalization);
    GraphProto.Builder graph = GraphProto.newBuilder()
        .setName("syncgrad_" + model.sizes().replace('-', '_'))
        .addInput(batchOf(INPUT, model.inputSize()))
        .addOutput(batchOf(OUTPUT, model.outputSize()));

    String x = INPUT;
    if (normalization.kind() != Normalization.Kind.NONE) {
      int d = model.inputSize();
      graph.addInitializer(floats("normalization_offset", normalization.offset(), d));
      graph.addInitializer(floats("normalization_factor", normalization.factor(), d));
      graph.addNode(node("Sub", "normalization_sub", x, "normalization_offset").addOutput("centered"));
      graph.addNode(node("Mul", "normalization_mul", "centered", "normalization_factor").addOutput("normalized"));
      x = "normalized";
    }
    int last = model.layerCount() - 1;
    for (int l = 0; l <= last; l++) {
      String w = "dense" + l + "_weights";
      String b = "dense" + l + "_bias";
      graph.addInitializer(floats(w, params.weights(l).data, model.fanIn(l), model.fanOut(l)));
      graph.addInitializer(floats(b, params.bias(l).data, model.fanOut(l)));
      String z = "dense" + l;
      graph.addNode(node("Gemm", "dense" + l, x, w, b).addOutput(z));
      x = z;
      if (l < last) {
        String op = hiddenOp(model.activation());
        if (op != null) {
          String a = "hidden" + l;
          graph.addNode(node(op, "activation" + l, x).addOutput(a));
          x = a;
        }
      }
    }
    NodeProto.Builder out = switch (model.outputActivation()) {
      case SOFTMAX -> node("Softmax", "output_softmax", x).addAttribute(AttributeProto.newBuilder()
          .setName("axis").setType(AttributeProto.AttributeType.INT).setI(1));
      case SIGMOID -> node("Sigmoid", "output_sigmoid", x);
      case IDENTITY -> node("Identity", "output_identity", x);
    };
    graph.addNode(out.addOutput(OUTPUT));

    ModelProto.Builder m = ModelProto.newBuilder()
        .setIrVersion(IR_VERSION)
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
        .setProducerName(PRODUCER)
        .setProducerVersion(producerVersion())
        .setDomain("io.syncgrad")
        .setModelVersion(1)
        .setDocString(docString(model, normalization, provenance))
        .setGraph(graph);
    metadata(model, params, normalization, provenance).forEach((k, v) ->
        m.addMetadataProps(StringStringEntryProto.newBuilder().setKey(k).setValue(v)));
    return m.build();
  }

  /** {@link #toProto} as the bytes of a {@code .onnx} file. */
  public static byte[] encode(ModelSpec model, Parameters params, Normalization normalization,
      Provenance provenance) {
    return toProto(model, params, normalization, provenance).toByteArray();
  }

  /** The ONNX operator of a hidden activation; null for the identity, which needs no node. */
  private static String hiddenOp(Activation activation) {
    return switch (activation) {
      case RELU -> "Relu";
      case TANH -> "Tanh";
      case SIGMOID -> "Sigmoid";
      case IDENTITY -> null;
    };
  }

  private static void checkShapes(ModelSpec model, Parameters params, Normalization normalization) {
    if (params.tensorCount() != 2 * model.layerCount()) {
      throw new IllegalArgumentException("Inconsistent shapes: model " + model.sizes() + ", parameters "
          + params.shapes());
    }
    for (int l = 0; l < model.layerCount(); l++) {
      FMatrixRMaj w = params.weights(l);
      FMatrixRMaj b = params.bias(l);
      if (w.numRows != model.fanIn(l) || w.numCols != model.fanOut(l) || b.numRows != 1
          || b.numCols != model.fanOut(l)) {
        throw new IllegalArgumentException("Inconsistent shapes: model " + model.sizes() + ", parameters "
            + params.shapes());
      }
    }
    if (normalization.offset().length != model.inputSize() || normalization.factor().length != model.inputSize()) {
      throw new IllegalArgumentException("Inconsistent shapes: model input " + model.inputSize()
          + ", normalization offset " + normalization.offset().length + ", factor " + normalization.factor().length);
    }
  }

  private static NodeProto.Builder node(String op, String name, String... inputs) {
    NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(name);
    for (String in : inputs) {
      n.addInput(in);
    }
    return n;
  }

  /** A float32 [batch, width] value. */
  private static ValueInfoProto batchOf(String name, int width) {
    TensorShapeProto shape = TensorShapeProto.newBuilder()
        .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam(BATCH))
        .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(width))
        .build();
    return ValueInfoProto.newBuilder()
        .setName(name)
        .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder()
            .setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(shape)))
        .build();
  }

  /** A float32 initializer of the first {@code dims}-product values, row-major, bit for bit. */
  private static TensorProto floats(String name, float[] values, int... dims) {
    int n = 1;
    for (int d : dims) {
      n *= d;
    }
    ByteBuffer raw = ByteBuffer.allocate(n * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < n; i++) {
      raw.putFloat(values[i]);
    }
    raw.flip();
    TensorProto.Builder t = TensorProto.newBuilder()
        .setName(name)
        .setDataType(TensorProto.DataType.FLOAT_VALUE)
        .setRawData(ByteString.copyFrom(raw));
    for (int d : dims) {
      t.addDims(d);
    }
    return t.build();
  }

  private static String docString(ModelSpec model, Normalization normalization, Provenance provenance) {
    String in = normalization.kind() == Normalization.Kind.NONE
        ? "raw features (training used none)"
        : "raw features; the training's " + normalization.kind().label() + " normalisation is part of the graph";
    String out = switch (model.outputActivation()) {
      case SOFTMAX -> "softmax probabilities";
      case SIGMOID -> "sigmoid outputs";
      case IDENTITY -> "logits";
    };
    return "syncgrad network " + model.describe() + " (run " + provenance.runId() + ", step " + provenance.step()
        + "). Input '" + INPUT + "': float32 [" + BATCH + ", " + model.inputSize() + "], " + in + ". Output '"
        + OUTPUT + "': float32 [" + BATCH + ", " + model.outputSize() + "], " + out + ".";
  }

  private static Map<String, String> metadata(ModelSpec model, Parameters params, Normalization normalization,
      Provenance provenance) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("syncgrad.model", model.describe());
    m.put("syncgrad.normalization", normalization.kind().label());
    m.put("syncgrad.weights_sha256", params.sha256Hex());
    m.put("syncgrad.kernel", provenance.kernel());
    m.put("syncgrad.run_id", provenance.runId());
    m.put("syncgrad.step", Long.toString(provenance.step()));
    return m;
  }

  /**
   * The build's version, from the pom.properties Maven puts into the jar (the shaded jar keeps
   * it); "development build" when running from class folders.
   */
  private static String producerVersion() {
    try (InputStream in = OnnxExport.class.getResourceAsStream(
        "/META-INF/maven/io.syncgrad/syncgrad-common/pom.properties")) {
      if (in != null) {
        Properties p = new Properties();
        p.load(in);
        String v = p.getProperty("version");
        if (v != null) {
          return v;
        }
      }
    } catch (IOException e) {
      // An unreadable resource only costs the version string.
    }
    return "development build";
  }
}
