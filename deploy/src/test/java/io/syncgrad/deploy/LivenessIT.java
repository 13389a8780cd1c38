package io.syncgrad.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.Address;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorRefResolver;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Adapter;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.MemberStatus;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import com.typesafe.config.ConfigValueFactory;
import io.syncgrad.common.error.ClusterUnavailableException;
import io.syncgrad.common.math.Kernels;
import io.syncgrad.common.math.MatrixKernel;
import io.syncgrad.common.protocol.CoordinatorProtocol;
import io.syncgrad.common.protocol.DataSpec;
import io.syncgrad.common.protocol.WorkerProtocol;
import io.syncgrad.common.testing.Fixtures;
import io.syncgrad.common.train.LocalTraining;
import io.syncgrad.common.train.RunSummary;
import io.syncgrad.common.train.TrainingListener;
import io.syncgrad.common.train.TrainingRun;
import io.syncgrad.coordinator.CoordinatorSettings;
import io.syncgrad.common.transport.LinkFaults;
import io.syncgrad.deploy.cluster.NodeConfig;
import io.syncgrad.deploy.cluster.Nodes;
import io.syncgrad.worker.DataRoots;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The start of a run and the end of a coordinator are bounded, on real nodes on 127.0.0.1: a
 * worker that registers and never gets ready, or one lost before the first step, does not hold
 * the start; a PoisonPill from another node stops nothing; a coordinator whose node stops
 * completes its result instead of leaving its process waiting.
 */
class LivenessIT {

  private static final int STEPS = 30;

  @TempDir
  Path dir;
  Path data;
  MatrixKernel kernel;
  final List<ActorSystem<?>> systems = java.util.Collections.synchronizedList(new ArrayList<>());
  ActorSystem<Void> coordinatorNode;

  @BeforeEach
  void sample() throws Exception {
    data = Fixtures.sampleFolder(dir.resolve("sample"));
    kernel = Kernels.select("native");
  }

