package io.syncgrad.deploy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import io.syncgrad.common.config.TrainSettings;
import io.syncgrad.common.error.UserException;
import io.syncgrad.common.math.Kernels;
import io.syncgrad.common.train.LocalTraining;
import io.syncgrad.common.train.RunSummary;
import io.syncgrad.deploy.cluster.LocalCluster;
import java.io.File;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code syncgrad train}: flags override a HOCON {@code --config} file, which overrides the
 * defaults in {@code reference.conf}. Every flag is a configuration key of the same name.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Train a model on this node. Defaults train a Fashion-MNIST classifier.")
final class TrainCommand implements Callable<Integer> {

  @CommandLine.Spec
  private CommandLine.Model.CommandSpec spec;

  @Option(names = "--config", paramLabel = "FILE", description = "HOCON file with any of the keys below.")
  private File config;

  @Option(names = "--data", paramLabel = "PATH",
      description = "IDX folder or CSV file (default: /usr/share/datasets/fashion-mnist, else the embedded sample).")
  private String data;

  @Option(names = "--test-data", paramLabel = "PATH", description = "IDX folder or CSV file (default: the t10k files of an IDX folder).")
  private String testData;

  @Option(names = "--test-fraction", paramLabel = "F", description = "Hold out this share of a CSV training file.")
  private String testFraction;

  @Option(names = "--label-column", paramLabel = "COL", description = "CSV label column: index (negative from the end) or header name (default 0).")
  private String labelColumn;

  @Option(names = "--layers", paramLabel = "SIZES", description = "Hidden layer sizes, e.g. 256,128 (default).")
  private String layers;

  @Option(names = "--activation", description = "relu (default), tanh or sigmoid.")
  private String activation;

  @Option(names = "--output", description = "Output activation: softmax (default), sigmoid or identity.")
  private String output;

  @Option(names = "--loss", description = "cross-entropy (default) or mse.")
  private String loss;

  @Option(names = "--init", description = "he or xavier (default: he for relu, xavier otherwise).")
  private String init;

  @Option(names = "--normalize", description = "none, scale (default) or standardize; statistics from the training set.")
  private String normalize;

  @Option(names = "--optimizer", description = "sgd, momentum, nesterov or adam (default).")
  private String optimizer;

  @Option(names = "--lr", description = "Learning rate (default 0.001 for adam, 0.05 otherwise).")
  private String lr;

  @Option(names = "--momentum", description = "Momentum for momentum and nesterov (default 0.9).")
  private String momentum;

  @Option(names = "--beta1", description = "Adam beta1 (default 0.9).")
  private String beta1;

  @Option(names = "--beta2", description = "Adam beta2 (default 0.999).")
  private String beta2;

  @Option(names = "--epsilon", description = "Adam epsilon (default 1e-8).")
  private String epsilon;

  @Option(names = "--lr-schedule", description = "constant (default), step or cosine.")
  private String lrSchedule;

  @Option(names = "--lr-decay-steps", paramLabel = "N", description = "step schedule: decay every N steps (default 1000).")
  private String lrDecaySteps;

  @Option(names = "--lr-decay-rate", paramLabel = "R", description = "step schedule: multiply by R (default 0.5).")
  private String lrDecayRate;

  @Option(names = "--lr-period", paramLabel = "N", description = "cosine schedule: steps down to --lr-min (default: the whole run).")
  private String lrPeriod;

  @Option(names = "--lr-min", description = "cosine schedule: final learning rate (default 0).")
  private String lrMin;

  @Option(names = "--batch-size", paramLabel = "N", description = "Global batch size (default 128).")
  private String batchSize;

  @Option(names = "--shards", paramLabel = "S", description = "Virtual shards per batch; fixes the summation order (default 8).")
  private String shards;

  @Option(names = "--epochs", paramLabel = "N", description = "Epochs (default 10).")
  private String epochs;

  @Option(names = "--max-steps", paramLabel = "N", description = "Stop after N steps in all (default: no limit).")
  private String maxSteps;

  @Option(names = "--seed", description = "Seed of the weights, data order and dropout (default 1).")
  private String seed;

