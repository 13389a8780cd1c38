package io.syncgrad.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import io.syncgrad.common.error.UserException;
import io.syncgrad.common.math.Kernels;
import io.syncgrad.common.train.LocalTraining;
import io.syncgrad.common.train.TrainingListener;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code syncgrad verify}: runs fault scenarios and checks that each ends with the weights of the
 * fault-free run. The reference is computed once per set of training options by the one-node
 * trainer (the hash does not depend on the mode or the number of workers); every scenario runs
 * in its own process under a time bound.
 */
@Command(name = "verify", mixinStandardHelpOptions = true,
    description = "Run every fault scenario of a folder and check that each ends with the fault-free weights.")
final class VerifyCommand implements Callable<Integer> {

  @Option(names = "--scenarios", required = true, paramLabel = "DIR", description = "Folder of scenario files (*.conf).")
  private Path scenarios;

  @Option(names = "--data", paramLabel = "PATH", description = "Training data for every scenario (default: the default data).")
  private String data;

  @Option(names = "--kernel", defaultValue = "auto", description = "Matrix products of every run: " + Kernels.CHOICES + " (see syncgrad train --help).")
  private String kernel;

  @Option(names = "--work-dir", paramLabel = "DIR", description = "Where runs and logs go (default: a new temporary folder).")
  private Path workDir;

  @Option(names = "--timeout", defaultValue = "10m", paramLabel = "DURATION",
      description = "A scenario still running after this is stopped and fails (default 10m).")
  private String timeout;

  /** One scenario file, read and checked. */
  private record Scenario(String name, String mode, int workers, List<String> trainArgs, List<String> faults,
      long faultSeed, String stepTimeout) {}

  @Override
  public Integer call() throws Exception {
    Duration limit = Durations.parse("--timeout", timeout);
    List<Scenario> all = read();
    Path work = workDir != null ? workDir : Files.createTempDirectory("syncgrad-verify-");
    Files.createDirectories(work);
    System.out.println("verify: " + all.size() + " scenarios, runs and logs in " + work);
    Map<List<String>, String> references = new HashMap<>();
    int failed = 0;
    for (Scenario s : all) {
      String reference = references.computeIfAbsent(s.trainArgs(), args -> reference(args, work));
      long t0 = System.nanoTime();
      String line;
      try {
        JsonNode summary = run(s, work, limit);
        String got = summary.get("weights_sha256").asText();
        JsonNode f = summary.get("faults");
        boolean pass = got.equals(reference);
        failed += pass ? 0 : 1;
        line = String.format("%-18s %s  ref %s  got %s  injected=%d workers_lost=%d shards_reassigned=%d "
                + "stale_rejected=%d duplicates_rejected=%d resumes=%d  (%.1f s)", s.name(), pass ? "PASS" : "FAIL",
            reference.substring(0, 12), got.substring(0, 12), f.get("injected").asLong(),
            f.get("workers_lost").asLong(), f.get("shards_reassigned").asLong(), f.get("stale_rejected").asLong(),
            f.get("duplicates_rejected").asLong(), f.get("resumes").asLong(), (System.nanoTime() - t0) / 1e9);
      } catch (ScenarioFailed e) {
        failed++;
        line = String.format("%-18s FAIL  ref %s  %s  (%.1f s)", s.name(), reference.substring(0, 12), e.getMessage(),
            (System.nanoTime() - t0) / 1e9);
      }
      System.out.println(line);
    }
    System.out.println(failed == 0 ? "verify: all " + all.size() + " scenarios passed"
        : "verify: " + failed + " of " + all.size() + " scenarios failed");
    return failed == 0 ? 0 : 1;
  }

