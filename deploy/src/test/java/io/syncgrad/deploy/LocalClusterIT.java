package io.syncgrad.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.syncgrad.common.math.Kernels;
import io.syncgrad.common.math.MatrixKernel;
import io.syncgrad.common.testing.Fixtures;
import io.syncgrad.common.train.LocalTraining;
import io.syncgrad.common.train.RunSummary;
import io.syncgrad.common.train.TrainingListener;
import io.syncgrad.deploy.cluster.FaultPlan;
import io.syncgrad.deploy.cluster.LocalCluster;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real cluster in one JVM (a coordinator node and N worker nodes, every message serialised
 * over Artery) gives the one-node trainer's bytes for any N.
 */
class LocalClusterIT {

  private static final int STEPS = 20;

  @TempDir
  static Path dir;
  static Path data;

  @BeforeAll
  static void sample() throws IOException {
    data = Fixtures.sampleFolder(dir.resolve("sample"));
  }

  /** The one-node trainer's hash for the flags of {@code name}. */
  private static String reference(String name) throws IOException {
    Map<String, Object> local = flags(name);
    return LocalTraining.run(Fixtures.settings(local), local.keySet(), Kernels.select("native"),
        new TrainingListener() {}).weightsSha256();
  }

  private static Map<String, Object> flags(String out) {
    return Fixtures.flags(data, dir.resolve(out), "layers", "32", "shards", "8", "dropout", "0.1", "max-steps",
        String.valueOf(STEPS));
  }

  @Test
  void oneTwoThreeFourAndEightWorkersGiveTheOneNodeBytes() throws IOException {
    MatrixKernel kernel = Kernels.select("native");
    String reference = reference("local");
    for (int workers : new int[] {1, 2, 3, 4, 8}) {
      Map<String, Object> f = flags("workers-" + workers);
      RunSummary s = LocalCluster.run(Fixtures.settings(f), f.keySet(), kernel, new TrainingListener() {},
          LocalCluster.Options.of(workers));
      assertEquals(reference, s.weightsSha256(), workers + " workers");
      assertEquals(workers, s.workers());
      assertEquals(STEPS, s.steps());
      assertEquals(0L, s.faults().get("stale_rejected"));
      assertEquals((long) workers, s.distributed().get("links_opened"), "every worker opened its link");
      assertTrafficIsFlat(s, workers);
    }
  }

  /**
   * No node sends more than a few times the parameters a step, whatever the number of workers: a
   * worker about 2·P·(W-1)/W floats (reduce-scatter and all-gather), the coordinator no tensors
   * but the state each worker starts from.
   */
  @SuppressWarnings("unchecked")
  static void assertTrafficIsFlat(RunSummary s, int workers) {
    Map<String, Map<String, Object>> traffic = (Map<String, Map<String, Object>>) s.distributed().get("traffic");
    assertEquals(workers + 1, traffic.size(), traffic.toString());
    long parameterBytes = s.parameters() * Float.BYTES;
    for (Map.Entry<String, Map<String, Object>> e : traffic.entrySet()) {
      long sent = ((Number) e.getValue().get("sent_bytes_per_step")).longValue();
      assertTrue(sent <= 3 * parameterBytes, e.getKey() + " sends " + sent + " bytes a step, parameters "
          + parameterBytes);
      if (!e.getKey().equals("coordinator") && workers > 1) {
        // The counters are those of the worker's last report, which its writer may not have
        // finished sending yet: up to a step or two short of the exchange's bytes.
        double expected = 2.0 * parameterBytes * (workers - 1) / workers * (STEPS - 2) / STEPS;
        assertTrue(sent >= expected, e.getKey() + " sends " + sent + " bytes a step, less than the exchange's "
            + expected);
      }
    }
  }

  @Test
  void aWorkerKilledMidRunChangesNothing() throws IOException {
    MatrixKernel kernel = Kernels.select("native");
    String reference = reference("kill-reference");
    Map<String, Object> f = flags("killed");
    RunSummary s = LocalCluster.run(Fixtures.settings(f), f.keySet(), kernel, new TrainingListener() {},
        LocalCluster.Options.of(3).withStepTimeout(Duration.ofSeconds(2))
            .withFaults(FaultPlan.parse(List.of("kill-worker:1@8"), 3, 0)));
    assertEquals(reference, s.weightsSha256());
    assertEquals(STEPS, s.steps());
    assertTrue((Long) s.faults().get("shards_reassigned") >= 3, s.faults().toString());
  }

  /**
   * A worker that sends NaN partial sums is named by the owners of its chunks; the others
   * compute its shards again, find the step finite, and quarantine it: the run ends with the
   * fault-free bytes and names the worker. A run where the others' step diverges too fails
   * with "diverged" instead (the training's fault, not the worker's): see
   * {@code ../worker/StepExchangeTest} and {@code MembershipTest} for that decision.
   */
  @Test
  void aWorkerThatSendsNaNIsNamedAndQuarantinedAndTheBytesAreTheFaultFreeOnes() throws IOException {
    MatrixKernel kernel = Kernels.select("native");
    String reference = reference("nan-reference");
    Map<String, Object> f = flags("nan");
    RunSummary s = LocalCluster.run(Fixtures.settings(f), f.keySet(), kernel, new TrainingListener() {},
        LocalCluster.Options.of(3).withFaults(FaultPlan.parse(List.of("corrupt-worker:1@6"), 3, 0)));
    assertEquals(reference, s.weightsSha256());
    assertEquals(STEPS, s.steps());
    assertQuarantinedOnly(s, "worker-01", 6);
  }

