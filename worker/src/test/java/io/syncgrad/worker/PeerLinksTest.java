package io.syncgrad.worker;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.syncgrad.common.transport.LinkFaults;
import io.syncgrad.common.transport.LinkFrames;
import io.syncgrad.common.transport.TensorLinkServer;
import io.syncgrad.common.transport.TensorLinkSettings;
import io.syncgrad.common.transport.Traffic;
import io.syncgrad.proto.LinkFrameProto;
import io.syncgrad.proto.ReducedChunkProto;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A worker's peer links after its run is over: a reader thread that finishes a step then sends a
 * frame, whose injected fault would schedule a resend, finds the links closed and drops it; it
 * must not fail on the closed timers (which closed that reader's link and logged an error).
 */
class PeerLinksTest {

  private static TensorLinkSettings plain() {
    return new TensorLinkSettings("127.0.0.1", "127.0.0.1", 0, 1 << 20, Duration.ofSeconds(5), null, List.of(),
        List.of(), TensorLinkSettings.Greeting.DEFAULT);
  }

  private static PeerLinks links(LinkFaults faults) throws Exception {
    TensorLinkServer server = TensorLinkServer.open(plain(), (hello, link) -> { });
    return PeerLinks.adopt("worker-00", "run-1", plain(), server, new Traffic(), faults, 1 << 20, (p, f) -> { },
        () -> { });
  }

  private static final LinkFrameProto FRAME = LinkFrames.of(ReducedChunkProto.newBuilder().setRunId("run-1")
      .setGeneration(1).setStep(3).setChunk(0).setFromWorker("worker-00"));

  @Test
  void aFrameSentAfterCloseWithADropOrADelayIsDroppedQuietly() throws Exception {
    for (LinkFaults faults : List.of(
        new LinkFaults(1, 0, 0, Duration.ZERO, 7, Duration.ofMillis(10)),
        new LinkFaults(0, 0, 1, Duration.ofMillis(10), 7, Duration.ofMillis(10)))) {
      PeerLinks links = links(faults);
      links.close();
      assertDoesNotThrow(() -> links.send("worker-01", FRAME, 1, 1, 3, 1, 0, "reduced chunk 0 of step 3"));
      assertEquals(0, links.retries(), "nothing is scheduled once the links are closed");
    }
  }

  /**
   * Hellos that come before their keys are checked only when the keys come, so anyone who can reach
   * the port can send them. When they fill the list, the newcomers are refused: a genuine hello that
   * came first is still there when the keys come, and its link is adopted.
   */
  @Test
  void hellosBeyondTheLimitDoNotCloseAGenuineHelloThatCameFirst() throws Exception {
    java.util.concurrent.atomic.AtomicReference<PeerLinks> holder = new java.util.concurrent.atomic.AtomicReference<>();
    java.util.concurrent.Semaphore greeted = new java.util.concurrent.Semaphore(0);
    java.util.concurrent.BlockingQueue<String> delivered = new java.util.concurrent.LinkedBlockingQueue<>();
    TensorLinkServer server = TensorLinkServer.open(plain(), (hello, link) -> {
      holder.get().hello(hello, link);
      greeted.release();
    });
    PeerLinks links = PeerLinks.adopt("worker-05", "run-1", plain(), server, new Traffic(), LinkFaults.NONE, 1 << 20,
        (peer, frame) -> delivered.add(peer), () -> { });
    holder.set(links);
    byte[] key = new byte[32];
    key[0] = 1;
    List<io.syncgrad.common.transport.TensorLink> opened = new java.util.ArrayList<>();
    try {
      io.syncgrad.common.transport.TensorLink genuine = hello(server.endpoint(), "worker-01", key);
      opened.add(genuine);
      assertTrue(greeted.tryAcquire(10, java.util.concurrent.TimeUnit.SECONDS));
      for (int i = 0; i < 64; i++) {
        opened.add(hello(server.endpoint(), "worker-9" + i, new byte[32]));
        assertTrue(greeted.tryAcquire(10, java.util.concurrent.TimeUnit.SECONDS));
      }
      links.members(java.util.Map.of("worker-01", key), java.util.Map.of("worker-01", genuine.peer()));
      genuine.start(f -> { }, reason -> { });
      genuine.send(FRAME);
      assertEquals("worker-01", delivered.poll(10, java.util.concurrent.TimeUnit.SECONDS),
          "the genuine peer's link was adopted and carries its frames");
    } finally {
      opened.forEach(io.syncgrad.common.transport.TensorLink::close);
      links.close();
      server.close();
    }
  }

  private static io.syncgrad.common.transport.TensorLink hello(String endpoint, String worker, byte[] key)
      throws java.io.IOException {
    return io.syncgrad.common.transport.TensorLink.connect(endpoint, plain(),
        challenge -> io.syncgrad.common.transport.LinkProof.hello(key, challenge,
            io.syncgrad.proto.LinkHelloProto.newBuilder().setRunId("run-1").setWorkerId(worker)
                .setToWorker("worker-05")));
  }
}
