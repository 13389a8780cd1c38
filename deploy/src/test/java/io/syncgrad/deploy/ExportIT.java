package io.syncgrad.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.syncgrad.common.checkpoint.CheckpointStore;
import io.syncgrad.common.data.DataSources;
import io.syncgrad.common.data.Dataset;
import io.syncgrad.common.export.OnnxExport;
import io.syncgrad.common.math.EjmlKernel;
import io.syncgrad.common.run.TrainingState;
import io.syncgrad.common.testing.Fixtures;
import io.syncgrad.common.testing.OnnxRuntimeRunner;
import io.syncgrad.common.train.Evaluator;
import io.syncgrad.proto.onnx.ModelProto;
import io.syncgrad.proto.onnx.StringStringEntryProto;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model trained on the embedded Fashion-MNIST sample, exported with {@code syncgrad export},
 * gives in ONNX Runtime on the raw test images (pixels 0..255) the probabilities that syncgrad's
 * forward pass gives on the normalised images.
 */
class ExportIT {

  /** |ONNX Runtime − syncgrad| bound on every probability. */
  private static final double TOLERANCE = 1e-5;
  private static final String STEPS = "40";

  @TempDir
  static Path dir;
  static Path sample;
  static Path scaled;
  static String scaledHash;
  static Path standardized;
  static String standardizedHash;

  @BeforeAll
  static void train() throws Exception {
    sample = Fixtures.sampleFolder(dir.resolve("sample"));
    scaled = dir.resolve("scaled");
    scaledHash = OneNode.hash(List.of("--data", sample.toString(), "--layers", "32", "--max-steps", STEPS,
        "--checkpoint-every", "20", "--normalize", "scale"), scaled);
    standardized = dir.resolve("standardized");
    standardizedHash = OneNode.hash(List.of("--data", sample.toString(), "--layers", "24,16", "--max-steps", STEPS,
        "--normalize", "standardize", "--activation", "tanh"), standardized);
  }

  @Test
  void scaledRunExportedFromItsFolder() throws Exception {
    Path out = dir.resolve("scaled.onnx");
    CliIT.Result r = CliIT.run("export", "--format", "onnx", "--model", scaled.toString(), "--out", out.toString());
    assertEquals(0, r.code(), r.err());
    assertEquals("wrote " + out + " (ONNX IR 8, opset 13, 784-32-10, softmax output, scale input normalisation included)",
        r.out().strip());
    assertMatchesForwardPass(CheckpointStore.newestValid(scaled), out);
    assertEquals(scaledHash, metadata(out, "syncgrad.weights_sha256"));
  }

  @Test
  void standardizedModelFileExported() throws Exception {
    Path out = dir.resolve("standardized.onnx");
    Path modelFile = standardized.resolve(CheckpointStore.MODEL_FILE);
    CliIT.Result r = CliIT.run("export", "--model", modelFile.toString(), "--out", out.toString());
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("784-24-16-10, softmax output, standardize input normalisation included"), r.out());
    assertMatchesForwardPass(CheckpointStore.read(modelFile), out);
    assertEquals(standardizedHash, metadata(out, "syncgrad.weights_sha256"));
  }

  @Test
  void periodicCheckpointExported() throws Exception {
    Path out = dir.resolve("step-20.onnx");
    Path checkpoint = CheckpointStore.periodicPath(scaled, 20);
    CliIT.Result r = CliIT.run("export", "--model", checkpoint.toString(), "--out", out.toString());
    assertEquals(0, r.code(), r.err());
    TrainingState state = CheckpointStore.read(checkpoint);
    assertMatchesForwardPass(state, out);
    assertEquals("20", metadata(out, "syncgrad.step"));
    assertEquals(state.params().sha256Hex(), metadata(out, "syncgrad.weights_sha256"));
    assertNotEquals(scaledHash, metadata(out, "syncgrad.weights_sha256"));
  }

  /** ONNX Runtime on the raw test images against Evaluator on the normalised ones. */
  private static void assertMatchesForwardPass(TrainingState state, Path onnx) throws Exception {
    Dataset raw = DataSources.readIdxFolder(sample, "t10k");
    Dataset normalized = DataSources.readIdxFolder(sample, "t10k");
    state.normalization().applyInPlace(normalized);
    float[] expected = new Evaluator(state.model(), EjmlKernel.INSTANCE).outputs(state.params(), normalized);
    float[] exported = OnnxRuntimeRunner.run(Files.readAllBytes(onnx), OnnxExport.INPUT, raw.features(), raw.size(),
        raw.width());
    double diff = OnnxRuntimeRunner.maxAbsDifference(exported, expected);
    System.out.printf("onnx %s: max |ONNX Runtime - syncgrad| = %.2e over %d raw test images%n", onnx.getFileName(),
        diff, raw.size());
    assertTrue(diff <= TOLERANCE, onnx + ": max |ONNX Runtime - syncgrad| = " + diff + " > " + TOLERANCE);
  }

  private static String metadata(Path onnx, String key) throws Exception {
    for (StringStringEntryProto e : ModelProto.parseFrom(Files.readAllBytes(onnx)).getMetadataPropsList()) {
      if (e.getKey().equals(key)) {
        return e.getValue();
      }
    }
    return null;
  }
}
