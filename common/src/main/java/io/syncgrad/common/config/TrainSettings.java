package io.syncgrad.common.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigOrigin;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import io.syncgrad.common.error.UserException;
import io.syncgrad.common.model.Activation;
import io.syncgrad.common.model.Initializer;
import io.syncgrad.common.model.LossFunction;
import io.syncgrad.common.model.OutputActivation;
import io.syncgrad.common.data.CsvReader;
import io.syncgrad.common.data.Normalization;
import io.syncgrad.common.optim.LearningRateSchedule;
import io.syncgrad.common.optim.Optimizer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * Everything {@code syncgrad train} needs, validated. Built from configuration (reference
 * defaults, a HOCON file, and flags on top) by {@link #fromConfig(Config)}, which reports every
 * problem at once, each with where the value came from: unknown keys too, with the key probably
 * meant, since an ignored typo would leave its setting at the default without a word.
 *
 * @param data           training data path; null for the default
 * @param testData       test data path; null for the default
 * @param testFraction   share of a CSV training file held out for testing
 * @param labelColumn    CSV label column: index or header name
 * @param classes        classes the model outputs, every label in [0, classes); 0: inferred from the training labels
 * @param layers         hidden sizes
 * @param lr             the base learning rate (already defaulted for the optimiser)
 * @param validationFraction share of the training set held out (by the seed) for validation; 0 for none
 * @param maxSteps       step limit, 0 for none
 * @param lrPeriod       cosine period, 0 for the whole run
 * @param checkpointEvery steps between checkpoints, 0 for none
 * @param resume         a run directory or checkpoint to continue, {@link #RESUME_AUTO}, or null for a fresh run
 * @param out            output directory; null for a fresh {@code runs/run-...}
 * @param threads        threads computing shards; 0 for one per core
 * @param kernel         the matrix kernel's name, see {@link io.syncgrad.common.math.Kernels}
 * @param earlyStopping  evaluations without a lower validation loss before the run stops; 0 for never
 */
public record TrainSettings(
    String data,
    String testData,
    double testFraction,
    double validationFraction,
    String labelColumn,
    int classes,
    List<Integer> layers,
    Activation activation,
    OutputActivation output,
    LossFunction loss,
    Initializer init,
    Normalization.Kind normalize,
    Optimizer.Kind optimizer,
    double lr,
    double momentum,
    double beta1,
    double beta2,
    double epsilon,
    LearningRateSchedule.Kind lrSchedule,
    long lrDecaySteps,
    double lrDecayRate,
    long lrPeriod,
    double lrMin,
    int batchSize,
    int shards,
    int epochs,
    long maxSteps,
    long seed,
    double l1,
    double l2,
    float dropout,
    double clipNorm,
    long checkpointEvery,
    int keepCheckpoints,
    String resume,
    String out,
    int threads,
    String kernel,
    int earlyStopping) {

  /** {@code --resume auto}: continue the output directory's newest checkpoint if it has one, else start fresh. */
  public static final String RESUME_AUTO = "auto";

  /** The configuration path whose keys this record reads. */
  public static final String PATH = "syncgrad.train";

  /**
   * What people write for a key under another name (after {@link #normalized}): the key. Typos
   * are found by edit distance; these are the names too far from the key for that.
   */
  private static final Map<String, String> SYNONYMS = Map.ofEntries(
      Map.entry("learning-rate", "lr"),
      Map.entry("learningrate", "lr"),
      Map.entry("rate", "lr"),
      Map.entry("epoch", "epochs"),
      Map.entry("steps", "max-steps"),
      Map.entry("iterations", "max-steps"),
      Map.entry("batch", "batch-size"),
      Map.entry("hidden", "layers"),
      Map.entry("hidden-layers", "layers"),
      Map.entry("hidden-sizes", "layers"),
      Map.entry("weight-decay", "l2"),
      Map.entry("optimiser", "optimizer"),
      Map.entry("output", "output-activation"),
      Map.entry("output-dir", "out"),
      Map.entry("output-directory", "out"),
      Map.entry("train-data", "data"),
      Map.entry("training-data", "data"),
      Map.entry("dataset", "data"),
      Map.entry("label", "label-column"),
      Map.entry("num-classes", "classes"),
      Map.entry("patience", "early-stopping"),
      Map.entry("normalization", "normalize"),
      Map.entry("normalisation", "normalize"));

  /**
   * Reads and validates {@code config} (the {@code syncgrad.train} block, defaults included).
   *
   * @throws UserException listing every invalid value, each with its origin
   */
  public static TrainSettings fromConfig(Config config) {
    Fields f = new Fields(config);
    f.unknownKeys(ConfigFactory.defaultReference().getConfig(PATH).root().keySet());
    String data = f.optionalString("data");
    String testData = f.optionalString("test-data");
    double testFraction = f.number("test-fraction", v -> v >= 0 && v < 1, "in [0, 1)");
    double validationFraction = f.number("validation-fraction", v -> v >= 0 && v < 1, "in [0, 1)");
    String labelColumn = f.string("label-column");
    int classes = (int) f.optionalInteger("classes", 2, CsvReader.MAX_CLASSES, 0, "the training labels' classes");
    List<Integer> layers = f.layers("layers");
    Activation activation = f.choice("activation", Activation::parse, "relu, tanh or sigmoid");
    if (activation == Activation.IDENTITY) {
      f.problem("activation", "must be relu, tanh or sigmoid, got identity");
    }
    OutputActivation output = f.choice("output-activation", OutputActivation::parse, "softmax, sigmoid or identity");
    LossFunction loss = f.choice("loss", LossFunction::parse, "cross-entropy or mse");
    if (loss == LossFunction.CROSS_ENTROPY && output != null && output != OutputActivation.SOFTMAX) {
      f.problem("output-activation", "must be softmax with loss cross-entropy, got " + output.label());
    }
    String initLabel = f.optionalString("init");
    Initializer init = initLabel == null
        ? (activation == Activation.RELU ? Initializer.HE : Initializer.XAVIER)
        : f.choice("init", Initializer::parse, "he or xavier");
    Normalization.Kind normalize = f.choice("normalize", Normalization.Kind::parse, "none, scale or standardize");
    Optimizer.Kind optimizer = f.choice("optimizer", Optimizer.Kind::parse, "sgd, momentum, nesterov or adam");
    double lr = f.isNull("lr") ? (optimizer == Optimizer.Kind.ADAM ? 0.001 : 0.05)
        : f.number("lr", v -> v > 0, "> 0");
    double momentum = f.number("momentum", v -> v >= 0 && v < 1, "in [0, 1)");
    double beta1 = f.number("beta1", v -> v >= 0 && v < 1, "in [0, 1)");
    double beta2 = f.number("beta2", v -> v >= 0 && v < 1, "in [0, 1)");
    double epsilon = f.number("epsilon", v -> v > 0, "> 0");
    LearningRateSchedule.Kind lrSchedule = f.choice("lr-schedule", LearningRateSchedule.Kind::parse,
        "constant, step or cosine");
    long lrDecaySteps = f.integer("lr-decay-steps", 1, Long.MAX_VALUE);
    double lrDecayRate = f.number("lr-decay-rate", v -> v > 0 && v <= 1, "in (0, 1]");
    long lrPeriod = f.optionalInteger("lr-period", 1, Long.MAX_VALUE, 0, "the whole run");
    double lrMin = f.number("lr-min", v -> v >= 0, ">= 0");
    int batchSize = (int) f.integer("batch-size", 1, 1 << 20);
    int shards = (int) f.integer("shards", 1, 4096);
    if (batchSize > 0 && shards > batchSize) {
      f.problem("shards", "must be at most batch-size (" + batchSize + "), got " + shards);
    }
    int epochs = (int) f.integer("epochs", 1, 1_000_000);
    long maxSteps = f.optionalInteger("max-steps", 1, Long.MAX_VALUE, 0, "no limit");
    long seed = f.integer("seed", Long.MIN_VALUE, Long.MAX_VALUE);
    double l1 = f.number("l1", v -> v >= 0, ">= 0");
    double l2 = f.number("l2", v -> v >= 0, ">= 0");
    float dropout = (float) f.number("dropout", v -> v >= 0 && v < 1, "in [0, 1)");
    double clipNorm = f.isNull("clip-norm") ? 0 : f.number("clip-norm", v -> v > 0, "> 0 (leave it out for no clipping)");
    long checkpointEvery = f.optionalInteger("checkpoint-every", 1, Long.MAX_VALUE, 0, "only the final model");
    int keepCheckpoints = (int) f.integer("keep-checkpoints", 1, 1000);
    String resume = f.optionalString("resume");
    String out = f.optionalString("out");
    int threads = (int) f.optionalInteger("threads", 1, 1024, 0, "one per core");
    String kernel = f.string("kernel");
    if (kernel != null && !io.syncgrad.common.math.Kernels.NAMES.contains(kernel)) {
      f.problem("kernel", "must be " + io.syncgrad.common.math.Kernels.CHOICES + ", got '" + kernel + "'");
    }
    int earlyStopping = (int) f.optionalInteger("early-stopping", 1, 1_000_000, 0, "never");
    if (earlyStopping > 0 && validationFraction == 0) {
      f.problem("early-stopping", "needs a validation set: add --validation-fraction F (for example 0.1)");
    }
    f.throwIfAny();
    return new TrainSettings(data, testData, testFraction, validationFraction, labelColumn, classes, layers, activation,
        output, loss, init, normalize, optimizer, lr, momentum, beta1, beta2, epsilon, lrSchedule, lrDecaySteps,
        lrDecayRate, lrPeriod, lrMin, batchSize, shards, epochs, maxSteps, seed, l1, l2, dropout, clipNorm,
        checkpointEvery, keepCheckpoints, resume, out, threads, kernel, earlyStopping);
  }

  /** These settings with another output directory. */
  public TrainSettings withOut(String dir) {
    return new TrainSettings(data, testData, testFraction, validationFraction, labelColumn, classes, layers, activation,
        output, loss, init, normalize, optimizer, lr, momentum, beta1, beta2, epsilon, lrSchedule, lrDecaySteps,
        lrDecayRate, lrPeriod, lrMin, batchSize, shards, epochs, maxSteps, seed, l1, l2, dropout, clipNorm,
        checkpointEvery, keepCheckpoints, resume, dir, threads, kernel, earlyStopping);
  }

  /** {@code batchSize}, {@code Batch_Size} and {@code batch size} as a key is written: {@code batch-size}. */
  static String normalized(String key) {
    String kebab = key.trim().replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(Locale.ROOT);
    return kebab.replaceAll("[_\\s]+", "-");
  }

  /** Reads typed fields, collecting a problem per bad one instead of stopping at the first. */
  private static final class Fields {
    private final Config config;
    private final List<String> problems = new ArrayList<>();

    Fields(Config config) {
      this.config = config;
    }

    void problem(String key, String what) {
      problems.add(where(key) + "field '" + key + "' " + what);
    }

    /**
     * A problem for each key that is not one of {@code known}: ignored, a typo would silently
     * leave its setting at the default.
     */
    void unknownKeys(Set<String> known) {
      List<Map.Entry<String, ConfigValue>> unknown = new ArrayList<>();
      for (Map.Entry<String, ConfigValue> e : config.root().entrySet()) {
        if (known.contains(e.getKey())) {
          continue;
        }
        // A block (train { lr = 0.1 }) is named by its keys, each on its own line.
        if (e.getValue() instanceof ConfigObject block && !block.isEmpty()) {
          for (Map.Entry<String, ConfigValue> inner : block.toConfig().entrySet()) {
            unknown.add(Map.entry(ConfigUtil.joinPath(e.getKey()) + "." + inner.getKey(), inner.getValue()));
          }
        } else {
          unknown.add(e);
        }
      }
      // In the order of the file, as a reader goes through it.
      unknown.sort(Comparator.comparing((Map.Entry<String, ConfigValue> e) -> e.getValue().origin().filename(),
              Comparator.nullsFirst(Comparator.<String>naturalOrder()))
          .thenComparingInt(e -> e.getValue().origin().lineNumber()).thenComparing(Map.Entry::getKey));
      for (Map.Entry<String, ConfigValue> e : unknown) {
        String key = e.getKey();
        List<String> path = ConfigUtil.splitPath(key);
        String meant = meant(path.get(path.size() - 1), known);
        problems.add(where(e.getValue().origin(), key) + "unknown key '" + key + "'; "
            + (meant != null ? "did you mean '" + meant + "'?" : "see syncgrad train --help"));
      }
    }

    /** The known key {@code key} most likely stands for, or null. */
    private static String meant(String key, Set<String> known) {
      String n = normalized(key);
      if (known.contains(n)) {
        return n;
      }
      String synonym = SYNONYMS.get(n);
      return synonym != null && known.contains(synonym) ? synonym : Nearest.name(n, new TreeSet<>(known));
    }

    private String where(String key) {
      return config.hasPathOrNull(key) ? where(config.getValue(key).origin(), key) : "";
    }

    private static String where(ConfigOrigin origin, String key) {
      if (origin.filename() != null) {
        String name = java.nio.file.Path.of(origin.filename()).getFileName().toString();
        return origin.lineNumber() > 0 ? name + ":" + origin.lineNumber() + ": " : name + ": ";
      }
      if (origin.description().contains("command line")) {
        return "--" + key + ": ";
      }
      return "";
    }

    void throwIfAny() {
      if (!problems.isEmpty()) {
        throw new UserException(problems);
      }
    }

    boolean isNull(String key) {
      return !config.hasPathOrNull(key) || config.getIsNull(key);
    }

    String optionalString(String key) {
      if (isNull(key)) {
        return null;
      }
      String s = string(key);
      return s == null || s.isBlank() ? null : s;
    }

    String string(String key) {
      try {
        return config.getString(key);
      } catch (ConfigException e) {
        problem(key, "must be a string, got " + render(key));
        return null;
      }
    }

    private String render(String key) {
      return config.hasPathOrNull(key) ? config.getValue(key).render() : "nothing";
    }

    double number(String key, java.util.function.DoublePredicate ok, String expected) {
      double v;
      try {
        v = config.getDouble(key);
      } catch (ConfigException e) {
        problem(key, "must be a number " + expected + ", got " + render(key));
        return 0;
      }
      if (!Double.isFinite(v) || !ok.test(v)) {
        problem(key, "must be " + expected + ", got " + render(key));
      }
      return v;
    }

    /** An integer that may be left out ({@code none} then); given, it must be in range. */
    long optionalInteger(String key, long min, long max, long none, String leftOut) {
      return isNull(key) ? none : integer(key, min, max, " (leave it out for " + leftOut + ")");
    }

    long integer(String key, long min, long max) {
      return integer(key, min, max, "");
    }

    long integer(String key, long min, long max, String hint) {
      long v;
      try {
        v = config.getLong(key);
      } catch (ConfigException e) {
        problem(key, "must be a whole number, got " + render(key));
        return min;
      }
      if (v < min || v > max) {
        problem(key, "must be " + (max == Long.MAX_VALUE ? ">= " + min : "in [" + min + ", " + max + "]")
            + hint + ", got " + v);
      }
      return v;
    }

    <T> T choice(String key, Function<String, T> parse, String expected) {
      String s = string(key);
      T value = s == null ? null : parse.apply(s.trim().toLowerCase(Locale.ROOT));
      if (s != null && value == null) {
        problem(key, "must be " + expected + ", got '" + s + "'");
      }
      return value;
    }

    List<Integer> layers(String key) {
      List<Integer> sizes = new ArrayList<>();
      if (isNull(key)) {
        return sizes;
      }
      ConfigValue value = config.getValue(key);
      List<String> parts = new ArrayList<>();
      if (value.valueType() == ConfigValueType.LIST) {
        for (ConfigValue item : config.getList(key)) {
          parts.add(String.valueOf(item.unwrapped()));
        }
      } else {
        String text = String.valueOf(value.unwrapped()).trim();
        if (!text.isEmpty() && !text.equals("none")) {
          for (String p : text.split(",")) {
            parts.add(p.trim());
          }
        }
      }
      for (String p : parts) {
        try {
          int n = Integer.parseInt(p);
          if (n <= 0) {
            throw new NumberFormatException();
          }
          sizes.add(n);
        } catch (NumberFormatException e) {
          problem(key, "must list positive layer sizes such as 256,128, got '" + p + "' in " + value.render());
        }
      }
      return sizes;
    }
  }
}
