package io.syncgrad.deploy;

import io.syncgrad.common.checkpoint.CheckpointStore;
import io.syncgrad.common.error.UserException;
import io.syncgrad.common.math.Kernels;
import io.syncgrad.common.train.Evaluator;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code syncgrad predict}: the predicted class of each input sample, one line per sample, and
 * with {@code --probabilities} the model's output for every class, at float precision (the
 * shortest decimal that reads back as the same float), as CSV or JSON lines.
 */
@Command(name = "predict", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Predict the class of each sample: one line per sample.")
final class PredictCommand implements Callable<Integer> {

  @Option(names = "--model", required = true, paramLabel = "FILE", description = "model.pb, best.pb, a checkpoint, or a run directory (its model.pb).")
  private String model;

  @Option(names = "--input", required = true, paramLabel = "FILE", description = "IDX image file, IDX folder, or CSV of features.")
  private String input;

  @Option(names = "--label-column", paramLabel = "COL", description = "A CSV column to drop (a label), if the file has one.")
  private String labelColumn;

  @Option(names = "--probabilities", description = "Also write the model's output for every class (softmax: "
      + "the class probabilities).")
  private boolean probabilities;

  @Option(names = "--format", paramLabel = "FORMAT", description = "csv or jsonl (default: jsonl when --output ends "
      + "in .jsonl or .json, else csv). csv: a header line, then 'class' and with --probabilities 'p0,p1,...'; "
      + "jsonl: {\"class\":3,\"probabilities\":[...]}. Without --probabilities, csv is one class per line.")
  private String format;

  @Option(names = "--output", paramLabel = "FILE", description = "Write the predictions here (atomically) instead of standard output.")
  private Path output;

  @Option(names = "--kernel", defaultValue = "auto", description = "Matrix products: " + Kernels.CHOICES + " (see syncgrad train --help).")
  private String kernel;

  @Override
  public Integer call() throws Exception {
    boolean jsonl = jsonLines();
    ModelInput in = ModelInput.load(model, input, labelColumn, false);
    Evaluator evaluator = new Evaluator(in.model().model(), Kernels.select(kernel));
    int[] classes = evaluator.predict(in.model().params(), in.samples());
    int k = in.model().model().outputSize();
    float[] values = probabilities ? evaluator.outputs(in.model().params(), in.samples()) : null;
    StringBuilder sb = new StringBuilder(classes.length * (probabilities ? 12 * k : 3));
    if (!jsonl && probabilities) {
      sb.append("class");
      for (int j = 0; j < k; j++) {
        sb.append(",p").append(j);
      }
      sb.append('\n');
    }
    for (int i = 0; i < classes.length; i++) {
      if (jsonl) {
        sb.append("{\"class\":").append(classes[i]);
        if (probabilities) {
          sb.append(",\"probabilities\":[");
          appendRow(sb, values, i * k, k);
          sb.append(']');
        }
        sb.append("}\n");
      } else {
        sb.append(classes[i]);
        if (probabilities) {
          sb.append(',');
          appendRow(sb, values, i * k, k);
        }
        sb.append('\n');
      }
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

  private boolean jsonLines() {
    if (format == null) {
      String name = output == null ? "" : output.getFileName().toString().toLowerCase(Locale.ROOT);
      return name.endsWith(".jsonl") || name.endsWith(".json");
    }
    return switch (format.toLowerCase(Locale.ROOT)) {
      case "csv" -> false;
      case "jsonl" -> true;
      default -> throw new UserException("--format must be csv or jsonl, got '" + format + "'");
    };
  }

  private static void appendRow(StringBuilder sb, float[] v, int from, int k) {
    for (int j = 0; j < k; j++) {
      if (j > 0) {
        sb.append(',');
      }
      sb.append(Float.toString(v[from + j]));
    }
  }
}
