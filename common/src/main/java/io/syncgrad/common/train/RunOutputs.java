package io.syncgrad.common.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.syncgrad.common.checkpoint.CheckpointStore;
import io.syncgrad.common.error.UserException;
import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The files a run leaves in its output directory: {@code metrics.jsonl} (one JSON object per
 * step and per evaluation) and {@code summary.json} (written atomically at the end). A file that
 * cannot be written (a full disk, a read-only folder) is a {@link UserException} naming it.
 */
public final class RunOutputs implements Closeable {

  /** The JSON mapper for both files: snake_case keys. */
  public static final ObjectMapper JSON = new ObjectMapper()
      .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
      .enable(SerializationFeature.INDENT_OUTPUT);

  private static final ObjectMapper LINES = new ObjectMapper();

  private final Path dir;
  private final BufferedWriter metrics;

  /**
   * @param dir    the output directory, created if needed
   * @param append continue an existing {@code metrics.jsonl} (a resume into the same directory)
   */
  public RunOutputs(Path dir, boolean append) {
    this.dir = dir;
    try {
      Files.createDirectories(dir);
      this.metrics = Files.newBufferedWriter(metricsFile(), StandardCharsets.UTF_8,
          StandardOpenOption.CREATE, StandardOpenOption.WRITE,
          append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING);
    } catch (IOException e) {
      throw UserException.io(metricsFile(), "write", e);
    }
  }

  private Path metricsFile() {
    return dir.resolve("metrics.jsonl");
  }

  /** The output directory. */
  public Path dir() {
    return dir;
  }

  /**
   * Appends one line, {@code {"type": type, "step": ..., "time": ..., ...fields}}, and flushes it
   * to the file. {@code time} is when the line was written, RFC 3339 in UTC with milliseconds.
   */
  public void metric(String type, Map<String, Object> fields) {
    Map<String, Object> line = new LinkedHashMap<>();
    line.put("type", type);
    if (fields.containsKey("step")) {
      line.put("step", fields.get("step"));
    }
    line.put("time", Instant.now().truncatedTo(ChronoUnit.MILLIS).toString());
    line.putAll(fields);
    try {
      metrics.write(LINES.writeValueAsString(line));
      metrics.newLine();
      // Whole lines, as they happen: people and the launcher's fault injector follow this file.
      metrics.flush();
    } catch (IOException e) {
      throw UserException.io(metricsFile(), "write", e);
    }
  }

  /** Pushes buffered metric lines to the file. */
  public void flush() {
    try {
      metrics.flush();
    } catch (IOException e) {
      throw UserException.io(metricsFile(), "write", e);
    }
  }

  /** Writes {@code summary.json} atomically. */
  public void summary(RunSummary summary) throws IOException {
    CheckpointStore.writeAtomically(dir.resolve("summary.json"), JSON.writeValueAsBytes(summary));
  }

  @Override
  public void close() {
    try {
      metrics.close();
    } catch (IOException e) {
      throw UserException.io(metricsFile(), "write", e);
    }
  }
}
