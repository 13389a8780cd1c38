package io.syncgrad.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.syncgrad.common.checkpoint.StateParts;
import io.syncgrad.common.protocol.CoordinatorProtocol;
import io.syncgrad.common.run.TrainingState;
import io.syncgrad.common.testing.Fixtures;
import io.syncgrad.common.transport.LinkProof;
import io.syncgrad.common.transport.TensorLink;
import io.syncgrad.common.transport.TensorLinkSettings;
import io.syncgrad.common.transport.Traffic;
import io.syncgrad.proto.LinkFrameProto;
import io.syncgrad.proto.LinkHelloProto;
import io.syncgrad.proto.StateProto;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The coordinator's side of its links to the workers, over real loopback connections. */
class WorkerLinksTest {

  private static final ActorTestKit testKit = ActorTestKit.create();
  private static final Config NODE = ConfigFactory.parseString("akka.actor.provider = cluster\n"
      + "akka.remote.artery.canonical.hostname = 127.0.0.1").withFallback(ConfigFactory.load());

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private record Hello(LinkHelloProto hello, TensorLink link) {}

  /** The hello of a link that claims {@code worker} and proves {@code key}. */
  private static java.util.function.Function<com.google.protobuf.ByteString, LinkFrameProto> hello(String worker,
      byte[] key) {
    return challenge -> LinkProof.hello(key, challenge, LinkHelloProto.newBuilder().setRunId("run")
        .setWorkerId(worker));
  }

  private static Membership.Worker registered(String id) {
    return new Membership.Worker(id, testKit.<io.syncgrad.common.protocol.WorkerProtocol.Command>createTestProbe()
        .getRef(), "");
  }

  /** A state frame as a worker sends it: a checkpoint of {@code params} after {@code step} steps. */
  private record Snapshot(String worker, StateProto state) implements CoordinatorProtocol.Internal {}

  private static LinkFrameProto state(String worker, TrainingState s) {
    return LinkFrameProto.newBuilder().setState(StateParts.split("run", 1, worker, s).get(0)).build();
  }

  @Test
  void onlyTheWorkersOwnKeyOpensItsLinkAndItsFramesReachTheCoordinatorAsRecords() throws Exception {
    BlockingQueue<Hello> hellos = new LinkedBlockingQueue<>();
    TrainingState s = Fixtures.state(9, 4);
    try (WorkerLinks links = WorkerLinks.open(NODE, s.model(), (h, l) -> hellos.add(new Hello(h, l)))) {
      assertTrue(links.endpoint().startsWith("127.0.0.1:"), links.endpoint());
      TensorLinkSettings client = TensorLinkSettings.fromConfig(NODE);
      Membership.Worker w1 = registered("w1");
      Membership.Worker w2 = registered("w2");
      assertFalse(java.util.Arrays.equals(links.keyOf("run", w1), links.keyOf("run", w2)), "a key per worker");

      TensorLink rogue = TensorLink.connect(links.endpoint(), client, hello("w1", new byte[32]));
      Hello fromRogue = hellos.poll(10, TimeUnit.SECONDS);
      assertFalse(links.proves("run", w1, fromRogue.hello(), fromRogue.link()), "a guessed key is refused");
      fromRogue.link().close();
      rogue.close();

      // A registered worker with its own key claims another worker's link.
      TensorLink impostor = TensorLink.connect(links.endpoint(), client, hello("w1", links.keyOf("run", w2)));
      Hello fromImpostor = hellos.poll(10, TimeUnit.SECONDS);
      assertFalse(links.proves("run", w1, fromImpostor.hello(), fromImpostor.link()),
          "w2's key opens no link of w1");
      fromImpostor.link().close();
      impostor.close();

      TensorLink worker = TensorLink.connect(links.endpoint(), client, hello("w1", links.keyOf("run", w1)));
      Hello fromWorker = hellos.poll(10, TimeUnit.SECONDS);
      assertTrue(links.proves("run", w1, fromWorker.hello(), fromWorker.link()));

      // The same hello again, on a new connection: its proof was for the other's challenge.
      TensorLink replay = TensorLink.connect(links.endpoint(), client,
          LinkFrameProto.newBuilder().setHello(fromWorker.hello()).build());
      Hello replayed = hellos.poll(10, TimeUnit.SECONDS);
      assertFalse(links.proves("run", w1, replayed.hello(), replayed.link()), "a replayed hello proves nothing");
      replayed.link().close();
      replay.close();
      TestProbe<CoordinatorProtocol.Command> coordinator = testKit.createTestProbe();
      CoordinatorProtocol.Command closed = new CoordinatorProtocol.Internal() {};
      Traffic traffic = new Traffic();
      links.adopt("w1", fromWorker.link(), coordinator.getRef(), st -> new Snapshot("w1", st), closed, traffic);
      assertEquals(fromWorker.link(), links.of("w1"));
      worker.start(f -> { }, reason -> { });

      worker.send(state("w2", s));  // claims another worker: ignored
      worker.send(state("w1", s));
      Snapshot got = (Snapshot) coordinator.receiveMessage(Duration.ofSeconds(10));
      assertEquals("w1", got.worker());
      TrainingState back = new StateParts.Assembly(s.model()).offer(got.state());
      assertEquals(List.of(4L, s.params().sha256Hex()), List.of(back.step(), back.params().sha256Hex()));
      coordinator.expectNoMessage(Duration.ofMillis(200));
      assertTrue(traffic.receivedBytes() > s.params().size() * Float.BYTES, "the link counts what it reads");

      worker.close();
      assertEquals(closed, coordinator.receiveMessage(Duration.ofSeconds(10)), "the coordinator hears of the end");
      assertTrue(links.ended("w1", fromWorker.link()));
      assertNull(links.of("w1"));
      assertEquals(1, links.accepted());
    }
  }

  /**
   * A worker's link carries states of the run's model in parts, nothing larger: a frame beyond
   * that closes the link before its buffer is allocated, however large Artery's frames may be.
   */
  @Test
  void aLinkTakesNoFrameLargerThanAStatePartOfTheRunsModel() throws Exception {
    Config roomy = ConfigFactory.parseString("akka.remote.artery.advanced.maximum-frame-size = 64MiB")
        .withFallback(NODE);
    BlockingQueue<Hello> hellos = new LinkedBlockingQueue<>();
    TrainingState s = Fixtures.state(9, 4);
    try (WorkerLinks links = WorkerLinks.open(roomy, s.model(), (h, l) -> hellos.add(new Hello(h, l)))) {
      TensorLink worker = TensorLink.connect(links.endpoint(), TensorLinkSettings.fromConfig(roomy),
          hello("w1", links.keyOf("run", registered("w1"))));
      Hello fromWorker = hellos.poll(10, TimeUnit.SECONDS);
      TestProbe<CoordinatorProtocol.Command> coordinator = testKit.createTestProbe();
      CoordinatorProtocol.Command closed = new CoordinatorProtocol.Internal() {};
      links.adopt("w1", fromWorker.link(), coordinator.getRef(), st -> new Snapshot("w1", st), closed, new Traffic());
      worker.start(f -> { }, reason -> { });
      int beyond = StateParts.maxFrameBytes(s.model()) + 1;
      worker.send(LinkFrameProto.newBuilder().setState(StateProto.newBuilder().setRunId("run").setFromWorker("w1")
          .setData(com.google.protobuf.ByteString.copyFrom(new byte[beyond]))).build());
      assertEquals(closed, coordinator.receiveMessage(Duration.ofSeconds(10)), "the link closes, nothing is told");
      worker.close();
    }
  }
}
