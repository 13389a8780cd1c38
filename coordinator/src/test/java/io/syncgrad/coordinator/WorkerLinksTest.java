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

  private static LinkFrameProto hello(String worker, String token) {
    return LinkFrameProto.newBuilder().setHello(LinkHelloProto.newBuilder().setRunId("run").setWorkerId(worker)
        .setLinkToken(token)).build();
  }

  /** A state frame as a worker sends it: a checkpoint of {@code params} after {@code step} steps. */
  private record Snapshot(String worker, StateProto state) implements CoordinatorProtocol.Internal {}

  private static LinkFrameProto state(String worker, TrainingState s) {
    return LinkFrameProto.newBuilder().setState(StateParts.split("run", 1, worker, s).get(0)).build();
  }

  @Test
  void onlyTheRunsSecretOpensALinkAndItsFramesReachTheCoordinatorAsRecords() throws Exception {
    BlockingQueue<Hello> hellos = new LinkedBlockingQueue<>();
    TrainingState s = Fixtures.state(9, 4);
    try (WorkerLinks links = WorkerLinks.open(NODE, s.model(), (h, l) -> hellos.add(new Hello(h, l)))) {
      assertTrue(links.endpoint().startsWith("127.0.0.1:"), links.endpoint());
      TensorLinkSettings client = TensorLinkSettings.fromConfig(NODE);

      TensorLink rogue = TensorLink.connect(links.endpoint(), client, hello("w1", "guessed"));
      Hello fromRogue = hellos.poll(10, TimeUnit.SECONDS);
      assertFalse(links.knowsSecret(fromRogue.hello()), "a wrong secret is refused");
      fromRogue.link().close();
      rogue.close();

      TensorLink worker = TensorLink.connect(links.endpoint(), client, hello("w1", links.token()));
      Hello fromWorker = hellos.poll(10, TimeUnit.SECONDS);
      assertTrue(links.knowsSecret(fromWorker.hello()));
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
          hello("w1", links.token()));
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
