package io.syncgrad.common.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A file to read samples from: on disk, or embedded in the jar (the Fashion-MNIST sample).
 *
 * @param name what messages call it: a path, or {@code embedded:...}
 * @param path the file on disk, or null when embedded
 */
public record DataFile(String name, Path path) {

  private static final String EMBEDDED_ROOT = "/syncgrad/data/";

  /** A file on disk. */
  public static DataFile of(Path path) {
    return new DataFile(path.toString(), path);
  }

  /** A file shipped inside the jar under {@code syncgrad/data/}. */
  public static DataFile embedded(String relative) {
    return new DataFile("embedded:" + relative, null);
  }

  /** Whether the file exists. */
  public boolean exists() {
    if (path != null) {
      return Files.isRegularFile(path);
    }
    return DataFile.class.getResource(resource()) != null;
  }

  /** Opens the raw bytes (still compressed if the file is). */
  public InputStream open() throws IOException {
    if (path != null) {
      return Files.newInputStream(path);
    }
    InputStream in = DataFile.class.getResourceAsStream(resource());
    if (in == null) {
      throw new IOException("no embedded resource " + resource());
    }
    return in;
  }

  private String resource() {
    return EMBEDDED_ROOT + name.substring("embedded:".length());
  }
}
