package io.syncgrad.common.data;

import io.syncgrad.common.error.UserException;
import io.syncgrad.common.model.Hashing;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Finds and loads the training and test sets a user names, or the defaults: the full
 * Fashion-MNIST where Debian's {@code dataset-fashion-mnist} installed it, else the sample
 * embedded in the jar.
 */
public final class DataSources {

  /** Where {@code apt-get install dataset-fashion-mnist} puts the data. */
  public static final Path SYSTEM_FASHION_MNIST = Path.of("/usr/share/datasets/fashion-mnist");
  /** The sample inside the jar. */
  public static final String EMBEDDED_SAMPLE = "fashion-mnist-sample";

  private DataSources() {}

  /**
   * A training set, the validation set held out of it (null without one), the test set, and a
   * line saying where they came from.
   *
   * @param trainLabels the labels of the whole training file, held-out shares included
   * @param testLabels  the labels of a separate test file, or null when the test set is a share of the training file
   */
  public record TrainTest(Dataset train, Dataset validation, Dataset test, String description, LabelIndex trainLabels,
      LabelIndex testLabels) {}

  /**
   * Loads and validates the training, validation and test sets.
   *
   * @param validationFraction share of the training set to hold out for validation, chosen by the seed
   * @see #load(String, String, double, String, long)
   */
  public static TrainTest load(String data, String testData, double testFraction, double validationFraction,
      String labelColumn, long seed) {
    TrainTest t = load(data, testData, testFraction, labelColumn, seed);
    if (validationFraction <= 0) {
      return t;
    }
    Dataset[] split = holdOut(t.train(), validationFraction, Hashing.mix(seed, 0x7A11DL), "--validation-fraction",
        "validation");
    return new TrainTest(split[0], split[1], t.test(), t.description(), t.trainLabels(), t.testLabels());
  }

  /**
   * Loads and validates the training and test sets.
   *
   * @param data         an IDX folder or a CSV file; null for the default
   * @param testData     an IDX folder or a CSV file; null for the folder's t10k files
   * @param testFraction share of a CSV training file to hold out when there is no test file
   * @param labelColumn  the CSV label column
   * @param seed         decides which samples a test fraction holds out
   */
  public static TrainTest load(String data, String testData, double testFraction, String labelColumn, long seed) {
    CsvReader.LabelColumn column = new CsvReader.LabelColumn(labelColumn);
    Dataset train;
    Dataset test = null;
    String description;
    if (data == null && Files.isRegularFile(SYSTEM_FASHION_MNIST.resolve("train-images-idx3-ubyte.gz"))) {
      data = SYSTEM_FASHION_MNIST.toString();
    }
    if (data == null) {
      train = IdxReader.read(DataFile.embedded(EMBEDDED_SAMPLE + "/train-images-idx3-ubyte.gz"),
          DataFile.embedded(EMBEDDED_SAMPLE + "/train-labels-idx1-ubyte.gz"));
      if (testData == null) {
        test = IdxReader.read(DataFile.embedded(EMBEDDED_SAMPLE + "/t10k-images-idx3-ubyte.gz"),
            DataFile.embedded(EMBEDDED_SAMPLE + "/t10k-labels-idx1-ubyte.gz"));
      }
      description = "the embedded Fashion-MNIST sample (install dataset-fashion-mnist for the full set)";
    } else {
      Path path = Path.of(data);
      if (Files.isDirectory(path)) {
        train = readIdxFolder(path, "train");
        if (testData == null && idxPair(path, "t10k") != null) {
          test = readIdxFolder(path, "t10k");
        }
      } else if (Files.isRegularFile(path)) {
        train = CsvReader.read(DataFile.of(path), column);
      } else {
        throw new UserException(data + ": no such file or folder (expected an IDX folder or a CSV file)");
      }
      description = data;
    }
    if (testData != null) {
      Path path = Path.of(testData);
      if (Files.isDirectory(path)) {
        test = readIdxFolder(path, idxPair(path, "t10k") != null ? "t10k" : "train");
      } else if (Files.isRegularFile(path)) {
        test = CsvReader.read(DataFile.of(path), column);
      } else {
        throw new UserException(testData + ": no such file or folder (expected an IDX folder or a CSV file)");
      }
    }
    LabelIndex trainLabels = LabelIndex.of(train);
    LabelIndex testLabels = test == null ? null : LabelIndex.of(test);
    if (test == null) {
      if (testFraction <= 0) {
        throw new UserException(train.source() + ": no test set: give --test-data FILE or --test-fraction F"
            + " (an IDX folder's t10k files are used when present)");
      }
      Dataset[] split = holdOut(train, testFraction, Hashing.mix(seed, 0x7E57L), "--test-fraction", "test");
      train = split[0];
      test = split[1];
    }
    checkWidth(test, train.width(), "the training data (" + train.source() + ")");
    return new TrainTest(train, null, test, description, trainLabels, testLabels);
  }

