package io.syncgrad.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import io.syncgrad.common.checkpoint.StateParts;
import io.syncgrad.common.data.Dataset;
import io.syncgrad.common.data.Normalization;
import io.syncgrad.common.math.EjmlKernel;
import io.syncgrad.common.model.Activation;
import io.syncgrad.common.model.Initializer;
import io.syncgrad.common.model.LossFunction;
import io.syncgrad.common.model.ModelSpec;
import io.syncgrad.common.model.OutputActivation;
import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.optim.Optimizer;
import io.syncgrad.common.protocol.CoordinatorProtocol.StepReport;
import io.syncgrad.common.protocol.CoordinatorProtocol;
import io.syncgrad.common.protocol.DataSpec;
import io.syncgrad.common.protocol.WorkerProtocol;
import io.syncgrad.common.run.TrainingConfig;
import io.syncgrad.common.run.TrainingState;
import io.syncgrad.common.testing.Fixtures;
import io.syncgrad.common.train.ShardComputer;
import io.syncgrad.common.train.StepAggregator;
import io.syncgrad.common.transport.LinkFaults;
import io.syncgrad.common.transport.LinkProof;
import io.syncgrad.common.transport.TensorLink;
import io.syncgrad.common.transport.TensorLinkServer;
import io.syncgrad.common.transport.TensorLinkSettings;
import io.syncgrad.proto.LinkFrameProto;
import io.syncgrad.proto.LinkHelloProto;
import io.syncgrad.proto.StateProto;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The worker against a probe in the coordinator's place and a real link server. */
class WorkerTest {

  /** The one folder the workers of these tests read training data from. */
  private static final Path ROOT = tempFolder();
  /** A node's transport settings, which the links follow, without a cluster; its data root. */
  private static final Config NODE = ConfigFactory.parseString("akka.remote.artery {\n"
      + "canonical.hostname = 127.0.0.1\nbind.hostname = \"\"\ntransport = tcp\n"
      + "advanced.maximum-frame-size = 64MiB\n}").withValue(DataRoots.KEY,
          ConfigValueFactory.fromIterable(List.of(ROOT.toString()))).withFallback(ConfigFactory.load());
  private static final ActorTestKit testKit = ActorTestKit.create(NODE);
  private static final long SEED = 3;
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final ModelSpec MODEL = Fixtures.model(6, List.of(5), 3, Activation.TANH, OutputActivation.SOFTMAX,
      LossFunction.CROSS_ENTROPY, 0.2f);
  private static final Dataset DATA = Fixtures.randomData(64, 6, 3, SEED);
  private static final TrainingConfig CONFIG = withFingerprint(Fixtures.config(SEED, 16, 4, Optimizer.Kind.ADAM, 0.01,
      DATA.size()), DATA.fingerprint());
  private static final Normalization IDENTITY = Normalization.fit(Normalization.Kind.NONE, DATA);
  /** The data the tests' loaders hand out whatever the spec says: the spec names the default data. */
  private static final DataSpec SPEC = new DataSpec(null, null, 0, 0, "0", SEED);
  /** The worker's own link key, hex, as StartRun carries it. */
  private static final String TOKEN = "5ec2e7".repeat(8);

