package io.syncgrad.deploy.report;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.syncgrad.common.error.UserException;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Reads a run's {@code metrics.jsonl} into {@link RunMetrics}. Every line must be a JSON object
 * with a string {@code type}, a whole {@code step} and an RFC 3339 {@code time}; the lines the
 * report draws must carry their numbers. Lines of other types are skipped, so that a newer trainer's
 * files still make a page. Every problem of the file is reported, each as {@code FILE:LINE: ...}.
 */
final class MetricsFile {

  /** The file name in a run directory. */
  static final String NAME = "metrics.jsonl";

  /** Problems listed before the rest are only counted: a wrong file can have a problem per line. */
  static final int MAX_LISTED_PROBLEMS = 20;

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path file;
  private final List<String> problems = new ArrayList<>();
  private final TreeMap<Long, RunMetrics.Step> steps = new TreeMap<>();
  private final TreeMap<Long, RunMetrics.Eval> evals = new TreeMap<>();
  private final TreeMap<Long, RunMetrics.WorkerTimes> workerTimes = new TreeMap<>();
  private final List<RunMetrics.Event> events = new ArrayList<>();
  private Instant firstTime;
  private Instant lastTime;

  private MetricsFile(Path file) {
    this.file = file;
  }

  /**
   * Parses {@code file}.
   *
   * @throws UserException naming the file and the line of every problem, or the missing file
   */
  static RunMetrics read(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new UserException(file + ": no such file (every run writes it from its first step; is "
          + file.getParent() + " the --out directory of a run?)");
    }
    return new MetricsFile(file).parse();
  }

  private RunMetrics parse() throws IOException {
    boolean endsInNewline = endsInNewline(file);
    List<String> lines = new ArrayList<>();
    try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        lines.add(line);
      }
    }
    boolean incompleteTail = false;
    for (int i = 0; i < lines.size(); i++) {
      String text = lines.get(i);
      if (text.isBlank()) {
        continue;
      }
      JsonNode node;
      try {
        node = JSON.readTree(text);
      } catch (JsonProcessingException e) {
        if (i == lines.size() - 1 && !endsInNewline) {
          // Lines are written whole and then flushed: a partial last one is being written now,
          // or was when the run stopped. Everything before it is good.
          incompleteTail = true;
          continue;
        }
        problem(i + 1, "not a JSON object: " + e.getOriginalMessage().lines().findFirst().orElse(""));
        continue;
      }
      line(i + 1, node);
    }
    if (!problems.isEmpty()) {
      List<String> listed = new ArrayList<>(problems.subList(0, Math.min(problems.size(), MAX_LISTED_PROBLEMS)));
      if (problems.size() > MAX_LISTED_PROBLEMS) {
        listed.add(file + ": " + (problems.size() - MAX_LISTED_PROBLEMS) + " more problems not shown");
      }
      throw new UserException(listed);
    }
    return new RunMetrics(new ArrayList<>(steps.values()), new ArrayList<>(evals.values()),
        new ArrayList<>(workerTimes.values()), events, Optional.ofNullable(firstTime), Optional.ofNullable(lastTime),
        incompleteTail);
  }

  private static boolean endsInNewline(Path file) throws IOException {
    try (SeekableByteChannel ch = Files.newByteChannel(file)) {
      if (ch.size() == 0) {
        return true;
      }
      ByteBuffer last = ByteBuffer.allocate(1);
      ch.position(ch.size() - 1).read(last);
      return last.get(0) == '\n';
    }
  }

  private void line(int number, JsonNode node) {
    if (!node.isObject()) {
      problem(number, "expected a JSON object, got " + abbreviated(node));
      return;
    }
    Field f = new Field(number, node);
    String type = f.string("type", true);
    long step = f.whole("step");
    Instant time = f.time();
    if (type == null || step < 0 || time == null) {
      return;
    }
    firstTime = firstTime == null || time.isBefore(firstTime) ? time : firstTime;
    lastTime = lastTime == null || time.isAfter(lastTime) ? time : lastTime;
    switch (type) {
      case "step" -> {
        var s = new RunMetrics.Step(step, f.number("epoch", false), f.number("loss", true), f.number("lr", false),
            f.number("grad_norm", false), f.number("samples_per_second", false), f.number("step_ms", false),
            f.number("compute_ms", false), f.string("worker", false));
        if (f.ok) {
          steps.put(step, s);
        }
      }
      case "eval" -> {
        var e = new RunMetrics.Eval(step, f.number("epoch", false), f.number("test_loss", true),
            f.number("test_accuracy", true), f.number("validation_loss", false),
            f.number("validation_accuracy", false));
        if (f.ok) {
          evals.put(step, e);
        }
      }
      case "workers" -> {
        Map<String, Double> times = f.numbers("compute_ms");
        if (f.ok) {
          workerTimes.put(step, new RunMetrics.WorkerTimes(step, times));
        }
      }
      case "fault", "recovery" -> {
        var e = new RunMetrics.Event(type, step, time, f.string("kind", true), orEmpty(f.string("what", false)),
            orEmpty(f.string("worker", false)), f.optionalWhole("generation"));
        if (f.ok) {
          events.add(e);
        }
      }
      case "checkpoint" -> {
        var e = new RunMetrics.Event(type, step, time, type, orEmpty(f.string("file", false)), "", -1);
        if (f.ok) {
          events.add(e);
        }
      }
      case "resume" -> {
        long from = f.optionalWhole("from_step");
        var e = new RunMetrics.Event(type, step, time, type, from >= 0 ? "from step " + from : "", "", -1);
        if (f.ok) {
          events.add(e);
        }
      }
      default -> {
        // A kind of line this report does not draw (yet): skipped rather than refused.
      }
    }
  }

  private static String orEmpty(String s) {
    return s == null ? "" : s;
  }

  private void problem(int line, String message) {
    problems.add(file + ":" + line + ": " + message);
  }

  private static String abbreviated(JsonNode value) {
    String s = value.toString();
    return s.length() > 60 ? s.substring(0, 57) + "..." : s;
  }

  /** The fields of one line, each checked once; {@code ok} turns false at the first problem. */
  private final class Field {
    private final int line;
    private final JsonNode node;
    private boolean ok = true;

    Field(int line, JsonNode node) {
      this.line = line;
      this.node = node;
    }

    private void wrong(String name, String expected) {
      JsonNode v = node.get(name);
      problem(line, "field '" + name + "' must be " + expected + ", "
          + (v == null ? "but it is missing" : "got " + abbreviated(v)));
      ok = false;
    }

    String string(String name, boolean required) {
      JsonNode v = node.get(name);
      if (v == null && !required) {
        return null;
      }
      if (v == null || !v.isTextual()) {
        wrong(name, "a string");
        return null;
      }
      return v.asText();
    }

    long whole(String name) {
      JsonNode v = node.get(name);
      if (v == null || !v.canConvertToLong() || !v.isIntegralNumber() || v.asLong() < 0) {
        wrong(name, "a whole number >= 0");
        return -1;
      }
      return v.asLong();
    }

    long optionalWhole(String name) {
      return node.has(name) ? whole(name) : -1;
    }

    Instant time() {
      JsonNode v = node.get("time");
      if (v != null && v.isTextual()) {
        try {
          return Instant.parse(v.asText());
        } catch (DateTimeParseException e) {
          // reported below
        }
      }
      wrong("time", "an RFC 3339 time in UTC such as \"2026-12-02T13:19:26.577Z\"");
      return null;
    }

    /** A number; Jackson writes a NaN or infinite double as a string, so those are numbers too. */
    double number(String name, boolean required) {
      JsonNode v = node.get(name);
      if (v == null && !required) {
        return Double.NaN;
      }
      if (v != null && v.isNumber()) {
        return v.asDouble();
      }
      if (v != null && v.isTextual()) {
        switch (v.asText()) {
          case "NaN":
            return Double.NaN;
          case "Infinity":
            return Double.POSITIVE_INFINITY;
          case "-Infinity":
            return Double.NEGATIVE_INFINITY;
          default:
            break;
        }
      }
      wrong(name, "a number");
      return Double.NaN;
    }

    Map<String, Double> numbers(String name) {
      JsonNode v = node.get(name);
      Map<String, Double> out = new LinkedHashMap<>();
      if (v == null || !v.isObject()) {
        wrong(name, "an object of numbers, e.g. {\"worker-00\": 1.9}");
        return out;
      }
      for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (!e.getValue().isNumber()) {
          wrong(name, "an object of numbers, e.g. {\"worker-00\": 1.9}");
          return out;
        }
        out.put(e.getKey(), e.getValue().asDouble());
      }
      return out;
    }
  }
}
