package io.syncgrad.deploy;

import io.syncgrad.common.checkpoint.CheckpointStore;
import io.syncgrad.common.math.Kernels;
import io.syncgrad.common.train.Evaluator;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code syncgrad predict}: one predicted class per input sample, one per line. */
@Command(name = "predict", mixinStandardHelpOptions = true,
    description = "Predict the class of each sample: one line per sample.")
final class PredictCommand implements Callable<Integer> {

  @Option(names = "--kernel", defaultValue = "auto", description = "Matrix products: auto, native, java or ejml.")
  private String kernel;

  @Option(names = "--model", required = true, paramLabel = "FILE", description = "model.pb, a checkpoint, or a run directory.")
  private String model;

  @Option(names = "--input", required = true, paramLabel = "FILE", description = "IDX image file, IDX folder, or CSV of features.")
  private String input;

  @Option(names = "--label-column", paramLabel = "COL", description = "A CSV column to drop (a label), if the file has one.")
  private String labelColumn;

  @Option(names = "--output", paramLabel = "FILE", description = "Write the predictions here (atomically) instead of standard output.")
  private Path output;

  @Override
  public Integer call() throws Exception {
    ModelInput in = ModelInput.load(model, input, labelColumn, false);
    int[] classes = new Evaluator(in.model().model(), Kernels.select(kernel)).predict(in.model().params(), in.samples());
    StringBuilder sb = new StringBuilder(classes.length * 3);
    for (int c : classes) {
      sb.append(c).append('\n');
    }
    if (output != null) {
      CheckpointStore.writeAtomically(output, sb.toString().getBytes(StandardCharsets.UTF_8));
    } else {
      PrintStream out = System.out;
      out.print(sb);
      out.flush();
    }
    return 0;
  }
}
