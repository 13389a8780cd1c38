package io.syncgrad.worker;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;

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
}
