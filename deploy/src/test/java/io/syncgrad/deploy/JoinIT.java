package io.syncgrad.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.Address;
import akka.actor.typed.ActorSystem;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import com.typesafe.config.ConfigValueFactory;
import io.syncgrad.common.math.Kernels;
import io.syncgrad.common.math.MatrixKernel;
import io.syncgrad.common.protocol.DataSpec;
import io.syncgrad.common.testing.Fixtures;
import io.syncgrad.common.train.LocalTraining;
import io.syncgrad.common.train.RunSummary;
import io.syncgrad.common.train.TrainingListener;
import io.syncgrad.common.train.TrainingRun;
import io.syncgrad.coordinator.CoordinatorSettings;
import io.syncgrad.deploy.cluster.NodeConfig;
import io.syncgrad.deploy.cluster.Nodes;
import io.syncgrad.worker.DataRoots;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker that joins a run under way: it is taken in with the next generation, receives the
 * weights and optimiser state from a peer, and the run ends with the one-node trainer's bytes.
 */
class JoinIT {

  private static final int STEPS = 1500;
  private static final long JOIN_AFTER_STEP = 5;
  private static final long SLOW_UNTIL_STEP = 400;
  private static final long SLOW_STEP_MS = 25;

  @TempDir
  Path dir;

  @Test
  void aWorkerJoiningMidRunGetsTheStateFromAPeerAndChangesNothing() throws Exception {
    Path data = Fixtures.sampleFolder(dir.resolve("sample"));
    MatrixKernel kernel = Kernels.select("native");
    Map<String, Object> local = Fixtures.flags(data, dir.resolve("local"), "layers", "32", "shards", "8",
        "max-steps", String.valueOf(STEPS));
    String reference = LocalTraining.run(Fixtures.settings(local), local.keySet(), kernel,
        new TrainingListener() {}).weightsSha256();

    Map<String, Object> f = Fixtures.flags(data, dir.resolve("joined"), "layers", "32", "shards", "8",
        "max-steps", String.valueOf(STEPS));
    List<ActorSystem<Void>> systems = java.util.Collections.synchronizedList(new ArrayList<>());
    CompletableFuture<Address> seed = new CompletableFuture<>();
    AtomicBoolean joined = new AtomicBoolean();
    TrainingListener joinAt = new TrainingListener() {
      @Override
      public void stepped(long step, long epoch, double loss, double learningRate, double samplesPerSecond) {
        if (step > JOIN_AFTER_STEP && step <= SLOW_UNTIL_STEP) {
          // The record goes slowly for a while (the workers wait for credit), so that the new
          // node has the time to load the data and register however busy the machine is.
          try {
            Thread.sleep(SLOW_STEP_MS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        if (step == JOIN_AFTER_STEP && joined.compareAndSet(false, true)) {
          // Held here (on the coordinator's thread) until the new node is a member, so that it
          // joins while the run is under way, not after it.
          ActorSystem<Void> late = worker("worker-late", kernel, seed.join(), data);
          systems.add(late);
          long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
          while (Cluster.get(late).selfMember().status() != akka.cluster.MemberStatus.up()
              && System.nanoTime() < until) {
            try {
              Thread.sleep(10);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
              return;
            }
          }
        }
      }
    };
    io.syncgrad.common.config.TrainSettings settings = Fixtures.settings(f);
    try (TrainingRun run = TrainingRun.prepare(settings, f.keySet(), kernel, joinAt)) {
      CompletableFuture<RunSummary> result = new CompletableFuture<>();
      DataSpec spec = DataSpec.of(settings);
      ActorSystem<Void> coordinator = Nodes.coordinator(run, new CoordinatorSettings(2, spec, false,
          Duration.ofSeconds(2)), result, NodeConfig.of("127.0.0.1", 0, List.of(), "coordinator"));
      systems.add(coordinator);
      Address address = Cluster.get(coordinator).selfMember().address();
      Cluster.get(coordinator).manager().tell(Join.create(address));
      seed.complete(address);
      systems.add(worker("worker-00", kernel, address, data));
      systems.add(worker("worker-01", kernel, address, data));
      RunSummary s = result.get(240, TimeUnit.SECONDS);
      assertTrue(joined.get(), "the third worker was started");
      assertEquals(reference, s.weightsSha256(), "the one-node bytes");
      assertEquals(3, s.workers(), "the joiner took part");
      assertTrue((Long) s.faults().get("generations") >= 2, s.faults().toString());
      assertTrue(s.distributed().get("shard_assignment").toString().contains("worker-late"),
          s.distributed().toString());
    } finally {
      List<ActorSystem<Void>> all = new ArrayList<>(systems);
      for (int i = all.size() - 1; i >= 0; i--) {
        all.get(i).terminate();
        all.get(i).getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
      }
    }
  }

  /** A worker node that reads its data under {@code dataRoot}, as {@code syncgrad worker --data-root} does. */
  private static ActorSystem<Void> worker(String id, MatrixKernel kernel, Address seed, Path dataRoot) {
    ActorSystem<Void> w = Nodes.worker(id, kernel, DataRoots.configure(NodeConfig.of("127.0.0.1", 0, List.of(),
        "worker"), List.of(dataRoot)).withValue("akka.coordinated-shutdown.run-by-actor-system-terminate",
        ConfigValueFactory.fromAnyRef(false)));
    Cluster.get(w).manager().tell(Join.create(seed));
    return w;
  }
}
