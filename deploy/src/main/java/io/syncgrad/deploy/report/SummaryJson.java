package io.syncgrad.deploy.report;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import io.syncgrad.common.error.UserException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A run's {@code summary.json}, written once at the end of a run. The report reads its fields by
 * name, at the top level or else in its {@code settings} object, so the page keeps working while
 * settings move into that object; a field it does not find is simply not shown.
 */
final class SummaryJson {

  /** The file name in a run directory. */
  static final String NAME = "summary.json";

  private static final ObjectMapper JSON = new ObjectMapper();

  private final JsonNode root;

  private SummaryJson(JsonNode root) {
    this.root = root;
  }

  /**
   * The summary of the run in {@code runDir}, or empty when it has none (it is still running, or
   * it stopped before the end).
   *
   * @throws UserException naming the file, line and column of a file that is not a JSON object
   */
  static Optional<SummaryJson> read(Path runDir) throws IOException {
    Path file = runDir.resolve(NAME);
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    try {
      JsonNode root = JSON.readTree(file.toFile());
      if (root == null || !root.isObject()) {
        throw new UserException(file + ": expected a JSON object, got "
            + (root == null ? "an empty file" : root.getNodeType()));
      }
      return Optional.of(new SummaryJson(root));
    } catch (JsonProcessingException e) {
      JsonLocation at = e.getLocation();
      String where = at != null ? ":" + at.getLineNr() + ":" + at.getColumnNr() : "";
      throw new UserException(file + where + ": not valid JSON: " + e.getOriginalMessage(), e);
    }
  }

  /** The whole document. */
  JsonNode root() {
    return root;
  }

  /** The field {@code name}, at the top level or in {@code settings}; a missing node otherwise. */
  JsonNode get(String name) {
    JsonNode v = root.get(name);
    if (v == null || v.isNull()) {
      v = root.path("settings").get(name);
    }
    return v == null || v.isNull() ? MissingNode.getInstance() : v;
  }

  /** The text of field {@code name}, or empty. */
  Optional<String> text(String name) {
    JsonNode v = get(name);
    return v.isValueNode() ? Optional.of(v.asText()) : Optional.empty();
  }

  /** The number in field {@code name}, or {@code NaN}. */
  double number(String name) {
    JsonNode v = get(name);
    return v.isNumber() ? v.asDouble() : Double.NaN;
  }
}
