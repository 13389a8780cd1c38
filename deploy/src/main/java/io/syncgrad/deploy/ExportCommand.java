package io.syncgrad.deploy;

import io.syncgrad.common.checkpoint.CheckpointStore;
import io.syncgrad.common.data.Normalization;
import io.syncgrad.common.error.UserException;
import io.syncgrad.common.export.OnnxExport;
import io.syncgrad.common.run.TrainingState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code syncgrad export}: a trained model as a file other tools run, so that it can be served
 * without syncgrad. ONNX is the one format for now; its graph includes the input
 * normalisation, so it takes raw features and outputs what {@code predict} computes.
 */
@Command(name = "export", mixinStandardHelpOptions = true,
    description = "Write a trained model as ONNX: raw features in, the model's outputs (e.g. probabilities) out.")
final class ExportCommand implements Callable<Integer> {

  @Option(names = "--format", defaultValue = "onnx", paramLabel = "FORMAT",
      description = "The file format: onnx (the only one for now, and the default).")
  private String format;

  @Option(names = "--model", required = true, paramLabel = "FILE", description = "model.pb, a checkpoint, or a run directory.")
  private String model;

  @Option(names = "--out", required = true, paramLabel = "FILE", description = "The file to write (atomically), e.g. model.onnx.")
  private Path out;

  @Override
  public Integer call() {
    if (!format.equals("onnx")) {
      throw new UserException("--format must be onnx (the only export format for now), got '" + format + "'");
    }
    if (Files.isDirectory(out)) {
      throw new UserException("--out " + out + ": is a folder; give the file to write, e.g. " + out.resolve("model.onnx"));
    }
    TrainingState state = CheckpointStore.newestValid(Path.of(model));
    if (!state.params().isFinite()) {
      throw new UserException(model + ": the weights are not all finite (the run diverged); there is nothing to export");
    }
    byte[] onnx = OnnxExport.encode(state.model(), state.params(), state.normalization(),
        OnnxExport.Provenance.of(state));
    CheckpointStore.writeAtomically(out, onnx);
    Normalization.Kind kind = state.normalization().kind();
    System.out.println("wrote " + out + " (ONNX IR " + OnnxExport.IR_VERSION + ", opset " + OnnxExport.OPSET + ", "
        + state.model().sizes() + ", " + state.model().outputActivation().label() + " output, "
        + (kind == Normalization.Kind.NONE ? "no input normalisation (trained on raw features)"
            : kind.label() + " input normalisation included") + ")");
    return 0;
  }
}
