package io.syncgrad.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.Address;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.MemberStatus;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import com.google.protobuf.ByteString;
import io.syncgrad.common.math.Kernels;
import io.syncgrad.common.math.MatrixKernel;
import io.syncgrad.common.protocol.CoordinatorProtocol;
import io.syncgrad.common.protocol.DataSpec;
import io.syncgrad.common.protocol.WorkerProtocol;
import io.syncgrad.common.testing.Fixtures;
import io.syncgrad.common.train.RunSummary;
import io.syncgrad.common.train.TrainingListener;
import io.syncgrad.common.train.TrainingRun;
import io.syncgrad.common.transport.LinkFaults;
import io.syncgrad.common.transport.LinkProof;
import io.syncgrad.common.transport.TensorLink;
import io.syncgrad.common.transport.TensorLinkSettings;
import io.syncgrad.coordinator.CoordinatorSettings;
import io.syncgrad.deploy.cluster.LocalCluster;
import io.syncgrad.deploy.cluster.NodeConfig;
import io.syncgrad.deploy.cluster.Nodes;
import io.syncgrad.deploy.tls.NodeTls;
import io.syncgrad.deploy.tls.RunCredentials;
import io.syncgrad.proto.LinkFrameProto;
import io.syncgrad.proto.LinkHelloProto;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The attacker on 127.0.0.1, against real nodes: a process without the run's credentials cannot
 * join a {@code train --workers} or a {@code launch} cluster (Artery's TLS handshake refuses it)
 * nor open any of its links (refused at the greeting); a registered worker cannot open another
 * worker's link with its own key, nor speak for another worker; a node posing as a second
 * coordinator gets nothing from a worker.
 */
class AuthIT {

  private static final Duration WAIT = Duration.ofSeconds(60);

  @TempDir
  Path dir;

  /** Thrown by the test's listener to end a run once the attacks are over. */
  private static final class Enough extends RuntimeException {
    Enough() {
      super("the test is done with this run");
    }
  }

  private Map<String, Object> flags(String out) throws Exception {
    Path data = Files.isDirectory(dir.resolve("sample")) ? dir.resolve("sample")
        : Fixtures.sampleFolder(dir.resolve("sample"));
    return Fixtures.flags(data, dir.resolve(out), "layers", "16", "shards", "8", "epochs", "1000",
        "max-steps", "1000000", "kernel", "native");
  }

  @Test
  void aStrangerCannotJoinATrainWorkersClusterNorOpenItsLinks() throws Exception {
    Map<String, Object> f = flags("train");
    CountDownLatch training = new CountDownLatch(1);
    AtomicBoolean done = new AtomicBoolean();
    TrainingListener listener = new TrainingListener() {
      @Override
      public void stepped(long step, long epoch, double loss, double learningRate, double samplesPerSecond) {
        training.countDown();
        if (done.get()) {
          throw new Enough();
        }
      }
    };
    Set<Integer> before = Strangers.listeningPorts(List.of(ProcessHandle.current().pid()));
    io.syncgrad.common.metrics.Telemetry telemetry = new io.syncgrad.common.metrics.Telemetry(
        io.syncgrad.common.metrics.Telemetry.Role.COORDINATOR);
    CompletableFuture<RunSummary> run = CompletableFuture.supplyAsync(() -> {
      try {
        return LocalCluster.run(Fixtures.settings(f), f.keySet(), Kernels.select("native"), listener,
            LocalCluster.Options.of(2), telemetry);
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    try {
      assertTrue(training.await(WAIT.toSeconds(), TimeUnit.SECONDS), "the run trains");
      Set<Integer> ports = Strangers.listeningPorts(List.of(ProcessHandle.current().pid()));
      ports.removeAll(before);
      // Three nodes' Artery ports, the coordinator's link port, two workers' peer link ports.
      assertTrue(ports.size() >= 6, "the run's ports: " + ports);
      Strangers.cannotJoin(ports, null, strangerWithItsOwnAuthority());
      // The stranger even knows the run's id and its workers' names.
      assertEquals(3, Strangers.cannotOpenLinks(ports, runId(telemetry), "worker-00", "worker-01"),
          "the coordinator's link port and both peer link ports challenge, then refuse");
    } finally {
      done.set(true);
    }
    // The run ends because the test stopped it, and only so.
    ExecutionException ended = assertThrows(ExecutionException.class, () -> run.get(WAIT.toSeconds(),
        TimeUnit.SECONDS));
    StringBuilder chain = new StringBuilder();
    for (Throwable t = ended; t != null; t = t.getCause()) {
      chain.append(t).append(" <- ");
    }
    assertTrue(chain.toString().contains("the test is done") || chain.toString().contains("coordinator stopped"),
        chain.toString());
  }

  @Test
  void aStrangerCannotJoinALaunchClusterNorOpenItsLinksAndTheRunsCredentialsArePrivateAndGoneAfterwards()
      throws Exception {
    Map<String, Object> f = flags("launch");
    Path jar = Path.of("target", "syncgrad.jar").toAbsolutePath();
    assertTrue(Files.isRegularFile(jar), "the shaded jar is built before the integration tests: " + jar);
    List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-jar",
        jar.toString(), "launch", "--workers", "2", "--plain"));
    f.forEach((k, v) -> command.addAll(List.of("--" + k, String.valueOf(v))));
    Path log = dir.resolve("launch.log");
    Process launch = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      long until = System.nanoTime() + WAIT.toNanos();
      while (!Files.readString(log).contains("step ") && launch.isAlive() && System.nanoTime() < until) {
        Thread.sleep(100);
      }
      assertTrue(launch.isAlive(), Files.readString(log));
      List<ProcessHandle> nodes = launch.descendants().toList();
      assertEquals(3, nodes.size(), "a coordinator and two workers");
      Set<Integer> ports = Strangers.listeningPorts(nodes.stream().map(ProcessHandle::pid).toList());
      assertTrue(ports.size() >= 6, "the run's ports: " + ports);
      Strangers.cannotJoin(ports, null, strangerWithItsOwnAuthority());
      java.util.regex.Matcher id = java.util.regex.Pattern.compile("Coordinator of run \\[([^\\]]+)\\]")
          .matcher(Files.readString(dir.resolve("launch").resolve("logs").resolve("coordinator.log")));
      assertTrue(id.find(), "the coordinator's log names the run");
      assertEquals(3, Strangers.cannotOpenLinks(ports, id.group(1), "worker-00", "worker-01"));
      Path stores = null;
      for (ProcessHandle n : nodes) {
        List<String> args = List.of(n.info().arguments().orElseThrow());
        assertFalse(String.join(" ", args).contains("PASSWORD"), "no password on a command line: " + args);
        assertTrue(args.contains("--tls-keystore"), "each node gets its stores: " + args);
        stores = Path.of(args.get(args.indexOf("--tls-keystore") + 1)).getParent();
      }
      assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(stores.getParent())));
      try (var files = Files.list(stores)) {
        for (Path p : files.toList()) {
          assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(p)), p.toString());
        }
      }
      launch.destroy();
      assertTrue(launch.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS));
      assertFalse(Files.exists(stores.getParent()), "the run's credentials are deleted when launch ends");
    } finally {
      launch.descendants().forEach(ProcessHandle::destroyForcibly);
      launch.destroyForcibly();
    }
  }

  /** The run's id, as the coordinator's metrics label it. */
  private static String runId(io.syncgrad.common.metrics.Telemetry telemetry) {
    for (var snapshot : telemetry.registry().scrape()) {
      for (var point : snapshot.getDataPoints()) {
        String id = point.getLabels().get("run_id");
        if (id != null) {
          return id;
        }
      }
    }
    throw new AssertionError("no run_id in the coordinator's metrics");
  }

  /** TLS stores of another authority than the run's, for a stranger that speaks TLS. */
  private NodeTls strangerWithItsOwnAuthority() throws Exception {
    return io.syncgrad.deploy.tls.NodeStores.write(dir.resolve("stranger-" + System.nanoTime()), List.of("stranger"),
        Duration.ofDays(1), false).get("stranger");
  }

  /**
   * Two workers registered with a coordinator, each with the key of its own StartRun: one's key
   * opens its own link, and none that claims the other worker.
   */
  @Test
  void aRegisteredWorkerCannotOpenAnotherWorkersLinkWithItsOwnKey() throws Exception {
    MatrixKernel kernel = Kernels.select("native");
    List<ActorSystem<?>> systems = new ArrayList<>();
    try (RunCredentials credentials = RunCredentials.create(List.of("coordinator", "victim", "evil"))) {
      CompletableFuture<RunSummary> result = new CompletableFuture<>();
      var settings = Fixtures.settings(flags("keys"));
      TrainingRun run = TrainingRun.prepare(settings, flags("keys").keySet(), kernel, new TrainingListener() {});
      Address seed = coordinatorNode(run, DataSpec.of(settings), 3, credentials, result, systems);
      WorkerProtocol.StartRun victim = register("victim", seed, credentials, kernel, systems);
      WorkerProtocol.StartRun evil = register("evil", seed, credentials, kernel, systems);
      TensorLinkSettings client = TensorLinkSettings.fromConfig(NodeConfig.of("127.0.0.1", 0, List.of(), "worker",
          credentials.of("evil")));

      assertNull(firstFrame(client, evil.tensorLink(), evil.runId(), "victim", evil.linkToken()),
          "evil's key opens no link of victim's");
      assertNotNull(firstFrame(client, evil.tensorLink(), evil.runId(), "evil", evil.linkToken()),
          "evil's key opens its own link: the state to start from comes");
      assertNotNull(firstFrame(client, victim.tensorLink(), victim.runId(), "victim", victim.linkToken()),
          "victim's key opens victim's link");
      assertFalse(victim.linkToken().equals(evil.linkToken()), "each worker its own key");
    } finally {
      stopAll(systems);
    }
  }

  /**
   * A registered worker, with the run's certificate and its own key, sends the coordinator a
   * failure and a divergence in another worker's name: both are refused on arrival (their seals
   * are not that worker's), and the run ends only when the sender fails in its own name.
   * Artery keeps one sender's order, so the forged messages arrived first: had either been
   * taken, the run would have ended with its reason.
   */
  @Test
  void aRegisteredWorkerCannotSpeakForAnotherWorker() throws Exception {
    MatrixKernel kernel = Kernels.select("native");
    List<ActorSystem<?>> systems = new ArrayList<>();
    try (RunCredentials credentials = RunCredentials.create(List.of("coordinator", "victim", "evil"))) {
      CompletableFuture<RunSummary> result = new CompletableFuture<>();
      var settings = Fixtures.settings(flags("forged"));
      TrainingRun run = TrainingRun.prepare(settings, flags("forged").keySet(), kernel, new TrainingListener() {});
      Address seed = coordinatorNode(run, DataSpec.of(settings), 3, credentials, result, systems);
      register("victim", seed, credentials, kernel, systems);
      WorkerProtocol.StartRun evil = register("evil", seed, credentials, kernel, systems);
      // The evil node holds its own key, as a worker does once its run starts.
      io.syncgrad.common.protocol.MessageSeals.get(systems.get(systems.size() - 1)).hold("evil",
          HexFormat.of().parseHex(evil.linkToken()));

      evil.coordinator().tell(new CoordinatorProtocol.WorkerFailed(evil.runId(), "victim", "forged failure"));
      evil.coordinator().tell(new CoordinatorProtocol.StepReport(evil.runId(), 0, 1, "victim", Double.NaN, 0,
          Double.NaN, 0, 0, 0, 0, 0, 0, 0, 0, List.of(), "forged divergence", "victim"));
      evil.coordinator().tell(new CoordinatorProtocol.WorkerReady(evil.runId(), "victim", 0));
      evil.coordinator().tell(new CoordinatorProtocol.WorkerFailed(evil.runId(), "evil", "evil's own failure"));

      ExecutionException e = assertThrows(ExecutionException.class, () -> result.get(WAIT.toSeconds(),
          TimeUnit.SECONDS));
      assertEquals("evil's own failure", e.getCause().getMessage());
    } finally {
      stopAll(systems);
    }
  }

  /**
   * A node of the cluster, with a certificate of the run, poses as a second coordinator: it
   * lists itself as one and sends a real worker, already in the real run, a StartRun of its own
   * (its link endpoint, a data path of its choosing). The worker registers with one coordinator
   * only, takes runs from that one only, and the fake gets nothing: no message, no link.
   */
  @Test
  void aFakeCoordinatorGetsNothingFromAWorker() throws Exception {
    MatrixKernel kernel = Kernels.select("native");
    List<ActorSystem<?>> systems = new ArrayList<>();
    java.util.concurrent.atomic.AtomicInteger hellos = new java.util.concurrent.atomic.AtomicInteger();
    try (RunCredentials credentials = RunCredentials.create(List.of("coordinator", "worker-00", "fake"));
        io.syncgrad.common.transport.TensorLinkServer fakeLinks = io.syncgrad.common.transport.TensorLinkServer.open(
            TensorLinkSettings.fromConfig(NodeConfig.of("127.0.0.1", 0, List.of(), "worker")),
            (h, l) -> hellos.incrementAndGet())) {
      BlockingQueue<Object> toFake = new LinkedBlockingQueue<>();
      CountDownLatch training = new CountDownLatch(1);
      Map<String, Object> f = flags("fake");
      var settings = Fixtures.settings(f);
      TrainingRun run = TrainingRun.prepare(settings, f.keySet(), kernel, new TrainingListener() {
        @Override
        public void stepped(long step, long epoch, double loss, double learningRate, double samplesPerSecond) {
          training.countDown();
        }
      });
      CompletableFuture<RunSummary> result = new CompletableFuture<>();
      Address seed = coordinatorNode(run, DataSpec.of(settings), 1, credentials, result, systems);
      ActorSystem<Void> worker = Nodes.worker("worker-00", kernel, NodeConfig.of("127.0.0.1", 0,
          List.of(seed.host().get() + ":" + seed.port().get()), "worker", credentials.of("worker-00"))
          .withValue(io.syncgrad.worker.DataRoots.KEY, com.typesafe.config.ConfigValueFactory.fromIterable(
              List.of(dir.toString()))));
      systems.add(worker);
      assertTrue(training.await(WAIT.toSeconds(), TimeUnit.SECONDS), "the real run trains");

      ActorSystem<CoordinatorProtocol.Command> fake = ActorSystem.create(Behaviors.receive(
          CoordinatorProtocol.Command.class).onAnyMessage(m -> {
            toFake.add(m);
            return Behaviors.same();
          }).build(), NodeConfig.SYSTEM, NodeConfig.of("127.0.0.1", 0, List.of(), "worker", credentials.of("fake")));
      systems.add(fake);
      Cluster.get(fake).manager().tell(Join.create(seed));
      long until = System.nanoTime() + WAIT.toNanos();
      while (Cluster.get(fake).selfMember().status() != MemberStatus.up() && System.nanoTime() < until) {
        Thread.sleep(20);
      }
      fake.receptionist().tell(akka.actor.typed.receptionist.Receptionist.register(
          CoordinatorProtocol.SERVICE_KEY, fake));
      ActorRef<WorkerProtocol.Command> target = akka.actor.typed.ActorRefResolver.get(fake).resolveActorRef(
          Cluster.get(worker).selfMember().address() + "/user/worker");
      target.tell(new WorkerProtocol.StartRun("fake-run", run.state().model(), run.state().config(),
          run.state().normalization(), new DataSpec("/proc/self/environ", null, 0, 0, "0", 1), fake, "",
          fakeLinks.endpoint(), "00".repeat(32), 10, LinkFaults.NONE, 4, 0));

      Object heard = toFake.poll(5, TimeUnit.SECONDS);
      assertNull(heard, "the fake coordinator heard from the worker: " + heard);
      assertEquals(0, hellos.get(), "the worker opened a link to the fake coordinator");
      assertTrue(Cluster.get(worker).selfMember().status() == MemberStatus.up(), "the worker is still in its run");
      assertFalse(result.isDone(), "the real run goes on");
    } finally {
      stopAll(systems);
    }
  }

  /** Starts a coordinator of {@code run} for {@code workers} workers on a node of its own: its address, the seed. */
  private static Address coordinatorNode(TrainingRun run, DataSpec data, int workers, RunCredentials credentials,
      CompletableFuture<RunSummary> result, List<ActorSystem<?>> systems) {
    ActorSystem<Void> coordinator = Nodes.coordinator(run, new CoordinatorSettings(workers, data, false, null, LinkFaults.NONE, List.of(), false, List.of(), 1,
        Duration.ofMinutes(2), Duration.ofMinutes(2)), result,
        NodeConfig.of("127.0.0.1", 0, List.of(), "coordinator", credentials.of("coordinator")));
    systems.add(coordinator);
    Address seed = Cluster.get(coordinator).selfMember().address();
    Cluster.get(coordinator).manager().tell(Join.create(seed));
    return seed;
  }

  /** Ends every node, the last started first, each within the bounded shutdown nodes have. */
  private static void stopAll(List<ActorSystem<?>> systems) {
    for (int i = systems.size() - 1; i >= 0; i--) {
      systems.get(i).terminate();
      io.syncgrad.deploy.cluster.Nodes.awaitTermination(systems.get(i));
    }
  }

  /** A node that registers as worker {@code id} and hands over the StartRun it is sent. */
  private static WorkerProtocol.StartRun register(String id, Address seed, RunCredentials credentials,
      MatrixKernel kernel, List<ActorSystem<?>> systems) throws Exception {
    BlockingQueue<WorkerProtocol.StartRun> starts = new LinkedBlockingQueue<>();
    ActorSystem<WorkerProtocol.Command> w = ActorSystem.create(Behaviors.receive(WorkerProtocol.Command.class)
        .onMessage(WorkerProtocol.StartRun.class, m -> {
          starts.add(m);
          return Behaviors.same();
        }).onAnyMessage(m -> Behaviors.same()).build(), NodeConfig.SYSTEM,
        NodeConfig.of("127.0.0.1", 0, List.of(), "worker", credentials.of(id)));
    systems.add(w);
    Cluster.get(w).manager().tell(Join.create(seed));
    long until = System.nanoTime() + WAIT.toNanos();
    while (Cluster.get(w).selfMember().status() != MemberStatus.up() && System.nanoTime() < until) {
      Thread.sleep(20);
    }
    ActorRef<CoordinatorProtocol.Command> c = akka.actor.typed.ActorRefResolver.get(w).resolveActorRef(
        seed + "/user/coordinator");
    c.tell(new CoordinatorProtocol.RegisterWorker(id, w, kernel.identity(), ""));
    WorkerProtocol.StartRun start = starts.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertNotNull(start, id + " is registered and sent its run");
    return start;
  }

  /**
   * Opens a link claiming {@code worker} and proving {@code keyHex} over the link's challenge:
   * the first frame the coordinator sends on it, or null when it closes the link instead.
   */
  private static LinkFrameProto firstFrame(TensorLinkSettings client, String endpoint, String runId, String worker,
      String keyHex) throws Exception {
    byte[] key = HexFormat.of().parseHex(keyHex);
    TensorLink link = TensorLink.connect(endpoint, client, (ByteString challenge) -> LinkProof.hello(key, challenge,
        LinkHelloProto.newBuilder().setRunId(runId).setWorkerId(worker)));
    BlockingQueue<Object> events = new LinkedBlockingQueue<>();
    link.start(events::add, events::add);
    Object first = events.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertNotNull(first, "the coordinator neither sent a frame nor closed the link");
    link.close();
    return first instanceof LinkFrameProto frame ? frame : null;
  }
}
