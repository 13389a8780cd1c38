package io.syncgrad.common.checkpoint;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.syncgrad.common.run.TrainingState;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGKILL of a process while it writes checkpoints, at 20 different moments: every time, the
 * newest valid checkpoint loads, is the last one reported written or the one after, and no file
 * under a checkpoint's name is torn.
 */
class CheckpointCrashIT {

  private static final int KILLS = 20;

  @TempDir
  Path dir;

  @Test
  void aKilledWriterNeverLeavesATornCheckpoint() throws Exception {
    int midWrite = 0;
    for (int kill = 0; kill < KILLS; kill++) {
      Process p = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-cp",
          System.getProperty("java.class.path"), CheckpointWriterMain.class.getName(), dir.toString())
          .redirectErrorStream(true).start();
      BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
      long reported = 0;
      String line;
      // Let it write a few, then strike at a different moment of a write each time.
      while (reported < 2 + kill % 3 && (line = out.readLine()) != null) {
        reported = Long.parseLong(line.substring("wrote ".length()));
      }
      TimeUnit.MILLISECONDS.sleep(kill * 3L % 37);
      // SIGKILL from outside (Process.destroyForcibly would also close the pipe we still read).
      new ProcessBuilder("kill", "-KILL", String.valueOf(p.pid())).start().waitFor();
      p.waitFor();
      // The process is dead: read what it printed to the end of the stream.
      while ((line = out.readLine()) != null) {
        if (line.startsWith("wrote ")) {
          reported = Long.parseLong(line.substring("wrote ".length()));
        }
      }

      TrainingState newest = CheckpointStore.newestValid(dir);
      assertTrue(newest.step() == reported || newest.step() == reported + 1,
          "kill " + kill + ": newest valid checkpoint is step " + newest.step() + ", last reported " + reported);
      for (Path f : CheckpointStore.periodic(dir)) {
        CheckpointStore.read(f); // throws if torn
      }
      // The next writer starts over in a fresh folder state: clear it, keeping temporary leftovers out.
      List<Path> leftovers = new ArrayList<>();
      try (var files = Files.list(dir.resolve(CheckpointStore.CHECKPOINT_DIR))) {
        files.forEach(leftovers::add);
      }
      for (Path f : leftovers) {
        if (f.getFileName().toString().contains(".tmp-")) {
          midWrite++;
        }
        Files.delete(f);
      }
    }
    // Otherwise no kill landed inside a write, and the test proved nothing.
    assertTrue(midWrite > 0, "no kill struck while a checkpoint was being written");
    System.out.println(midWrite + " of " + KILLS + " kills struck mid-write");
  }
}