  /**
   * With every block audited ({@code --audit-fraction 1}), a worker whose partial sums are finite
   * garbage at one step is found by its auditor, named and quarantined, and the run ends with the
   * fault-free bytes; auditing a run without faults changes nothing.
   */
  @Test
  void theAuditFindsFiniteGarbageAndTheBytesAreTheFaultFreeOnes() throws IOException {
    MatrixKernel kernel = Kernels.select("native");
    String reference = reference("audit-reference");
    Map<String, Object> clean = flags("audited");
    RunSummary audited = LocalCluster.run(Fixtures.settings(clean), clean.keySet(), kernel, new TrainingListener() {},
        LocalCluster.Options.of(3).withAudits(1.0));
    assertEquals(reference, audited.weightsSha256(), "auditing changes no byte");
    assertEquals(List.of(), audited.distributed().get("quarantined"));

    Map<String, Object> f = flags("garbage");
    RunSummary s = LocalCluster.run(Fixtures.settings(f), f.keySet(), kernel, new TrainingListener() {},
        LocalCluster.Options.of(3).withAudits(1.0)
            .withFaults(FaultPlan.parse(List.of("corrupt-worker:1@6:garbage"), 3, 0)));
    assertEquals(reference, s.weightsSha256());
    assertQuarantinedOnly(s, "worker-01", 6);
  }

  @Test
  void droppedDuplicatedAndDelayedMessagesChangeNothing() throws IOException {
    MatrixKernel kernel = Kernels.select("native");
    String reference = reference("messages-reference");
    Map<String, Object> f = flags("messages");
    RunSummary s = LocalCluster.run(Fixtures.settings(f), f.keySet(), kernel, new TrainingListener() {},
        LocalCluster.Options.of(4).withFaults(
            FaultPlan.parse(List.of("drop:0.1", "duplicate:0.1", "delay:0.2:100"), 4, 3)));
    assertEquals(reference, s.weightsSha256());
    assertTrue((Long) s.faults().get("injected") > 10, s.faults().toString());
    assertTrue((Long) s.faults().get("duplicates_rejected") >= 1, s.faults().toString());
    // A lost frame costs a retransmission, not a new generation: one to start, and a few spare
    // for delays that outlast a deadline (a step left waiting for a chunk formed one a step).
    assertTrue((Long) s.faults().get("generations") <= 5, s.faults().toString());
  }

  @Test
  void shippedDataGivesTheSameBytes() throws IOException {
    MatrixKernel kernel = Kernels.select("native");
    String reference = reference("ship-reference");
    Map<String, Object> f = flags("shipped");
    RunSummary s = LocalCluster.run(Fixtures.settings(f), f.keySet(), kernel, new TrainingListener() {},
        LocalCluster.Options.of(2).withShippedData());
    assertEquals(reference, s.weightsSha256());
  }

  @Test
  void aPartitionedWorkerChangesNothing() throws IOException {
    MatrixKernel kernel = Kernels.select("native");
    String reference = reference("partition-reference");
    Map<String, Object> f = flags("partitioned");
    RunSummary s = LocalCluster.run(Fixtures.settings(f), f.keySet(), kernel, new TrainingListener() {},
        LocalCluster.Options.of(3).withStepTimeout(Duration.ofSeconds(2))
            .withFaults(FaultPlan.parse(List.of("partition:0@5:4000"), 3, 0)));
    assertEquals(reference, s.weightsSha256());
    assertEquals(1L, s.faults().get("injected"));
    assertTrue((Long) s.faults().get("shards_reassigned") >= 3, s.faults().toString());
  }

  /**
   * Model selection is part of the result: the validation split, the validation losses, the
   * best model and the step early stopping ends at are the same for any worker count.
   */
  @Test
  void validationBestModelAndEarlyStoppingDoNotDependOnTheWorkers() throws IOException {
    MatrixKernel kernel = Kernels.select("native");
    List<String> common = List.of("layers", "16", "batch-size", "200", "validation-fraction", "0.2",
        "early-stopping", "1", "optimizer", "sgd", "lr", "0.5", "epochs", "12");
    Map<String, Object> local = Fixtures.flags(data, dir.resolve("select-local"), common.toArray(String[]::new));
    RunSummary one = LocalTraining.run(Fixtures.settings(local), local.keySet(), kernel, new TrainingListener() {});
    assertEquals(Boolean.TRUE, one.validation().get("stopped_early"), one.validation().toString());
    assertTrue(one.steps() < 12 * 20, "stopped before the last epoch: " + one.steps());
    Map<String, Object> f = Fixtures.flags(data, dir.resolve("select-3"), common.toArray(String[]::new));
    RunSummary three = LocalCluster.run(Fixtures.settings(f), f.keySet(), kernel, new TrainingListener() {},
        LocalCluster.Options.of(3));
    assertEquals(one.weightsSha256(), three.weightsSha256());
    assertEquals(one.steps(), three.steps());
    assertEquals(one.validation(), three.validation());
    assertEquals(best(dir.resolve("select-local")), best(dir.resolve("select-3")), "best.pb holds the same weights");
    assertTrue(java.nio.file.Files.readString(dir.resolve("select-3").resolve("metrics.jsonl"))
        .contains("\"validation_loss\""), "validation metrics are recorded");
  }

  private static String best(Path run) {
    return io.syncgrad.common.checkpoint.CheckpointStore.read(run.resolve("best.pb")).params().sha256Hex();
  }

  /** The run's summary names {@code worker}, and no other, as quarantined at {@code step}. */
  private static void assertQuarantinedOnly(RunSummary s, String worker, long step) {
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> quarantined = (List<Map<String, Object>>) s.distributed().get("quarantined");
    assertEquals(1, quarantined.size(), quarantined.toString());
    assertEquals(worker, quarantined.get(0).get("worker"));
    assertEquals(step, ((Number) quarantined.get(0).get("step")).longValue());
  }
}