  /**
   * The classes of a fresh run's model: {@code given}, or when it is 0 one more than the largest
   * label of the training file. Refuses, all at once, each file with a label outside them and,
   * inferred, a class set with gaps, naming the first record that breaks it.
   */
  public static int classes(TrainTest data, int given) {
    if (given > 0) {
      checkLabels(data, given, "--classes " + given);
      return given;
    }
    int inferred = data.trainLabels().classes();
    if (inferred < 2) {
      throw new UserException(data.trainLabels().source() + ": every label is " + (inferred - 1)
          + "; classification needs at least 2 classes");
    }
    List<String> problems = new ArrayList<>();
    String gap = data.trainLabels().gap();
    if (gap != null) {
      problems.add(gap);
    }
    problems.addAll(outOfRange(data, inferred, "the training data's " + inferred + " classes"));
    if (!problems.isEmpty()) {
      throw new UserException(problems);
    }
    return inferred;
  }

  /** Refuses, all at once, the first label of the training and of the test file outside [0, classes). */
  public static void checkLabels(TrainTest data, int classes, String against) {
    List<String> problems = outOfRange(data, classes, against);
    if (!problems.isEmpty()) {
      throw new UserException(problems);
    }
  }

  private static List<String> outOfRange(TrainTest data, int classes, String against) {
    List<String> problems = new ArrayList<>();
    for (LabelIndex labels : new LabelIndex[] {data.trainLabels(), data.testLabels()}) {
      String problem = labels == null ? null : labels.outOfRange(classes, against);
      if (problem != null) {
        problems.add(problem);
      }
    }
    return problems;
  }

  /** Reads the {@code prefix}-images/labels pair of an IDX folder. */
  public static Dataset readIdxFolder(Path folder, String prefix) {
    DataFile[] pair = idxPair(folder, prefix);
    if (pair == null) {
      throw new UserException(folder + ": no " + prefix + "-images-idx3-ubyte[.gz] and " + prefix
          + "-labels-idx1-ubyte[.gz] in this folder");
    }
    return IdxReader.read(pair[0], pair[1]);
  }

  private static DataFile[] idxPair(Path folder, String prefix) {
    DataFile images = find(folder, prefix + "-images-idx3-ubyte");
    DataFile labels = find(folder, prefix + "-labels-idx1-ubyte");
    return images == null || labels == null ? null : new DataFile[] {images, labels};
  }

  private static DataFile find(Path folder, String base) {
    for (String name : new String[] {base + ".gz", base}) {
      Path p = folder.resolve(name);
      if (Files.isRegularFile(p)) {
        return DataFile.of(p);
      }
    }
    return null;
  }

  /** Reads samples to evaluate or predict: an IDX folder (test files first), an IDX image file, or CSV. */
  public static Dataset loadForModel(String path, String labelColumn, boolean labelled) {
    Path p = Path.of(path);
    if (Files.isDirectory(p)) {
      return readIdxFolder(p, idxPair(p, "t10k") != null ? "t10k" : "train");
    }
    if (!Files.isRegularFile(p)) {
      throw new UserException(path + ": no such file or folder");
    }
    String name = p.getFileName().toString();
    if (name.contains("idx3-ubyte")) {
      if (labelled) {
        DataFile labels = find(p.toAbsolutePath().getParent(),
            name.replace("images-idx3-ubyte", "labels-idx1-ubyte").replace(".gz", ""));
        if (labels == null) {
          throw new UserException(path + ": no matching labels file beside it");
        }
        return IdxReader.read(DataFile.of(p), labels);
      }
      return IdxReader.readImages(DataFile.of(p));
    }
    CsvReader.LabelColumn column = labelColumn == null ? null : new CsvReader.LabelColumn(labelColumn);
    return labelled ? CsvReader.read(DataFile.of(p), column) : CsvReader.readFeatures(DataFile.of(p), column);
  }

  /** Refuses samples whose width is not {@code width}. */
  public static void checkWidth(Dataset d, int width, String against) {
    if (d.width() != width) {
      throw new UserException(d.source() + ": samples have " + d.width() + " features, but " + against
          + " expects " + width);
    }
  }

  /** Refuses the first label outside [0, classes). */
  public static void checkLabels(Dataset d, int classes, String against) {
    String problem = LabelIndex.of(d).outOfRange(classes, against);
    if (problem != null) {
      throw new UserException(problem);
    }
  }

  /** Splits {@code all} by the seed into the rest and a held-out share, each in its original row order. */
  private static Dataset[] holdOut(Dataset all, double fraction, long seed, String option, String what) {
    int n = all.size();
    int testSize = (int) Math.round(n * fraction);
    if (testSize < 1 || testSize >= n) {
      throw new UserException(all.source() + ": " + option + " " + fraction + " of " + n
          + " samples leaves no training or no " + what + " samples");
    }
    int[] order = new int[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    SplittableRandom random = new SplittableRandom(seed);
    for (int i = n - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    int[] trainIdx = java.util.Arrays.copyOfRange(order, 0, n - testSize);
    int[] testIdx = java.util.Arrays.copyOfRange(order, n - testSize, n);
    java.util.Arrays.sort(trainIdx);
    java.util.Arrays.sort(testIdx);
    return new Dataset[] {all.select(trainIdx, all.source()), all.select(testIdx, all.source() + " (" + what
        + " share held out)")};
  }
}
