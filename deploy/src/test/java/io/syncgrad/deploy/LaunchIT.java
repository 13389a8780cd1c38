package io.syncgrad.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.syncgrad.common.math.Kernels;
import io.syncgrad.common.testing.Fixtures;
import io.syncgrad.common.train.LocalTraining;
import io.syncgrad.common.train.TrainingListener;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code syncgrad launch --workers 2} as a user runs it: the shaded jar, three JVM processes on
 * 127.0.0.1, and the one-node trainer's weights hash at the end.
 */
class LaunchIT {

  private static final long TIMEOUT_SECONDS = 240;

  @TempDir
  Path dir;

  @Test
  void twoWorkerProcessesGiveTheOneNodeBytes() throws Exception {
    Path data = Fixtures.sampleFolder(dir.resolve("sample"));
    List<String> options = List.of("--data", data.toString(), "--layers", "32", "--shards", "8", "--max-steps", "25",
        "--seed", "7", "--kernel", "native");

    Map<String, Object> flags = new HashMap<>();
    for (int i = 0; i < options.size(); i += 2) {
      flags.put(options.get(i).substring(2), options.get(i + 1));
    }
    flags.put("out", dir.resolve("local").toString());
    String reference = LocalTraining.run(Fixtures.settings(flags), flags.keySet(), Kernels.select("native"),
        new TrainingListener() {}).weightsSha256();

    Path jar = Path.of("target", "syncgrad.jar").toAbsolutePath();
    assertTrue(Files.isRegularFile(jar), "the shaded jar is built before the integration tests: " + jar);
    List<String> command = new ArrayList<>(List.of(
        ProcessHandle.current().info().command().orElse("java"), "--add-modules", "jdk.incubator.vector",
        "-jar", jar.toString(), "launch", "--workers", "2"));
    command.addAll(options);
    command.addAll(List.of("--out", dir.resolve("launched").toString()));
    Path log = dir.resolve("launch.log");
    Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
      throw new AssertionError("launch did not end within " + TIMEOUT_SECONDS + " s:\n" + Files.readString(log));
    }
    String output = Files.readString(log);
    assertEquals(0, p.exitValue(), output);
    assertTrue(output.contains("[worker-00] ") && output.contains("[worker-01] "), "worker output is forwarded");
    JsonNode summary = new ObjectMapper().readTree(dir.resolve("launched").resolve("summary.json").toFile());
    assertEquals(reference, summary.get("weights_sha256").asText(), output);
    assertEquals(2, summary.get("workers").asInt());
  }
}
