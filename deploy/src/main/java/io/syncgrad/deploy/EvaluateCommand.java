package io.syncgrad.deploy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.syncgrad.common.math.Kernels;
import io.syncgrad.common.train.Evaluator;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code syncgrad evaluate}: loss and accuracy of a trained model on labelled data, and per
 * class its precision and recall and the confusion matrix, which say where a model errs.
 */
@Command(name = "evaluate", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Loss, accuracy, per-class precision and recall, and the confusion matrix of a trained model on "
        + "labelled data.")
final class EvaluateCommand implements Callable<Integer> {

  @Option(names = "--model", required = true, paramLabel = "FILE", description = "model.pb, best.pb, a checkpoint, or a run directory (its model.pb).")
  private String model;

  @Option(names = "--data", required = true, paramLabel = "PATH", description = "IDX folder (its t10k files), IDX image file, or CSV file.")
  private String data;

  @Option(names = "--label-column", paramLabel = "COL", defaultValue = "0", description = "CSV label column (default 0).")
  private String labelColumn;

  @Option(names = "--json", description = "Print one JSON object instead of the table.")
  private boolean json;

  @Option(names = "--kernel", defaultValue = "auto", description = "Matrix products: " + Kernels.CHOICES + " (see syncgrad train --help).")
  private String kernel;

  @Override
  public Integer call() throws Exception {
    ModelInput in = ModelInput.load(model, data, labelColumn, true);
    Evaluator evaluator = new Evaluator(in.model().model(), Kernels.select(kernel));
    Evaluator.Result r = evaluator.evaluate(in.model().params(), in.samples());
    long[][] confusion = evaluator.confusion(in.model().params(), in.samples());
    int k = confusion.length;
    double[] precision = new double[k];
    double[] recall = new double[k];
    long[] support = new long[k];
    for (int c = 0; c < k; c++) {
      long predicted = 0;
      for (int t = 0; t < k; t++) {
        predicted += confusion[t][c];
        support[c] += confusion[c][t];
      }
      precision[c] = predicted == 0 ? Double.NaN : (double) confusion[c][c] / predicted;
      recall[c] = support[c] == 0 ? Double.NaN : (double) confusion[c][c] / support[c];
    }
    if (json) {
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("accuracy", r.accuracy());
      out.put("loss", r.loss());
      out.put("samples", r.samples());
      List<Map<String, Object>> perClass = new ArrayList<>();
      for (int c = 0; c < k; c++) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("class", c);
        m.put("precision", Double.isNaN(precision[c]) ? null : precision[c]);
        m.put("recall", Double.isNaN(recall[c]) ? null : recall[c]);
        m.put("support", support[c]);
        perClass.add(m);
      }
      out.put("classes", perClass);
      out.put("confusion", confusion);
      System.out.println(new ObjectMapper().writeValueAsString(out));
      return 0;
    }
    System.out.printf("accuracy %.4f loss %.4f samples %d%n", r.accuracy(), r.loss(), r.samples());
    System.out.println();
    System.out.println("class  precision  recall  support");
    for (int c = 0; c < k; c++) {
      System.out.printf("%5d  %9s  %6s  %7d%n", c, ratio(precision[c]), ratio(recall[c]), support[c]);
    }
    System.out.println();
    System.out.println("confusion matrix (rows: true class, columns: predicted class)");
    int width = Math.max(5, Long.toString(r.samples()).length() + 1);
    StringBuilder head = new StringBuilder("     ");
    for (int c = 0; c < k; c++) {
      head.append(String.format("%" + width + "d", c));
    }
    System.out.println(head);
    for (int t = 0; t < k; t++) {
      StringBuilder row = new StringBuilder(String.format("%5d", t));
      for (int c = 0; c < k; c++) {
        row.append(String.format("%" + width + "d", confusion[t][c]));
      }
      System.out.println(row);
    }
    return 0;
  }

  private static String ratio(double v) {
    return Double.isNaN(v) ? "-" : String.format("%.4f", v);
  }
}
