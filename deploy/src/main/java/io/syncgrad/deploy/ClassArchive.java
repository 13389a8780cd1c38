package io.syncgrad.deploy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The class-data archive beside the runnable jar ({@code syncgrad.jsa} beside {@code
 * syncgrad.jar}), which {@code deploy/bin/syncgrad} makes once per build and Java runtime: the
 * classes a run loads (Akka, Scala, protobuf, syncgrad's own, some 8,000), parsed and verified
 * once and then mapped by every JVM of a run instead of loaded from the jar again. On 2 cores it
 * took 4-5 s off the start of {@code launch --workers 2}, whose four JVMs all load them at once
 * (deploy/bench/RESULTS.md). It changes nothing a run computes. An archive older than the jar is
 * not used; one the JVM refuses (another Java runtime, a jar moved) is skipped without a word, and
 * the JVM starts as it would without it.
 */
final class ClassArchive {

  private ClassArchive() {}

  /** Where the archive of {@code jar} is. */
  static Path of(Path jar) {
    String name = jar.getFileName().toString();
    return jar.resolveSibling((name.endsWith(".jar") ? name.substring(0, name.length() - 4) : name) + ".jsa");
  }

  /**
   * The JVM options that map the archive of {@code jar}: none when there is no archive, when it is
   * older than the jar, or when {@code javaOptions} (SYNCGRAD_JAVA_OPTS) choose the class sharing
   * themselves.
   */
  static List<String> options(Path jar, String javaOptions) {
    if (javaOptions != null && (javaOptions.contains("SharedArchiveFile") || javaOptions.contains("-Xshare"))) {
      return List.of();
    }
    Path archive = of(jar);
    try {
      if (!Files.isRegularFile(archive) || !Files.isReadable(archive)
          || Files.getLastModifiedTime(archive).compareTo(Files.getLastModifiedTime(jar)) < 0) {
        return List.of();
      }
    } catch (IOException e) {
      return List.of();
    }
    return List.of("-XX:SharedArchiveFile=" + archive, "-Xlog:cds=off", "-Xlog:cds+dynamic=off");
  }
}