  @Option(names = "--l1", description = "L1 penalty on the weights (default 0).")
  private String l1;

  @Option(names = "--l2", description = "L2 penalty on the weights (default 0).")
  private String l2;

  @Option(names = "--dropout", paramLabel = "P", description = "Inverted dropout on hidden units (default 0).")
  private String dropout;

  @Option(names = "--clip-norm", paramLabel = "N", description = "Clip the gradient to this global norm (default: off).")
  private String clipNorm;

  @Option(names = "--checkpoint-every", paramLabel = "N", description = "Write a checkpoint every N steps (default: only the final model).")
  private String checkpointEvery;

  @Option(names = "--keep-checkpoints", paramLabel = "K", description = "Keep the newest K checkpoints (default 3).")
  private String keepCheckpoints;

  @Option(names = "--resume", paramLabel = "DIR", description = "Continue from the newest valid checkpoint of a run directory (or a checkpoint file).")
  private String resume;

  @Option(names = "--out", paramLabel = "DIR", description = "Output directory (default runs/run-<date>-<time>).")
  private String out;

  @Option(names = "--threads", paramLabel = "N", description = "Threads computing shards (default: one per core). Does not change the result.")
  private String threads;

  @Option(names = "--kernel", description = "Matrix products: auto (default: native if a system BLAS loads, else java), native, java or ejml.")
  private String kernel;

  @Option(names = "--workers", paramLabel = "N", defaultValue = "0",
      description = "Simulate a cluster in this JVM: a coordinator and N worker nodes on 127.0.0.1, every message over Artery (default 0: the one-node trainer). The weights are the same for any N.")
  private int workers;

  @Option(names = "--allow-mixed-kernels", description = "Accept workers whose kernel differs (the result is then not reproducible).")
  private boolean allowMixedKernels;

  @Option(names = "--plain", description = "Periodic log lines instead of a progress bar.")
  private boolean plain;

  @Override
  public Integer call() throws Exception {
    Map<String, Object> flags = new LinkedHashMap<>();
    for (CommandLine.Model.OptionSpec o : spec.commandLine().getParseResult().matchedOptions()) {
      String key = o.longestName().substring(2);
      if (!Set.of("config", "plain", "workers", "allow-mixed-kernels").contains(key) && o.getValue() != null) {
        flags.put(key, o.getValue());
      }
    }
    Config file = ConfigFactory.empty();
    if (config != null) {
      if (!config.isFile()) {
        throw new UserException(config + ": no such configuration file");
      }
      try {
        file = ConfigFactory.parseFile(config);
      } catch (ConfigException e) {
        throw new UserException(config + ": " + e.getMessage(), e);
      }
      if (file.hasPath(TrainSettings.PATH)) {
        file = file.getConfig(TrainSettings.PATH);
      }
    }
    Set<String> explicit = new HashSet<>(flags.keySet());
    file.root().keySet().forEach(explicit::add);
    Config merged = ConfigFactory.parseMap(flags, "command line")
        .withFallback(file)
        .withFallback(ConfigFactory.defaultReference().getConfig(TrainSettings.PATH))
        .resolve();
    TrainSettings settings = TrainSettings.fromConfig(merged);
    ProgressReporter reporter = new ProgressReporter(plain);
    RunSummary summary;
    try {
      if (workers < 0) {
        throw new UserException("--workers must be >= 0, got " + workers);
      }
      summary = workers == 0
          ? LocalTraining.run(settings, explicit, Kernels.select(settings.kernel()), reporter)
          : LocalCluster.run(settings, explicit, Kernels.select(settings.kernel()), reporter, workers, allowMixedKernels);
    } finally {
      reporter.close();
    }
    System.out.printf("test accuracy %.4f, test loss %.4f after %d steps (%.2f epochs), %.0f samples/s%n",
        summary.testAccuracy(), summary.testLoss(), summary.steps(), summary.epochs(), summary.samplesPerSecond());
    System.out.println("weights sha256 " + summary.weightsSha256() + " (kernel " + summary.kernel() + ")");
    System.out.println("outputs in " + summary.out() + " (model.pb, metrics.jsonl, summary.json)");
    return 0;
  }
}
