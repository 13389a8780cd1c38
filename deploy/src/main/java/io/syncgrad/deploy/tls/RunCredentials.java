package io.syncgrad.deploy.tls;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The credentials of one run that makes its own cluster ({@code train --workers}, {@code launch}):
 * a certificate authority that exists for this run only, and a keystore for each of its nodes,
 * in a private temporary folder (mode 0700) that {@link #close()} deletes. The passwords stay in
 * memory; {@code launch} hands each node its own through the environment.
 */
public final class RunCredentials implements AutoCloseable {

  /** Long enough for any run; the authority's key is gone once the stores exist. */
  private static final Duration VALIDITY = Duration.ofDays(365);

  private final Path dir;
  private final Map<String, NodeTls> nodes;

  private RunCredentials(Path dir, Map<String, NodeTls> nodes) {
    this.dir = dir;
    this.nodes = nodes;
  }

  /** Makes the credentials of {@code nodes} (names of files: letters, digits, '-'). */
  public static RunCredentials create(List<String> nodes) throws IOException {
    Path parent = PrivateFiles.createTempDirectory("syncgrad-credentials-");
    try {
      RunCredentials c = new RunCredentials(parent, NodeStores.write(parent.resolve("stores"), nodes, VALIDITY,
          false));
      // Also when the JVM ends without reaching close() (Ctrl-C): files go before their folders.
      try (var paths = java.nio.file.Files.walk(parent)) {
        paths.forEach(p -> p.toFile().deleteOnExit());
      }
      return c;
    } catch (IOException | RuntimeException e) {
      PrivateFiles.deleteTree(parent);
      throw e;
    }
  }

  /** The TLS settings of {@code node}. */
  public NodeTls of(String node) {
    NodeTls tls = nodes.get(node);
    if (tls == null) {
      throw new IllegalArgumentException("no credentials for node " + node);
    }
    return tls;
  }

  /** Deletes the stores. */
  @Override
  public void close() {
    try {
      PrivateFiles.deleteTree(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("deleting the run's credentials in " + dir, e);
    }
  }
}
