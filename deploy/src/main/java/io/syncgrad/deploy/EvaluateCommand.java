package io.syncgrad.deploy;

import io.syncgrad.common.math.Kernels;
import io.syncgrad.common.train.Evaluator;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code syncgrad evaluate}: test loss and accuracy of a trained model on labelled data. */
@Command(name = "evaluate", mixinStandardHelpOptions = true,
    description = "Loss and accuracy of a trained model on labelled data.")
final class EvaluateCommand implements Callable<Integer> {

  @Option(names = "--kernel", defaultValue = "auto", description = "Matrix products: auto, native, java or ejml.")
  private String kernel;

  @Option(names = "--model", required = true, paramLabel = "FILE", description = "model.pb, a checkpoint, or a run directory.")
  private String model;

  @Option(names = "--data", required = true, paramLabel = "PATH", description = "IDX folder (its t10k files), IDX image file, or CSV file.")
  private String data;

  @Option(names = "--label-column", paramLabel = "COL", defaultValue = "0", description = "CSV label column (default 0).")
  private String labelColumn;

  @Override
  public Integer call() {
    ModelInput in = ModelInput.load(model, data, labelColumn, true);
    Evaluator.Result r = new Evaluator(in.model().model(), Kernels.select(kernel)).evaluate(in.model().params(), in.samples());
    System.out.printf("accuracy %.4f loss %.4f samples %d%n", r.accuracy(), r.loss(), r.samples());
    return 0;
  }
}