  @AfterEach
  void stop() throws Exception {
    List<ActorSystem<?>> all = new ArrayList<>(systems);
    for (int i = all.size() - 1; i >= 0; i--) {
      all.get(i).terminate();
      all.get(i).getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  private Map<String, Object> flags(String out) {
    return Fixtures.flags(data, dir.resolve(out), "layers", "16", "shards", "8", "max-steps", String.valueOf(STEPS));
  }

  /** A coordinator node for 3 workers with this join timeout, its run's result in {@code result}. */
  private Address coordinator(String out, Duration joinTimeout, CompletableFuture<RunSummary> result)
      throws Exception {
    Map<String, Object> f = flags(out);
    var settings = Fixtures.settings(f);
    TrainingRun run = TrainingRun.prepare(settings, f.keySet(), kernel, new TrainingListener() {});
    ActorSystem<Void> node = Nodes.coordinator(run, new CoordinatorSettings(3, DataSpec.of(settings), false, null,
        LinkFaults.NONE, List.of(), false, List.of(), 1, Duration.ofMinutes(2), joinTimeout), result,
        NodeConfig.of("127.0.0.1", 0, List.of(), "coordinator"));
    systems.add(node);
    coordinatorNode = node;
    Address address = Cluster.get(node).selfMember().address();
    Cluster.get(node).manager().tell(Join.create(address));
    return address;
  }

  /** A worker node that reads the run's data where it is, as {@code syncgrad worker --data-root} does. */
  private void worker(String id, Address seed) {
    ActorSystem<Void> w = Nodes.worker(id, kernel, DataRoots.configure(NodeConfig.of("127.0.0.1", 0, List.of(),
        "worker"), List.of(data)).withValue("akka.coordinated-shutdown.run-by-actor-system-terminate",
        ConfigValueFactory.fromAnyRef(false)));
    systems.add(w);
    Cluster.get(w).manager().tell(Join.create(seed));
  }

  /** A node that registers as a worker and then does nothing at all. */
  private ActorSystem<WorkerProtocol.Command> silentWorker(String id, Address seed) throws Exception {
    ActorSystem<WorkerProtocol.Command> w = ActorSystem.create(Behaviors.receive(WorkerProtocol.Command.class)
        .onAnyMessage(m -> Behaviors.same()).build(), NodeConfig.SYSTEM,
        NodeConfig.of("127.0.0.1", 0, List.of(), "worker"));
    systems.add(w);
    Cluster.get(w).manager().tell(Join.create(seed));
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (Cluster.get(w).selfMember().status() != MemberStatus.up() && System.nanoTime() < until) {
      Thread.sleep(20);
    }
    ActorRef<CoordinatorProtocol.Command> c = ActorRefResolver.get(w).resolveActorRef(
        seed + "/user/coordinator");
    c.tell(new CoordinatorProtocol.RegisterWorker(id, w, kernel.identity(), ""));
    return w;
  }

  private String reference() throws Exception {
    Map<String, Object> f = flags("local");
    return LocalTraining.run(Fixtures.settings(f), f.keySet(), kernel, new TrainingListener() {}).weightsSha256();
  }

  @Test
  void aWorkerThatRegistersAndNeverGetsReadyNorAPoisonPillFromItsNodeHoldsOrStopsTheRun() throws Exception {
    CompletableFuture<RunSummary> result = new CompletableFuture<>();
    Address seed = coordinator("silent", Duration.ofSeconds(3), result);
    ActorSystem<WorkerProtocol.Command> silent = silentWorker("worker-silent", seed);
    // What stopped a coordinator from another node: a PoisonPill by path and to its reference.
    akka.actor.ActorSystem classic = Adapter.toClassic(silent);
    classic.actorSelection(seed + "/user/coordinator").tell(akka.actor.PoisonPill.getInstance(),
        akka.actor.ActorRef.noSender());
    Adapter.toClassic(ActorRefResolver.get(silent).<CoordinatorProtocol.Command>resolveActorRef(
        seed + "/user/coordinator")).tell(akka.actor.PoisonPill.getInstance(), akka.actor.ActorRef.noSender());
    worker("worker-00", seed);
    worker("worker-01", seed);
    RunSummary s = result.get(60, TimeUnit.SECONDS);
    assertEquals(reference(), s.weightsSha256(), "the one-node bytes, with the two workers that came");
    assertTrue(s.distributed().get("shard_assignment").toString().contains("worker-00")
        && !s.distributed().get("shard_assignment").toString().contains("worker-silent"), s.distributed().toString());
  }

  @Test
  void aWorkerLostBeforeTheFirstStepDoesNotHoldTheStart() throws Exception {
    CompletableFuture<RunSummary> result = new CompletableFuture<>();
    // A join timeout far beyond the test's: only the loss may start the run early.
    Address seed = coordinator("lost", Duration.ofMinutes(10), result);
    ActorSystem<WorkerProtocol.Command> doomed = silentWorker("worker-doomed", seed);
    worker("worker-00", seed);
    worker("worker-01", seed);
    Thread.sleep(500);
    doomed.terminate();
    RunSummary s = result.get(90, TimeUnit.SECONDS);
    assertEquals(reference(), s.weightsSha256());
  }

  @Test
  void aCoordinatorWhoseNodeStopsCompletesItsResult() throws Exception {
    CompletableFuture<RunSummary> result = new CompletableFuture<>();
    coordinator("stopped", Duration.ofMinutes(10), result);
    coordinatorNode.terminate();
    ExecutionException e = assertThrows(ExecutionException.class, () -> result.get(30, TimeUnit.SECONDS));
    assertInstanceOf(ClusterUnavailableException.class, e.getCause());
    assertTrue(e.getCause().getMessage().contains("the coordinator stopped"), e.getCause().getMessage());
  }
}
