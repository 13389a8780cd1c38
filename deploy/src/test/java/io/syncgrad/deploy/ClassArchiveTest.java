package io.syncgrad.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** When the JVMs of a run map the class-data archive beside the jar. */
class ClassArchiveTest {

  @TempDir
  Path dir;

  @Test
  void anArchiveAtLeastAsNewAsTheJarIsMapped() throws Exception {
    Path jar = Files.writeString(dir.resolve("syncgrad.jar"), "jar");
    Path archive = Files.writeString(dir.resolve("syncgrad.jsa"), "archive");
    assertEquals(archive, ClassArchive.of(jar));
    Files.setLastModifiedTime(jar, FileTime.fromMillis(1_000_000));
    Files.setLastModifiedTime(archive, FileTime.fromMillis(1_000_000));
    assertEquals(List.of("-XX:SharedArchiveFile=" + archive, "-Xlog:cds=off", "-Xlog:cds+dynamic=off"),
        ClassArchive.options(jar, null, List.of("-XX:+UseSerialGC", "-XX:SharedArchiveFile=" + archive)));
  }

  @Test
  void anArchiveOlderThanTheJarOrNoneIsNot() throws Exception {
    Path jar = Files.writeString(dir.resolve("syncgrad.jar"), "jar");
    assertEquals(List.of(), ClassArchive.options(jar, "", List.of()), "no archive");
    Path archive = Files.writeString(dir.resolve("syncgrad.jsa"), "archive");
    Files.setLastModifiedTime(archive, FileTime.fromMillis(1_000_000));
    Files.setLastModifiedTime(jar, FileTime.fromMillis(2_000_000));
    assertEquals(List.of(), ClassArchive.options(jar, "", List.of("-XX:SharedArchiveFile=" + archive)),
        "the jar was built again after the archive");
  }

  @Test
  void theUsersOwnClassSharingOptionsWin() throws Exception {
    Path jar = Files.writeString(dir.resolve("syncgrad.jar"), "jar");
    Path archive = Files.writeString(dir.resolve("syncgrad.jsa"), "archive");
    Files.setLastModifiedTime(jar, FileTime.fromMillis(1_000_000));
    List<String> launcher = List.of("-XX:SharedArchiveFile=" + archive);
    assertEquals(List.of(), ClassArchive.options(jar, "-Xshare:off", launcher));
    assertEquals(List.of(), ClassArchive.options(jar, "-XX:SharedArchiveFile=/elsewhere.jsa", launcher));
    assertEquals(List.of(), ClassArchive.options(jar, "-XX:ArchiveClassesAtExit=/mine.jsa", launcher));
  }

  @Test
  void anArchiveTheLauncherDidNotMapItselfIsNotHandedOn() throws Exception {
    Path jar = Files.writeString(dir.resolve("syncgrad.jar"), "jar");
    Path archive = Files.writeString(dir.resolve("syncgrad.jsa"), "put here by someone else");
    Files.setLastModifiedTime(jar, FileTime.fromMillis(1_000_000));
    assertEquals(List.of(), ClassArchive.options(jar, null, List.of("-XX:+UseSerialGC")),
        "a jar started by hand: the file beside it is not trusted");
    Path other = Files.writeString(dir.resolve("other.jsa"), "another archive");
    assertEquals(List.of(), ClassArchive.options(jar, null, List.of("-XX:SharedArchiveFile=" + other)));
    assertEquals(3, ClassArchive.options(jar, null, List.of("-XX:SharedArchiveFile=" + archive)).size());
  }
}
