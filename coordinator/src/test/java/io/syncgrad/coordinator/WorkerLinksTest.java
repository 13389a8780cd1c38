package io.syncgrad.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.syncgrad.common.model.Activation;
import io.syncgrad.common.model.Initializer;
import io.syncgrad.common.model.LossFunction;
import io.syncgrad.common.model.ModelSpec;
import io.syncgrad.common.model.OutputActivation;
import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.protocol.CoordinatorProtocol;
import io.syncgrad.common.protocol.CoordinatorProtocol.PrefixComputed;
import io.syncgrad.common.protocol.ProtocolSerializer;
import io.syncgrad.common.testing.Fixtures;
import io.syncgrad.common.transport.TensorLink;
import io.syncgrad.common.transport.TensorLinkSettings;
import io.syncgrad.proto.LinkFrameProto;
import io.syncgrad.proto.LinkHelloProto;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The coordinator's side of the tensor links, over real loopback connections. */
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

  private static LinkFrameProto prefix(String worker, Parameters sum) {
    return LinkFrameProto.newBuilder().setGradient(ProtocolSerializer.encode(
        new PrefixComputed("run", 1, 4, 3, sum, 2.5, 64, worker, 7))).build();
  }

  @Test
  void onlyTheRunsSecretOpensALinkAndItsFramesReachTheCoordinatorAsRecords() throws Exception {
    BlockingQueue<Hello> hellos = new LinkedBlockingQueue<>();
    try (WorkerLinks links = WorkerLinks.open(NODE, (h, l) -> hellos.add(new Hello(h, l)))) {
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
      links.adopt("w1", fromWorker.link(), coordinator.getRef(), closed, org.slf4j.LoggerFactory.getLogger("test"));
      assertEquals(fromWorker.link(), links.of("w1"));
      worker.start(f -> { }, reason -> { });

      ModelSpec model = Fixtures.model(5, java.util.List.of(4), 3, Activation.RELU, OutputActivation.SOFTMAX,
          LossFunction.CROSS_ENTROPY, 0f);
      Parameters sum = Parameters.zeros(model);
      Initializer.HE.initialize(model, 9, sum);
      worker.send(prefix("w2", sum));  // claims another worker: ignored
      worker.send(prefix("w1", sum));
      PrefixComputed got = coordinator.expectMessageClass(PrefixComputed.class);
      assertEquals(java.util.List.of(3, 64L, "w1"), java.util.List.of(got.through(), got.samples(), got.workerId()));
      assertEquals(sum.sha256Hex(), got.prefix().sha256Hex());
      coordinator.expectNoMessage(Duration.ofMillis(200));

      worker.close();
      assertEquals(closed, coordinator.receiveMessage(Duration.ofSeconds(10)), "the coordinator hears of the end");
      assertTrue(links.ended("w1", fromWorker.link()));
      assertNull(links.of("w1"), "then its tensors go over Artery");
      assertEquals(1, links.accepted());
    }
  }

  @Test
  void switchedOffThereIsNoPort() throws Exception {
    Config off = ConfigFactory.parseString("syncgrad.tensor-link.enabled = off").withFallback(NODE);
    try (WorkerLinks links = WorkerLinks.open(off, (h, l) -> { })) {
      assertEquals("", links.endpoint());
      assertFalse(links.knowsSecret(LinkHelloProto.getDefaultInstance()));
    }
  }
}
