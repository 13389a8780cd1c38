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
        ClassArchive.options(jar, null));
  }

  @Test
  void anArchiveOlderThanTheJarOrNoneIsNot() throws Exception {
    Path jar = Files.writeString(dir.resolve("syncgrad.jar"), "jar");
    assertEquals(List.of(), ClassArchive.options(jar, ""), "no archive");
    Path archive = Files.writeString(dir.resolve("syncgrad.jsa"), "archive");
    Files.setLastModifiedTime(archive, FileTime.fromMillis(1_000_000));
    Files.setLastModifiedTime(jar, FileTime.fromMillis(2_000_000));
    assertEquals(List.of(), ClassArchive.options(jar, ""), "the jar was built again after the archive");
  }

  @Test
  void theUsersOwnClassSharingOptionsWin() throws Exception {
    Path jar = Files.writeString(dir.resolve("syncgrad.jar"), "jar");
    Files.writeString(dir.resolve("syncgrad.jsa"), "archive");
    Files.setLastModifiedTime(jar, FileTime.fromMillis(1_000_000));
    assertEquals(List.of(), ClassArchive.options(jar, "-Xshare:off"));
    assertEquals(List.of(), ClassArchive.options(jar, "-XX:SharedArchiveFile=/elsewhere.jsa"));
  }
}