  @AfterAll
  static void shutdown() throws IOException {
    testKit.shutdownTestKit();
    try (var paths = Files.walk(ROOT)) {
      for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  private static Path tempFolder() {
    try {
      return Files.createTempDirectory("worker-test-root").toRealPath();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static TrainingConfig withFingerprint(TrainingConfig c, String fingerprint) {
    return new TrainingConfig(c.seed(), c.batchSize(), c.shards(), c.optimizer(), c.momentum(), c.beta1(), c.beta2(),
        c.epsilon(), c.l1(), c.l2(), c.clipNorm(), c.schedule(), c.init(), c.trainExamples(), fingerprint);
  }

  private static Dataset copy(Dataset d) {
    return new Dataset(d.source(), d.features().clone(), d.labels().clone(), d.size(), d.width(), false);
  }

  private static TrainingState initial(String runId) {
    Parameters params = Parameters.zeros(MODEL);
    Initializer.XAVIER.initialize(MODEL, SEED, params);
    return new TrainingState(runId, MODEL, IDENTITY, CONFIG, params, CONFIG.newOptimizer(params), 0, "test");
  }

  private record Accepted(LinkHelloProto hello, TensorLink link) {}

  /** The step reports in a message: one, or several at once. */
  private static List<StepReport> reports(CoordinatorProtocol.Command m) {
    if (m instanceof StepReport r) {
      return List.of(r);
    }
    return ((CoordinatorProtocol.StepReports) m).reports();
  }

  /**
   * Alone in its generation, the worker takes the coordinator's state, steps as far as its
   * credit and no further, reports each step, and sends its state at the snapshot step: the
   * bytes of the one-node trainer.
   */
  @Test
  void aloneItStepsToItsCreditReportsEachStepAndSendsItsSnapshot() throws Exception {
    TestProbe<CoordinatorProtocol.Command> coordinator = listedCoordinator();
    BlockingQueue<Accepted> accepted = new LinkedBlockingQueue<>();
    try (TensorLinkServer server = TensorLinkServer.open(TensorLinkSettings.fromConfig(NODE),
        (h, l) -> accepted.add(new Accepted(h, l)))) {
      ActorRef<WorkerProtocol.Command> worker = testKit.spawn(Worker.create("w1", EjmlKernel.INSTANCE,
          d -> copy(DATA)));
      CoordinatorProtocol.RegisterWorker reg = coordinator.expectMessageClass(CoordinatorProtocol.RegisterWorker.class,
          WAIT);
      assertEquals(List.of("w1", EjmlKernel.INSTANCE.identity()), List.of(reg.workerId(), reg.kernel()));
      assertTrue(reg.peerEndpoint().startsWith("127.0.0.1:"), "it announces its peer link server");

      worker.tell(new WorkerProtocol.StartRun("run-1", MODEL, CONFIG, IDENTITY, SPEC, coordinator.getRef(), "",
          server.endpoint(), TOKEN, 10, LinkFaults.NONE, 2, 0));
      Accepted link = accepted.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertNotNull(link, "the worker opens its link to the coordinator");
      assertEquals(List.of("run-1", "w1"), List.of(link.hello().getRunId(), link.hello().getWorkerId()));
      assertTrue(LinkProof.proves(link.hello(), java.util.HexFormat.of().parseHex(TOKEN), link.link().challenge()),
          "it proves its own key over the link's challenge");
      BlockingQueue<LinkFrameProto> fromWorker = new LinkedBlockingQueue<>();
      link.link().start(fromWorker::add, reason -> { });
      for (StateProto part : StateParts.split("run-1", 0, "", initial("run-1"))) {
        link.link().send(LinkFrameProto.newBuilder().setState(part).build());
      }
      coordinator.expectMessage(WAIT, new CoordinatorProtocol.WorkerReady("run-1", "w1", 0));

      worker.tell(new WorkerProtocol.Prepare("run-1", "w1", 1, 0));
      coordinator.expectMessage(WAIT, new CoordinatorProtocol.Prepared("run-1", 1, "w1", 0));
      worker.tell(new WorkerProtocol.Go("run-1", "w1", 1, List.of(new WorkerProtocol.Member("w1", reg.peerEndpoint(), 0, 4,
          0, new byte[0])), 0, "w1", 3, 3, false, List.of(), List.of()));
      List<StepReport> reports = new java.util.ArrayList<>();
      while (reports.size() < 3) {
        reports.addAll(reports(coordinator.receiveMessage(WAIT)));
      }
      for (int i = 0; i < 3; i++) {
        StepReport r = reports.get(i);
        assertEquals(List.of(1L, i + 1L, "w1", 16L, ""), List.of(r.generation(), r.step(), r.workerId(), r.samples(),
            r.diverged()));
      }
      assertEquals(3, reports.size());
      coordinator.expectNoMessage(Duration.ofMillis(300));

      TrainingState reference = initial("run-1");
      ShardComputer computer = new ShardComputer(MODEL, CONFIG, copy(DATA), EjmlKernel.INSTANCE);
      StepAggregator aggregator = new StepAggregator(CONFIG, reference.params());
      for (long step = 0; step < 3; step++) {
        computer.prepare(step);
        for (int s = 0; s < CONFIG.shards(); s++) {
          computer.compute(reference.params(), step, s);
        }
        aggregator.apply(step, computer, reference.params(), reference.optimizer());
      }
      LinkFrameProto snapshot = fromWorker.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertNotNull(snapshot, "the state of the snapshot step comes on the link");
      TrainingState got = new StateParts.Assembly(MODEL).offer(snapshot.getState());
      assertEquals(3, got.step());
      assertEquals(reference.params().sha256Hex(), got.params().sha256Hex(), "the one-node bytes");

      worker.tell(new WorkerProtocol.Credit("run-1", "w1", 1, 4, 10));
      assertEquals(4, reports(coordinator.receiveMessage(WAIT)).get(0).step());
      worker.tell(new WorkerProtocol.StopRun("run-1", "w1", "done"));
      TestProbe<Object> watcher = testKit.createTestProbe();
      watcher.expectTerminated(worker, WAIT);
      link.link().close();
    } finally {
      unlist(coordinator);
    }
  }

  /**
   * A peer link is kept only with the key its pair was given: a connection that claims a member
   * of the generation with a guessed key is closed, and its frames never reach the worker.
   */
  @Test
  void aPeerLinkWithoutThePairsKeyIsClosed() throws Exception {
    withReadyW9("run-2", (ready, coordinator) -> {
      ActorRef<WorkerProtocol.Command> worker = ready.worker();
      CoordinatorProtocol.RegisterWorker reg = ready.reg();
      Accepted link = ready.link();
      worker.tell(new WorkerProtocol.Prepare("run-2", "w9", 1, 0));
      coordinator.expectMessageClass(CoordinatorProtocol.Prepared.class, WAIT);
      byte[] key = new byte[16];
      key[0] = 42;
      // "w0" sorts first, so it would open the link to w9: here a stranger does, with a guessed key.
      worker.tell(new WorkerProtocol.Go("run-2", "w9", 1, List.of(
          new WorkerProtocol.Member("w0", "127.0.0.1:1", 0, 2, 0, key),
          new WorkerProtocol.Member("w9", reg.peerEndpoint(), 2, 4, 0, new byte[0])), 0, "w0", 3, 3, false,
          List.of(), List.of()));
      TensorLinkSettings client = TensorLinkSettings.fromConfig(NODE);
      LinkFrameProto forged = LinkFrameProto.newBuilder().setHello(LinkHelloProto.newBuilder().setRunId("run-2")
          .setWorkerId("w0").setToWorker("w9").setProof(com.google.protobuf.ByteString.copyFrom(new byte[32]))).build();
      TensorLink stranger = TensorLink.connect(reg.peerEndpoint(), client, forged);
      BlockingQueue<String> closed = new LinkedBlockingQueue<>();
      stranger.start(f -> { }, closed::add);
      assertNotNull(closed.poll(WAIT.toSeconds(), TimeUnit.SECONDS), "the worker closes a link with a wrong key");
      assertFalse(stranger.isOpen());
      coordinator.expectNoMessage(Duration.ofMillis(300));
      worker.tell(new WorkerProtocol.StopRun("run-2", "w9", "done"));
      link.link().close();
    });
  }

  /**
   * A worker registers with the first coordinator listed and takes a run from it only: a second
   * coordinator listed later is not registered with, and its StartRun gets no answer and no link.
   */
  @Test
  void aWorkerTakesOrdersFromTheOneCoordinatorItRegisteredWith() throws Exception {
    TestProbe<CoordinatorProtocol.Command> coordinator = listedCoordinator();
    TestProbe<CoordinatorProtocol.Command> other = testKit.createTestProbe();
    BlockingQueue<Accepted> accepted = new LinkedBlockingQueue<>();
    try (TensorLinkServer server = TensorLinkServer.open(TensorLinkSettings.fromConfig(NODE),
        (h, l) -> accepted.add(new Accepted(h, l)))) {
      ActorRef<WorkerProtocol.Command> worker = testKit.spawn(Worker.create("w3", EjmlKernel.INSTANCE,
          d -> copy(DATA)));
      coordinator.expectMessageClass(CoordinatorProtocol.RegisterWorker.class, WAIT);
      testKit.system().receptionist().tell(
          akka.actor.typed.receptionist.Receptionist.register(CoordinatorProtocol.SERVICE_KEY, other.getRef()));
      other.expectNoMessage(Duration.ofMillis(500));
      worker.tell(startRun("run-3", MODEL, SPEC, other.getRef(), server.endpoint()));
      other.expectNoMessage(Duration.ofMillis(500));
      assertTrue(accepted.isEmpty(), "no link to a coordinator the worker did not register with");
      worker.tell(startRun("run-4", MODEL, SPEC, coordinator.getRef(), server.endpoint()));
      Accepted link = accepted.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertNotNull(link, "the run of its own coordinator is taken");
      assertEquals("run-4", link.hello().getRunId());
      worker.tell(new WorkerProtocol.StopRun("run-4", "w3", "done"));
      TestProbe<Object> watcher = testKit.createTestProbe();
      watcher.expectTerminated(worker, WAIT);
      link.link().close();
    } finally {
      unlist(other);
      unlist(coordinator);
    }
  }

  /** A probe listed as the cluster's coordinator: the one coordinator a worker spawned now registers with. */
  private static TestProbe<CoordinatorProtocol.Command> listedCoordinator() {
    TestProbe<CoordinatorProtocol.Command> coordinator = testKit.createTestProbe();
    TestProbe<akka.actor.typed.receptionist.Receptionist.Registered> ack = testKit.createTestProbe();
    testKit.system().receptionist().tell(akka.actor.typed.receptionist.Receptionist.register(
        CoordinatorProtocol.SERVICE_KEY, coordinator.getRef(), ack.getRef()));
    ack.receiveMessage(WAIT);
    return coordinator;
  }

  /** No longer listed: the next test's worker registers with its own probe. */
  private static void unlist(TestProbe<CoordinatorProtocol.Command> coordinator) {
    TestProbe<akka.actor.typed.receptionist.Receptionist.Deregistered> ack = testKit.createTestProbe();
    testKit.system().receptionist().tell(akka.actor.typed.receptionist.Receptionist.deregister(
        CoordinatorProtocol.SERVICE_KEY, coordinator.getRef(), ack.getRef()));
    ack.receiveMessage(WAIT);
  }

  private static WorkerProtocol.StartRun startRun(String runId, ModelSpec model, DataSpec data,
      ActorRef<CoordinatorProtocol.Command> coordinator, String linkEndpoint) {
    return new WorkerProtocol.StartRun(runId, model, CONFIG, IDENTITY, data, coordinator, "", linkEndpoint, TOKEN, 10,
        LinkFaults.NONE, 2, 0);
  }

  /**
   * A StartRun naming a network of 2 billion parameters (8 GiB a copy) is refused with a reason
   * before anything is allocated for it, and the worker takes the next run.
   */
  @Test
  void aRunTooLargeForTheHeapIsRefusedAndTheWorkerTakesTheNext() throws Exception {
    TestProbe<CoordinatorProtocol.Command> coordinator = listedCoordinator();
    BlockingQueue<Accepted> accepted = new LinkedBlockingQueue<>();
    try (TensorLinkServer server = TensorLinkServer.open(TensorLinkSettings.fromConfig(NODE),
        (h, l) -> accepted.add(new Accepted(h, l)))) {
      ActorRef<WorkerProtocol.Command> worker = testKit.spawn(Worker.create("w5", EjmlKernel.INSTANCE,
          d -> copy(DATA)));
      coordinator.expectMessageClass(CoordinatorProtocol.RegisterWorker.class, WAIT);
      ModelSpec huge = Fixtures.model(6, List.of(46_340, 46_340), 3, Activation.TANH, OutputActivation.SOFTMAX,
          LossFunction.CROSS_ENTROPY, 0f);
      worker.tell(startRun("run-5", huge, SPEC, coordinator.getRef(), server.endpoint()));
      CoordinatorProtocol.WorkerFailed failed = coordinator.expectMessageClass(CoordinatorProtocol.WorkerFailed.class,
          WAIT);
      assertTrue(failed.reason().contains("more than its heap of"), failed.reason());
      assertTrue(accepted.isEmpty(), "no link is opened for a refused run");

      worker.tell(startRun("run-6", MODEL, SPEC, coordinator.getRef(), server.endpoint()));
      Accepted link = accepted.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertNotNull(link, "the worker takes the next run");
      assertEquals("run-6", link.hello().getRunId());
      worker.tell(new WorkerProtocol.StopRun("run-6", "w5", "done"));
      link.link().close();
    } finally {
      unlist(coordinator);
    }
  }

  /**
   * Paths outside the worker's data root, directly or through a symbolic link (of a file, or
   * inside an IDX folder), are refused without being read; a file inside it that is not valid
   * data is refused by its path and the kind of problem: no reply carries anything of a file.
   * The worker still answers afterwards.
   */
  @Test
  void dataOutsideTheRootIsNotReadAndNoReplyCarriesFileContent() throws Exception {
    Path outside = Files.createTempDirectory("worker-test-outside").toRealPath();
    try {
      String secret = "SECRET-CONTENT-7f3a";
      Path secretFile = Files.writeString(outside.resolve("secret.csv"), "label,a,b\n1," + secret + ",2\n");
      Path linked = Files.createSymbolicLink(ROOT.resolve("linked.csv"), secretFile);
      Path idx = Files.createDirectories(ROOT.resolve("idx"));
      Files.createSymbolicLink(idx.resolve("train-images-idx3-ubyte"), secretFile);
      Path malformed = Files.writeString(ROOT.resolve("malformed.csv"), "label,a,b\n1," + secret + ",2\n");
      TestProbe<CoordinatorProtocol.Command> coordinator = listedCoordinator();
      ActorRef<WorkerProtocol.Command> worker = testKit.spawn(Worker.create("w7", EjmlKernel.INSTANCE));
      coordinator.expectMessageClass(CoordinatorProtocol.RegisterWorker.class, WAIT);

      List<String> environ = System.getenv().entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
          .filter(kv -> kv.length() >= 8).toList();
      String[][] cases = {
          {"/proc/self/environ", "/proc/self/environ: outside the data roots of worker w7; it reads training data "
              + "only under [" + ROOT + "]"},
          {secretFile.toString(), secretFile + ": outside the data roots"},
          {linked.toString(), linked + ": outside the data roots of worker w7 (through a symbolic link)"},
          {ROOT + "/../" + outside.getFileName() + "/secret.csv", ": outside the data roots"},
          {idx.toString(), idx.resolve("train-images-idx3-ubyte") + ": outside the data roots of worker w7 (through "
              + "a symbolic link)"},
          {malformed.toString(), "worker w7 cannot load the training data " + malformed
              + ": not valid training data; the worker's log has the details"},
      };
      int n = 0;
      for (String[] c : cases) {
        worker.tell(startRun("run-7-" + n++, MODEL, new DataSpec(c[0], null, 0.25, 0, "0", SEED),
            coordinator.getRef(), "127.0.0.1:1"));
        String reason = coordinator.expectMessageClass(CoordinatorProtocol.WorkerFailed.class, WAIT).reason();
        assertTrue(reason.contains(c[1]), reason);
        assertFalse(reason.contains(secret), "the file's content in the reply: " + reason);
        for (String kv : environ) {
          assertFalse(reason.contains(kv), "the environment in the reply: " + reason);
        }
      }
      // Still there: the default data (no path) is read whatever the roots, and is not the run's.
      worker.tell(startRun("run-7-default", MODEL, SPEC, coordinator.getRef(), "127.0.0.1:1"));
      String reason = coordinator.expectMessageClass(CoordinatorProtocol.WorkerFailed.class, WAIT).reason();
      assertTrue(reason.contains("not the coordinator's data"), reason);
      testKit.stop(worker);
      unlist(coordinator);
    } finally {
      try (var paths = Files.walk(outside)) {
        for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.delete(p);
        }
      }
    }
  }

  /**
   * A member that is behind takes a whole state only from the Go's state source, at the Go's start
   * step: another member's state, valid as it is, would put it at a step the others are not at.
   */
  @Test
  void aStateFromAMemberOtherThanTheStateSourceIsNotAdopted() throws Exception {
    withReadyW9("run-3", (ready, coordinator) -> {
      ActorRef<WorkerProtocol.Command> worker = ready.worker();
      CoordinatorProtocol.RegisterWorker reg = ready.reg();
      Accepted link = ready.link();
      worker.tell(new WorkerProtocol.Prepare("run-3", "w9", 1, 0));
      coordinator.expectMessageClass(CoordinatorProtocol.Prepared.class, WAIT);
      byte[] k0 = new byte[32];
      k0[0] = 7;
      byte[] k5 = new byte[32];
      k5[0] = 9;
      // w9 is behind (step 0 < start 2) and must wait for w5's state; w0 is a member, not the source.
      worker.tell(new WorkerProtocol.Go("run-3", "w9", 1, List.of(
          new WorkerProtocol.Member("w0", "127.0.0.1:1", 0, 2, 0, k0),
          new WorkerProtocol.Member("w5", "127.0.0.1:1", 2, 3, 2, k5),
          new WorkerProtocol.Member("w9", reg.peerEndpoint(), 3, 4, 0, new byte[0])), 2, "w5", 10, 10, false,
          List.of(), List.of()));
      Thread.sleep(300);
      TensorLink w0 = linkFromW0To(reg, "run-3", k0);
      BlockingQueue<LinkFrameProto> fromW9 = new LinkedBlockingQueue<>();
      w0.start(fromW9::add, reason -> { });
      for (StateProto part : StateParts.split("run-3", 1, "w0", initial("run-3").atStep(7))) {
        w0.send(LinkFrameProto.newBuilder().setState(part).build());
      }
      LinkFrameProto got = fromW9.poll(3, TimeUnit.SECONDS);
      worker.tell(new WorkerProtocol.StopRun("run-3", "w9", "done"));
      w0.close();
      link.link().close();
      org.junit.jupiter.api.Assertions.assertNull(got, "w9 adopted w0's state and stepped from it: " + got);
    });
  }

  /**
   * Frames claiming a generation later than the one being formed are not kept: 256 of them must not
   * crowd out a peer's partial sums of the generation whose Go has not come here yet.
   */
  @Test
  void farFutureFramesDoNotCrowdOutTheNextGenerationsEarlyFrames() throws Exception {
    withReadyW9("run-4", (ready, coordinator) -> {
      ActorRef<WorkerProtocol.Command> worker = ready.worker();
      CoordinatorProtocol.RegisterWorker reg = ready.reg();
      Accepted link = ready.link();
      byte[] k0 = new byte[32];
      k0[0] = 7;
      List<WorkerProtocol.Member> members = List.of(
          new WorkerProtocol.Member("w0", "127.0.0.1:1", 0, 2, 0, k0),
          new WorkerProtocol.Member("w9", reg.peerEndpoint(), 2, 4, 0, new byte[0]));
      worker.tell(new WorkerProtocol.Prepare("run-4", "w9", 1, 0));
      coordinator.expectMessageClass(CoordinatorProtocol.Prepared.class, WAIT);
      // Generation 1 with no credit: the link comes up, nobody steps.
      worker.tell(new WorkerProtocol.Go("run-4", "w9", 1, members, 0, "w9", 0, 0, false, List.of(), List.of()));
      Thread.sleep(300);
      TensorLink w0 = linkFromW0To(reg, "run-4", k0);
      BlockingQueue<LinkFrameProto> fromW9 = new LinkedBlockingQueue<>();
      w0.start(fromW9::add, reason -> { });
      for (int i = 0; i < 256; i++) {
        w0.send(io.syncgrad.common.transport.LinkFrames.of(io.syncgrad.proto.PartialSumProto.newBuilder()
            .setRunId("run-4").setGeneration(Long.MAX_VALUE).setStep(i).setChunk(1).setFromWorker("w0")));
      }
      Thread.sleep(300);
      worker.tell(new WorkerProtocol.Prepare("run-4", "w9", 2, 0));
      coordinator.expectMessageClass(CoordinatorProtocol.Prepared.class, WAIT);
      // w0 got generation 2's Go first and sends w9 its partial sums of chunk 1 at step 0.
      w0.send(partialOfW0("run-4", 2, 0));
      Thread.sleep(300);
      worker.tell(new WorkerProtocol.Go("run-4", "w9", 2, members, 0, "w9", 1, 1, false, List.of(), List.of()));
      LinkFrameProto reduced = null;
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (reduced == null && System.nanoTime() < until) {
        LinkFrameProto f = fromW9.poll(100, TimeUnit.MILLISECONDS);
        if (f != null && f.hasReduced()) {
          reduced = f;
        }
      }
      worker.tell(new WorkerProtocol.StopRun("run-4", "w9", "done"));
      w0.close();
      link.link().close();
      assertNotNull(reduced, "w9 dropped w0's early partial sum: its chunk of step 0 is never reduced");
    });
  }

  /**
   * A member that is behind waits for the state of the generation's start while the others already
   * step from it: a peer's partial sum of that step, come before the state, is kept and taken once
   * the state is in (nobody sends it again), so the step completes without waiting for a deadline.
   */
  @Test
  void aMemberCatchingUpKeepsThePartialSumsOfTheStepItCatchesUpTo() throws Exception {
    withReadyW9("run-5", (ready, coordinator) -> {
      byte[] k0 = new byte[32];
      k0[0] = 7;
      ready.worker().tell(new WorkerProtocol.Prepare("run-5", "w9", 1, 0));
      coordinator.expectMessageClass(CoordinatorProtocol.Prepared.class, WAIT);
      // w9 is at step 0; the generation starts at step 5, from w0's state.
      ready.worker().tell(new WorkerProtocol.Go("run-5", "w9", 1, List.of(
          new WorkerProtocol.Member("w0", "127.0.0.1:1", 0, 2, 5, k0),
          new WorkerProtocol.Member("w9", ready.reg().peerEndpoint(), 2, 4, 0, new byte[0])), 5, "w0", 6, 10, false,
          List.of(), List.of()));
      Thread.sleep(300);
      TensorLink w0 = linkFromW0To(ready.reg(), "run-5", k0);
      BlockingQueue<LinkFrameProto> fromW9 = new LinkedBlockingQueue<>();
      w0.start(fromW9::add, reason -> { });
      w0.send(partialOfW0("run-5", 1, 5));
      Thread.sleep(300);
      for (StateProto part : StateParts.split("run-5", 1, "w0", initial("run-5").atStep(5))) {
        w0.send(LinkFrameProto.newBuilder().setState(part).build());
      }
      LinkFrameProto reduced = null;
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (reduced == null && System.nanoTime() < until) {
        LinkFrameProto f = fromW9.poll(100, TimeUnit.MILLISECONDS);
        if (f != null && f.hasReduced()) {
          reduced = f;
        }
      }
      ready.worker().tell(new WorkerProtocol.StopRun("run-5", "w9", "done"));
      w0.close();
      ready.link().link().close();
      assertNotNull(reduced, "w9 dropped w0's partial sum of step 5 that came before the state");
      assertEquals(5, reduced.getReduced().getStep());
    });
  }

  /**
   * The link to the coordinator closing under a worker (a reset, a firewall's idle timeout) is
   * opened again: the states it carries at snapshot steps would otherwise never arrive, and every
   * generation would miss its deadline alike.
   */
  @Test
  void aWorkerOpensItsLinkToTheCoordinatorAgainWhenItCloses() throws Exception {
    withReadyW9("run-6", (ready, coordinator) -> {
      ready.link().link().close();
      Accepted again = ready.accepted().poll(WAIT.toSeconds(), TimeUnit.SECONDS);
      ready.worker().tell(new WorkerProtocol.StopRun("run-6", "w9", "done"));
      assertNotNull(again, "w9 did not open its link to the coordinator again");
      assertEquals("w9", again.hello().getWorkerId());
      again.link().close();
    });
  }

  /**
   * The coordinator a worker registered with stops before the worker's run starts: the worker
   * stops to rejoin (its node starts afresh), instead of ignoring the coordinator that comes back.
   */
  @Test
  void aWorkerWhoseCoordinatorStopsBeforeItsRunStopsToRejoin() throws Exception {
    TestProbe<CoordinatorProtocol.Command> coordinator = listedCoordinator();
    java.util.concurrent.CompletableFuture<Worker.Outcome> outcome = new java.util.concurrent.CompletableFuture<>();
    ActorRef<WorkerProtocol.Command> worker = testKit.spawn(Worker.create("w8", EjmlKernel.INSTANCE,
        d -> copy(DATA), outcome::complete));
    coordinator.expectMessageClass(CoordinatorProtocol.RegisterWorker.class, WAIT);
    unlist(coordinator);
    coordinator.stop();
    assertEquals(Worker.Outcome.COORDINATOR_LOST, outcome.get(WAIT.toSeconds(), TimeUnit.SECONDS));
    testKit.createTestProbe().expectTerminated(worker, WAIT);
  }

  private interface WithW9 {
    void run(Ready ready, TestProbe<CoordinatorProtocol.Command> coordinator) throws Exception;
  }

  /** Runs {@code body} with worker w9 ready in run {@code runId}, as {@link #readyW9} leaves it. */
  private void withReadyW9(String runId, WithW9 body) throws Exception {
    TestProbe<CoordinatorProtocol.Command> coordinator = listedCoordinator();
    BlockingQueue<Accepted> accepted = new LinkedBlockingQueue<>();
    try (TensorLinkServer server = TensorLinkServer.open(TensorLinkSettings.fromConfig(NODE),
        (h, l) -> accepted.add(new Accepted(h, l)))) {
      body.run(readyW9(runId, coordinator, server, accepted), coordinator);
    } finally {
      unlist(coordinator);
    }
  }

  /** Member w0's partial sums (zeros) of chunk 1, w9's, over shards [0, 2). */
  private static LinkFrameProto partialOfW0(String runId, long generation, long step) {
    int length = new io.syncgrad.common.reduce.ChunkPlan(Parameters.zeros(MODEL).size(), 2).length(1);
    return io.syncgrad.common.transport.LinkFrames.of(io.syncgrad.proto.PartialSumProto.newBuilder()
        .setRunId(runId).setGeneration(generation).setStep(step).setChunk(1).setFromWorker("w0").addNodeFirst(0)
        .addNodeEnd(2).setFirstShard(0).addShardLoss(1).addShardLoss(1)
        .setData(com.google.protobuf.ByteString.copyFrom(new byte[length * 4])));
  }

  private record Ready(ActorRef<WorkerProtocol.Command> worker, CoordinatorProtocol.RegisterWorker reg, Accepted link,
      BlockingQueue<Accepted> accepted) {}

  /** Worker w9 in run {@code runId}: registered, its state in from the coordinator's link, ready. */
  private Ready readyW9(String runId, TestProbe<CoordinatorProtocol.Command> coordinator, TensorLinkServer server,
      BlockingQueue<Accepted> accepted) throws Exception {
    ActorRef<WorkerProtocol.Command> worker = testKit.spawn(Worker.create("w9", EjmlKernel.INSTANCE,
        d -> copy(DATA)));
    CoordinatorProtocol.RegisterWorker reg = coordinator.expectMessageClass(CoordinatorProtocol.RegisterWorker.class,
        WAIT);
    worker.tell(new WorkerProtocol.StartRun(runId, MODEL, CONFIG, IDENTITY, SPEC, coordinator.getRef(), "",
        server.endpoint(), TOKEN, 10, LinkFaults.NONE, 2, 0));
    Accepted link = accepted.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
    link.link().start(f -> { }, reason -> { });
    for (StateProto part : StateParts.split(runId, 0, "", initial(runId))) {
      link.link().send(LinkFrameProto.newBuilder().setState(part).build());
    }
    coordinator.expectMessage(WAIT, new CoordinatorProtocol.WorkerReady(runId, "w9", 0));
    return new Ready(worker, reg, link, accepted);
  }

  /** A peer link from member w0 to w9, proving w0's pair key. */
  private static TensorLink linkFromW0To(CoordinatorProtocol.RegisterWorker w9, String runId, byte[] key)
      throws java.io.IOException {
    return TensorLink.connect(w9.peerEndpoint(), TensorLinkSettings.fromConfig(NODE),
        challenge -> LinkProof.hello(key, challenge, LinkHelloProto.newBuilder().setRunId(runId).setWorkerId("w0")
            .setToWorker("w9")));
  }
}
