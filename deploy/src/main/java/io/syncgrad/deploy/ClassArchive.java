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
 * took 3-4 s off the start of {@code launch --workers 2}, whose four JVMs all load them at once
 * (deploy/bench/RESULTS.md). It changes nothing a run computes. An archive older than the jar is
 * not used; one the JVM refuses (another Java runtime, a jar moved) is skipped without a word, and
 * the JVM starts as it would without it.
 *
 * <p>A JVM runs what an archive holds as it would the jar's classes, so a node maps only the
 * archive its launcher mapped: the one the script made, never a file that merely lies beside a
 * jar someone started by hand (another user could have put it there).
 */
final class ClassArchive {

  private ClassArchive() {}

  /** Where the archive of {@code jar} is. */
  static Path of(Path jar) {
    String name = jar.getFileName().toString();
    return jar.resolveSibling((name.endsWith(".jar") ? name.substring(0, name.length() - 4) : name) + ".jsa");
  }

  /**
   * The JVM options that map the archive of {@code jar} in a node: none when the launcher's own
   * JVM ({@code ownArguments}) did not map that archive, when it is older than the jar, or when
   * {@code javaOptions} (SYNCGRAD_JAVA_OPTS) choose the class sharing themselves.
   */
  static List<String> options(Path jar, String javaOptions, List<String> ownArguments) {
    if (javaOptions != null && (javaOptions.contains("SharedArchiveFile") || javaOptions.contains("ArchiveClassesAtExit")
        || javaOptions.contains("-Xshare"))) {
      return List.of();
    }
    Path archive = of(jar);
    try {
      if (!Files.isRegularFile(archive) || !Files.isReadable(archive) || !mapped(archive, ownArguments)
          || Files.getLastModifiedTime(archive).compareTo(Files.getLastModifiedTime(jar)) < 0) {
        return List.of();
      }
    } catch (IOException e) {
      return List.of();
    }
    return List.of("-XX:SharedArchiveFile=" + archive, "-Xlog:cds=off", "-Xlog:cds+dynamic=off");
  }

  /** Whether {@code arguments} (a JVM's) map {@code archive}. */
  private static boolean mapped(Path archive, List<String> arguments) throws IOException {
    String option = "-XX:SharedArchiveFile=";
    for (String a : arguments) {
      if (a.startsWith(option)) {
        Path p = Path.of(a.substring(option.length()));
        return Files.exists(p) && Files.isSameFile(p, archive);
      }
    }
    return false;
  }
}
