package io.syncgrad.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The class-data archive as deploy/bin/syncgrad makes it and every JVM of a run maps it: the
 * classes come from the archive, and an archive the JVM refuses costs nothing but the speed, with
 * not a word on the console.
 */
class ClassArchiveIT {

  @TempDir
  Path dir;

  private record Run(int code, String output) {}

  private Run java(List<String> options, Path jar) throws Exception {
    List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
        "-XX:+UseSerialGC"));
    command.addAll(options);
    command.addAll(List.of("-jar", jar.toString(), "--version"));
    Path log = Files.createTempFile(dir, "java", ".log");
    Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("java did not end: " + command);
    }
    return new Run(p.exitValue(), Files.readString(log));
  }

  @Test
  void theArchiveBesideTheJarIsMappedAndAStaleOneIsSkippedQuietly() throws Exception {
    Path built = Path.of("target", "syncgrad.jar").toAbsolutePath();
    assertTrue(Files.isRegularFile(built), "the shaded jar is built before the integration tests: " + built);
    // A copy, so that the archive made here never stands beside the real jar.
    Path jar = Files.copy(built, dir.resolve("syncgrad.jar"));
    Path archive = ClassArchive.of(jar);
    Run made = java(List.of("-XX:ArchiveClassesAtExit=" + archive, "-Xlog:cds=off", "-Xlog:cds+dynamic=off"), jar);
    assertEquals(0, made.code(), made.output());
    assertTrue(Files.size(archive) > 0, "the archive is written when the JVM exits");

    List<String> launcher = List.of("-XX:SharedArchiveFile=" + archive);
    List<String> options = new ArrayList<>(ClassArchive.options(jar, null, launcher));
    assertEquals("-XX:SharedArchiveFile=" + archive, options.get(0), "an archive as new as the jar is used");
    Path loads = dir.resolve("loads.txt");
    options.add("-Xlog:class+load=info:file=" + loads);
    Run mapped = java(options, jar);
    assertEquals(0, mapped.code(), mapped.output());
    assertEquals("syncgrad development build", mapped.output().strip());
    assertTrue(Files.readString(loads).contains("io.syncgrad.deploy.SyncgradCli source: shared objects file (top)"),
        "syncgrad's own classes come from the archive");

    // Another jar under the same name: the JVM refuses the archive, silently, and runs as without it.
    Files.delete(jar);
    Files.copy(built, jar);
    Files.setLastModifiedTime(archive, Files.getLastModifiedTime(jar));
    Run refused = java(ClassArchive.options(jar, null, launcher), jar);
    assertEquals(0, refused.code(), refused.output());
    assertEquals("syncgrad development build", refused.output().strip(), "nothing but the command's output");
  }
}
