package io.syncgrad.deploy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import io.syncgrad.common.config.TrainSettings;
import io.syncgrad.common.error.UserException;
import java.io.File;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * The options of a training run, shared by {@code train} and {@code coordinator}. Each flag is a
 * configuration key of the same name: flags override a HOCON {@code --config} file, which
 * overrides the defaults in {@code reference.conf}. A key of the file that is none of these is
 * refused with the key probably meant, rather than silently ignored.
 */
final class TrainOptions {

  /** The settings, and which keys the user gave (flags or file). */
  record Resolved(TrainSettings settings, Set<String> explicit) {}

  /** Options of the commands that are not configuration keys. */
  private static final Set<String> NOT_KEYS = Set.of("config", "plain", "workers", "allow-mixed-kernels", "host",
      "port", "help", "version", "step-timeout", "fault", "fault-seed", "insecure", "tls-keystore", "tls-truststore", "ship-data", "min-workers", "wait-timeout", "metrics-port",
      "metrics-host", "verbose");

  @Option(names = "--config", paramLabel = "FILE", description = "HOCON file with any of the keys below.")
  private File config;

  @Option(names = "--data", paramLabel = "PATH",
      description = "IDX folder or CSV file (default: /usr/share/datasets/fashion-mnist, else the embedded sample).")
  private String data;

  @Option(names = "--test-data", paramLabel = "PATH", description = "IDX folder or CSV file (default: the t10k files of an IDX folder).")
  private String testData;

  @Option(names = "--test-fraction", paramLabel = "F", description = "Hold out this share of a CSV training file.")
  private String testFraction;

  @Option(names = "--validation-fraction", paramLabel = "F",
      description = "Hold out this share of the training set (chosen by the seed) for validation (default 0).")
  private String validationFraction;

  @Option(names = "--early-stopping", paramLabel = "PATIENCE",
      description = "Stop after PATIENCE evaluations without a lower validation loss (needs --validation-fraction).")
  private String earlyStopping;

  @Option(names = "--label-column", paramLabel = "COL", description = "CSV label column: index (negative from the end) or header name (default 0).")
  private String labelColumn;

  @Option(names = "--classes", paramLabel = "N",
      description = "Classes the model outputs; every label must be in [0, N) (default: one more than the largest "
          + "training label, and then every class below it must occur).")
  private String classes;

  @Option(names = "--layers", paramLabel = "SIZES", description = "Hidden layer sizes, e.g. 256,128 (default).")
  private String layers;

  @Option(names = "--activation", description = "relu (default), tanh or sigmoid.")
  private String activation;

  @Option(names = {"--output-activation", "--output"}, paramLabel = "ACTIVATION",
      description = "Output activation: softmax (default), sigmoid or identity. (--output is a deprecated alias.)")
  private String outputActivation;

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

  @Option(names = "--kernel", description = "Matrix products: native (the OpenBLAS bundled with syncgrad), system (the system BLAS, libblas.so.3), java (pure Java), ejml, or auto (default: native, else system, else java).")
  private String kernel;

  /** Builds the validated settings from the options the command line matched. */
  Resolved resolve(CommandLine.ParseResult parsed) {
    Map<String, Object> flags = new LinkedHashMap<>();
    for (CommandLine.Model.OptionSpec o : parsed.matchedOptions()) {
      String key = o.longestName().substring(2);
      if (!NOT_KEYS.contains(key) && o.getValue() != null) {
        flags.put(key, o.getValue());
      }
    }
    if (parsed.originalArgs().stream().anyMatch(a -> a.equals("--output") || a.startsWith("--output="))) {
      deprecated("--output", "--output-activation");
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
        // Keys beside the block are read too, and checked like the rest: none is ignored unseen.
        Config beside = file.withoutPath(TrainSettings.PATH);
        if (beside.hasPath("syncgrad") && beside.getConfig("syncgrad").isEmpty()) {
          beside = beside.withoutPath("syncgrad");
        }
        file = file.getConfig(TrainSettings.PATH).withFallback(beside);
      }
      if (file.hasPath("output")) {
        deprecated(config + ": key 'output'", "'output-activation'");
        if (!file.hasPath("output-activation")) {
          file = file.withValue("output-activation", file.getValue("output"));
        }
        file = file.withoutPath("output");
      }
    }
    Set<String> explicit = new HashSet<>(flags.keySet());
    file.root().keySet().forEach(explicit::add);
    Config merged = ConfigFactory.parseMap(flags, "command line")
        .withFallback(file)
        .withFallback(ConfigFactory.defaultReference().getConfig(TrainSettings.PATH))
        .resolve();
    TrainSettings settings = TrainSettings.fromConfig(merged);
    if (settings.out() == null) {
      if (TrainSettings.RESUME_AUTO.equals(settings.resume())) {
        throw new UserException("--resume auto needs --out DIR: it continues the run in DIR when DIR holds a "
            + "checkpoint and starts one there otherwise");
      }
      // Named here, not by the run, so that the node's log goes into the same folder from the start.
      settings = settings.withOut(defaultOut().toString());
    }
    return new Resolved(settings, explicit);
  }

  /** A fresh output directory, {@code runs/run-<date>-<time>}. */
  static Path defaultOut() {
    return Path.of("runs", "run-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
  }

  private static void deprecated(String old, String replacement) {
    System.err.println("syncgrad: warning: " + old + " is deprecated and will be removed in the next release; use "
        + replacement);
  }
}
