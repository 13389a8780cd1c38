package io.syncgrad.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.syncgrad.common.testing.Fixtures;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code syncgrad} as a user meets it: exit codes, messages, files written and not written. */
class CliIT {

  @TempDir
  static Path dir;
  static Path sample;

  @BeforeAll
  static void setUp() throws IOException {
    sample = Fixtures.sampleFolder(dir.resolve("sample"));
  }

  /** The exit code, standard output and standard error of one invocation. */
  record Result(int code, String out, String err) {}

  static Result run(String... args) {
    StringWriter err = new StringWriter();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrintStream saved = System.out;
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    try {
      int code = SyncgradCli.execute(new PrintWriter(err, true), args);
      return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString());
    } finally {
      System.setOut(saved);
    }
  }

  private static void assertUserError(Result r, String expectedStart, Path out) {
    assertEquals(SyncgradCli.USER_ERROR, r.code(), r.err());
    assertTrue(r.err().startsWith("syncgrad: error: " + expectedStart), r.err());
    assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
    assertFalse(Files.exists(out), "nothing is written for bad input, not even the node's log");
  }

  @Test
  void truncatedIdxIsRefused() throws IOException {
    Path bad = copySample("trunc");
    Path images = bad.resolve("train-images-idx3-ubyte.gz");
    byte[] raw = gunzip(images);
    Files.write(images, gzip(java.util.Arrays.copyOf(raw, 100_000)));
    Path out = dir.resolve("out-trunc");
    assertUserError(run("train", "--data", bad.toString(), "--max-steps", "5", "--out", out.toString()),
        images + ": truncated: the header announces 5000 images of 28x28", out);
  }

  @Test
  void wrongMagicIsRefused() throws IOException {
    Path bad = copySample("magic");
    Path labels = bad.resolve("train-labels-idx1-ubyte.gz");
    byte[] raw = gunzip(labels);
    raw[2] = 9;
    raw[3] = 9;
    Files.write(labels, gzip(raw));
    Path out = dir.resolve("out-magic");
    assertUserError(run("train", "--data", bad.toString(), "--out", out.toString()),
        labels + ": wrong magic number 0x00000909, expected 0x00000801", out);
  }

  @Test
  void raggedAndNanCsvAreRefusedWithTheirLines() throws IOException {
    Path ragged = Files.writeString(dir.resolve("ragged.csv"), "1,0.5,0.25\n2,0.1\n");
    Path out = dir.resolve("out-ragged");
    assertUserError(run("train", "--data", ragged.toString(), "--out", out.toString()),
        ragged + ":2: expected 3 fields (as on line 1), found 2", out);
    Path nan = Files.writeString(dir.resolve("nan.csv"), "1,0.5,0.25\n0,nan,0.3\n");
    assertUserError(run("train", "--data", nan.toString(), "--out", out.toString()),
        nan + ":2: column 2: expected a finite number, found nan", out);
  }

  @Test
  void badFlagsAndConfigNameTheirOrigin() throws IOException {
    Path conf = Files.writeString(dir.resolve("train.conf"), "epochs = 2\nlr = -0.1\noptimizer = adamw\n");
    Path out = dir.resolve("out-conf");
    Result r = run("train", "--config", conf.toString(), "--shards", "0", "--out", out.toString());
    assertEquals(SyncgradCli.USER_ERROR, r.code(), r.err());
    assertEquals(List.of(
        "syncgrad: error: train.conf:3: field 'optimizer' must be sgd, momentum, nesterov or adam, got 'adamw'",
        "syncgrad: error: train.conf:2: field 'lr' must be > 0, got -0.1",
        "syncgrad: error: --shards: field 'shards' must be in [1, 4096], got 0"), r.err().lines().toList());
    assertFalse(Files.exists(out));
  }

  @Test
  void trainEvaluatePredict() throws IOException {
    Path out = dir.resolve("run");
    Path conf = Files.writeString(dir.resolve("small.conf"), "syncgrad.train { layers = [24], max-steps = 200 }\n");
    Result train = run("train", "--config", conf.toString(), "--data", sample.toString(), "--max-steps", "60",
        "--out", out.toString(), "--plain");
    assertEquals(0, train.code(), train.err());
    assertTrue(train.out().contains("weights sha256 "), train.out());
    String summary = Files.readString(out.resolve("summary.json"));
    assertTrue(summary.contains("\"steps\" : 60"), "the flag overrides the file: " + summary);
    assertTrue(summary.contains("784-24-10"), "the file overrides the default: " + summary);

    Result eval = run("evaluate", "--model", out.resolve("model.pb").toString(), "--data", sample.toString());
    assertEquals(0, eval.code(), eval.err());
    double accuracy = Double.parseDouble(eval.out().split(" ")[1]);
    assertTrue(accuracy > 0.6, eval.out());

    Path predictions = dir.resolve("predictions.txt");
    Result predict = run("predict", "--model", out.toString(), "--input",
        sample.resolve("t10k-images-idx3-ubyte.gz").toString(), "--output", predictions.toString());
    assertEquals(0, predict.code(), predict.err());
    List<String> lines = Files.readAllLines(predictions);
    assertEquals(1000, lines.size());
    assertTrue(lines.stream().allMatch(l -> l.matches("[0-9]")), lines.get(0));

    Path csv = Files.writeString(dir.resolve("wide.csv"), "0,1,2,3\n");
    Result mismatch = run("evaluate", "--model", out.toString(), "--data", csv.toString());
    assertEquals(SyncgradCli.USER_ERROR, mismatch.code());
    assertTrue(mismatch.err().startsWith("syncgrad: error: " + csv + ": samples have 3 features, but the model ("),
        mismatch.err());
  }

  @Test
  void repeatedOptionsAndNumericEdgesAreRefusedWithTheirRange() {
    Result repeated = run("train", "--plain", "--plain");
    assertEquals(SyncgradCli.USER_ERROR, repeated.code());
    assertEquals(List.of("syncgrad train: option '--plain' should be specified only once",
        "See 'syncgrad train --help'."), repeated.err().lines().toList());
    Path out = dir.resolve("out-edges");
    Result edges = run("train", "--max-steps", "0", "--threads", "0", "--checkpoint-every", "0", "--clip-norm", "0",
        "--early-stopping", "2", "--out", out.toString());
    assertEquals(SyncgradCli.USER_ERROR, edges.code());
    assertEquals(List.of(
        "syncgrad: error: --max-steps: field 'max-steps' must be >= 1 (leave it out for no limit), got 0",
        "syncgrad: error: --clip-norm: field 'clip-norm' must be > 0 (leave it out for no clipping), got \"0\"",
        "syncgrad: error: --checkpoint-every: field 'checkpoint-every' must be >= 1 (leave it out for only the final "
            + "model), got 0",
        "syncgrad: error: --threads: field 'threads' must be in [1, 1024] (leave it out for one per core), got 0",
        "syncgrad: error: --early-stopping: field 'early-stopping' needs a validation set: add "
            + "--validation-fraction F (for example 0.1)"), edges.err().lines().toList());
    assertFalse(Files.exists(out));
    Result minWorkers = run("train", "--workers", "2", "--min-workers", "3", "--out", out.toString());
    assertEquals(List.of("syncgrad: error: --min-workers must be in [1, 2] (the workers of the run), got 3"),
        minWorkers.err().lines().toList());
  }

  @Test
  void theOldOutputActivationNameStillWorks() throws IOException {
    Path out = dir.resolve("run-alias");
    Result r = run("train", "--data", sample.toString(), "--layers", "8", "--max-steps", "3", "--output", "sigmoid",
        "--loss", "mse", "--out", out.toString());
    assertEquals(0, r.code(), r.err());
    assertTrue(Files.readString(out.resolve("summary.json")).contains("\"output-activation\" : \"sigmoid\""));
  }

  @Test
  void probabilitiesAndPerClassFigures() throws IOException {
    Path out = dir.resolve("run-probabilities");
    assertEquals(0, run("train", "--data", sample.toString(), "--layers", "16", "--max-steps", "40", "--out",
        out.toString()).code());
    String images = sample.resolve("t10k-images-idx3-ubyte.gz").toString();
    Path csv = dir.resolve("probabilities.csv");
    assertEquals(0, run("predict", "--model", out.toString(), "--input", images, "--probabilities", "--output",
        csv.toString()).code());
    List<String> rows = Files.readAllLines(csv);
    assertEquals("class,p0,p1,p2,p3,p4,p5,p6,p7,p8,p9", rows.get(0));
    assertEquals(1001, rows.size());
    List<String> classes = Files.readAllLines(predictions(out, images));
    for (int i = 1; i < rows.size(); i++) {
      String[] f = rows.get(i).split(",");
      assertEquals(11, f.length, rows.get(i));
      double sum = 0;
      int argmax = 0;
      for (int j = 1; j < 11; j++) {
        float p = Float.parseFloat(f[j]);
        assertEquals(f[j], Float.toString(p), "float precision, as the model computed it");
        sum += p;
        argmax = p > Float.parseFloat(f[argmax + 1]) ? j - 1 : argmax;
      }
      assertEquals(1, sum, 1e-5, "softmax outputs are probabilities: " + rows.get(i));
      assertEquals(classes.get(i - 1), f[0]);
      assertEquals(f[0], String.valueOf(argmax), "the class is the most probable one: " + rows.get(i));
    }
    Path jsonl = dir.resolve("probabilities.jsonl");
    assertEquals(0, run("predict", "--model", out.toString(), "--input", images, "--probabilities", "--output",
        jsonl.toString()).code());
    var first = new com.fasterxml.jackson.databind.ObjectMapper().readTree(Files.readAllLines(jsonl).get(0));
    assertEquals(Integer.parseInt(classes.get(0)), first.get("class").asInt());
    assertEquals(10, first.get("probabilities").size());

    Result json = run("evaluate", "--model", out.toString(), "--data", sample.toString(), "--json");
    assertEquals(0, json.code(), json.err());
    var e = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json.out());
    long correct = 0;
    long all = 0;
    for (int t = 0; t < 10; t++) {
      long row = 0;
      for (int c = 0; c < 10; c++) {
        row += e.get("confusion").get(t).get(c).asLong();
      }
      correct += e.get("confusion").get(t).get(t).asLong();
      all += row;
      assertEquals(row, e.get("classes").get(t).get("support").asLong());
      assertEquals((double) e.get("confusion").get(t).get(t).asLong() / row,
          e.get("classes").get(t).get("recall").asDouble(), 1e-12);
    }
    assertEquals(1000, all);
    assertEquals(e.get("accuracy").asDouble(), (double) correct / all, 1e-12);
    Result table = run("evaluate", "--model", out.toString(), "--data", sample.toString());
    assertTrue(table.out().contains("class  precision  recall  support")
        && table.out().contains("confusion matrix (rows: true class, columns: predicted class)"), table.out());
  }

  private static Path predictions(Path model, String images) {
    Path p = dir.resolve("classes.txt");
    assertEquals(0, run("predict", "--model", model.toString(), "--input", images, "--output", p.toString()).code());
    return p;
  }

  @Test
  void corruptModelIsRefused() throws IOException {
    Path bad = Files.write(dir.resolve("bad-model.pb"), new byte[] {8, 1, 18, 3, 1, 2});
    Result r = run("evaluate", "--model", bad.toString(), "--data", sample.toString());
    assertEquals(SyncgradCli.USER_ERROR, r.code());
    assertTrue(r.err().startsWith("syncgrad: error: " + bad + ": "), r.err());
  }

  private static Path copySample(String name) throws IOException {
    Path target = dir.resolve(name);
    Files.createDirectories(target);
    try (var files = Files.list(sample)) {
      for (Path f : files.toList()) {
        Files.copy(f, target.resolve(f.getFileName()));
      }
    }
    return target;
  }

  private static byte[] gunzip(Path p) throws IOException {
    try (InputStream in = new GZIPInputStream(Files.newInputStream(p))) {
      return in.readAllBytes();
    }
  }

  private static byte[] gzip(byte[] bytes) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
      gz.write(bytes);
    }
    return out.toByteArray();
  }
}
