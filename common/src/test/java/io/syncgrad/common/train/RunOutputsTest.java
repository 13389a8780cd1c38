package io.syncgrad.common.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.syncgrad.common.error.UserException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunOutputsTest {

  @TempDir
  Path dir;

  @Test
  void aMetricsLineThatCannotBeWrittenNamesTheFileAndTheReason() throws IOException {
    Path full = Path.of("/dev/full");
    assumeTrue(Files.exists(full), "needs /dev/full, where every write fails with ENOSPC (even as root)");
    Path metrics = Files.createSymbolicLink(dir.resolve("metrics.jsonl"), full);
    RunOutputs outputs = new RunOutputs(dir, true);
    UserException e = assertThrows(UserException.class, () -> outputs.metric("step", Map.of("step", 1L)));
    assertEquals(metrics + ": cannot write (No space left on device)", e.getMessage());
    outputs.close();
  }

  @Test
  void aRunFolderThatCannotBeMadeIsNamed() throws IOException {
    Path file = Files.writeString(dir.resolve("run"), "a file where the run folder should be");
    UserException e = assertThrows(UserException.class, () -> new RunOutputs(file.resolve("sub"), false));
    Path sub = file.resolve("sub");
    assertEquals(sub.resolve("metrics.jsonl") + ": cannot write (" + sub + ": Not a directory)", e.getMessage());
  }
}