  private List<Scenario> read() throws IOException {
    if (!Files.isDirectory(scenarios)) {
      throw new UserException(scenarios + ": no such folder of scenarios");
    }
    List<Path> files;
    try (Stream<Path> s = Files.list(scenarios)) {
      files = s.filter(p -> p.toString().endsWith(".conf")).sorted().toList();
    }
    if (files.isEmpty()) {
      throw new UserException(scenarios + ": no scenario files (*.conf)");
    }
    List<Scenario> out = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    for (Path f : files) {
      String name = f.getFileName().toString().replaceFirst("\\.conf$", "");
      try {
        Config c = ConfigFactory.parseFile(f.toFile()).resolve();
        String mode = c.getString("mode");
        if (!mode.equals("train") && !mode.equals("launch")) {
          problems.add(f + ": field 'mode' must be train or launch, got '" + mode + "'");
          continue;
        }
        List<String> trainArgs = new ArrayList<>();
        if (c.hasPath("train")) {
          for (Map.Entry<String, ConfigValue> e : new java.util.TreeMap<>(c.getConfig("train").root()).entrySet()) {
            trainArgs.add("--" + e.getKey());
            trainArgs.add(text(e.getValue()));
          }
        }
        out.add(new Scenario(name, mode, c.getInt("workers"), trainArgs,
            c.hasPath("faults") ? c.getStringList("faults") : List.of(),
            c.hasPath("fault-seed") ? c.getLong("fault-seed") : 0,
            c.hasPath("step-timeout") ? c.getString("step-timeout") : null));
      } catch (ConfigException e) {
        problems.add(f + ": " + e.getMessage());
      }
    }
    if (!problems.isEmpty()) {
      throw new UserException(problems);
    }
    return out;
  }

  private static String text(ConfigValue v) {
    if (v.valueType() == ConfigValueType.LIST) {
      List<String> parts = new ArrayList<>();
      for (Object o : (List<?>) v.unwrapped()) {
        parts.add(String.valueOf(o));
      }
      return String.join(",", parts);
    }
    return String.valueOf(v.unwrapped());
  }

  /** The fault-free hash for these training options, from the one-node trainer. */
  private String reference(List<String> trainArgs, Path work) {
    Map<String, Object> flags = new LinkedHashMap<>();
    for (int i = 0; i < trainArgs.size(); i += 2) {
      flags.put(trainArgs.get(i).substring(2), trainArgs.get(i + 1));
    }
    flags.remove("checkpoint-every");
    if (data != null) {
      flags.put("data", data);
    }
    flags.put("out", work.resolve("reference-" + Integer.toHexString(trainArgs.hashCode())).toString());
    flags.put("kernel", kernel);
    Config merged = ConfigFactory.parseMap(flags, "command line")
        .withFallback(ConfigFactory.defaultReference().getConfig(io.syncgrad.common.config.TrainSettings.PATH));
    try {
      var settings = io.syncgrad.common.config.TrainSettings.fromConfig(merged);
      return LocalTraining.run(settings, flags.keySet(), Kernels.select(kernel), new TrainingListener() {})
          .weightsSha256();
    } catch (IOException e) {
      throw new UserException("the reference run failed: " + e.getMessage(), e);
    }
  }

  /** A scenario that ended without a summary. */
  private static final class ScenarioFailed extends Exception {
    private static final long serialVersionUID = 1L;

    ScenarioFailed(String message) {
      super(message);
    }
  }

  private JsonNode run(Scenario s, Path work, Duration limit) throws IOException, InterruptedException,
      ScenarioFailed {
    Path out = work.resolve(s.name());
    List<String> command = new ArrayList<>();
    command.add(ProcessHandle.current().info().command().orElse("java"));
    command.addAll(List.of("--add-modules", "jdk.incubator.vector", "-cp", jar(), SyncgradCli.class.getName(),
        s.mode(), "--workers", String.valueOf(s.workers()), "--kernel", kernel, "--out", out.toString(),
        "--fault-seed", String.valueOf(s.faultSeed())));
    if (s.mode().equals("train")) {
      command.add("--plain"); // launch gives its coordinator --plain itself
    }
    if (data != null) {
      command.addAll(List.of("--data", data));
    }
    if (s.stepTimeout() != null) {
      command.addAll(List.of("--step-timeout", s.stepTimeout()));
    }
    for (String f : s.faults()) {
      command.addAll(List.of("--fault", f));
    }
    command.addAll(s.trainArgs());
    Path log = work.resolve(s.name() + ".log");
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().putIfAbsent("OMP_NUM_THREADS", "1");
    Process p = pb.start();
    if (!p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
      throw new ScenarioFailed("did not end within " + limit + "; log " + log);
    }
    if (p.exitValue() != 0) {
      throw new ScenarioFailed("exit code " + p.exitValue() + "; log " + log);
    }
    Path summary = out.resolve("summary.json");
    if (!Files.isRegularFile(summary)) {
      throw new ScenarioFailed("no summary.json; log " + log);
    }
    return new ObjectMapper().readTree(summary.toFile());
  }

  private static String jar() {
    try {
      return Path.of(SyncgradCli.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    } catch (java.net.URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }
}
