package io.syncgrad.common.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.syncgrad.proto.LinkFrameProto;
import io.syncgrad.proto.LinkHelloProto;
import io.syncgrad.proto.PartialSumProto;
import io.syncgrad.proto.ReducedChunkProto;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Frames cross a real loopback connection intact, in order; a peer that breaks the rules is cut off. */
class TensorLinkTest {

  private static final long WAIT_S = 10;

  private static TensorLinkSettings plain(int maxFrameBytes) {
    return new TensorLinkSettings("127.0.0.1", "127.0.0.1", 0, maxFrameBytes, Duration.ofSeconds(5), null,
        List.of(), List.of());
  }

  private static final byte[] KEY = "a key of the link".getBytes(java.nio.charset.StandardCharsets.UTF_8);

  private static java.util.function.Function<ByteString, LinkFrameProto> hello(String worker) {
    return challenge -> LinkProof.hello(KEY, challenge, LinkHelloProto.newBuilder().setRunId("run")
        .setWorkerId(worker));
  }

  private static LinkFrameProto gradient(int shard, int bytes) {
    byte[] data = new byte[bytes];
    for (int i = 0; i < bytes; i++) {
      data[i] = (byte) (i * 31 + shard);
    }
    return LinkFrameProto.newBuilder().setPartial(PartialSumProto.newBuilder().setRunId("run").setChunk(shard)
        .addNodeFirst(shard).addNodeEnd(shard + 1).setData(ByteString.copyFrom(data))).build();
  }

  private record Accepted(LinkHelloProto hello, TensorLink link) {}

  @Test
  void framesArriveIntactAndInOrderBothWays() throws Exception {
    BlockingQueue<Accepted> accepted = new LinkedBlockingQueue<>();
    try (TensorLinkServer server = TensorLinkServer.open(plain(1 << 24),
        (h, l) -> accepted.add(new Accepted(h, l)))) {
      TensorLink client = TensorLink.connect(server.endpoint(), plain(1 << 24), hello("w1"));
      Accepted a = accepted.poll(WAIT_S, TimeUnit.SECONDS);
      assertEquals("w1", a.hello().getWorkerId());
      assertTrue(LinkProof.proves(a.hello(), KEY, a.link().challenge()), "the hello proves the key over the challenge");
      assertFalse(LinkProof.proves(a.hello(), "another key".getBytes(java.nio.charset.StandardCharsets.UTF_8),
          a.link().challenge()), "and no other key");
      BlockingQueue<LinkFrameProto> atServer = new LinkedBlockingQueue<>();
      BlockingQueue<LinkFrameProto> atClient = new LinkedBlockingQueue<>();
      Traffic sent = new Traffic();
      Traffic received = new Traffic();
      client.countInto(sent);
      a.link().countInto(received);
      a.link().start(atServer::add, reason -> { });
      client.start(atClient::add, reason -> { });
      long bytes = 0;
      for (int shard = 0; shard < 8; shard++) {
        LinkFrameProto f = gradient(shard, 1 << 20);
        bytes += f.getSerializedSize() + com.google.protobuf.CodedOutputStream.computeUInt32SizeNoTag(
            f.getSerializedSize());
        client.send(f);
      }
      for (int shard = 0; shard < 8; shard++) {
        assertEquals(gradient(shard, 1 << 20), atServer.poll(WAIT_S, TimeUnit.SECONDS), "shard " + shard);
      }
      assertEquals(bytes, received.receivedBytes(), "every byte read is counted");
      assertEquals(bytes, sent.sentBytes(), "every byte written is counted");
      LinkFrameProto step = LinkFrameProto.newBuilder().setReduced(ReducedChunkProto.newBuilder().setStep(7)
          .setChunk(3)).build();
      a.link().send(step);
      assertEquals(step, atClient.poll(WAIT_S, TimeUnit.SECONDS));
      client.close();
      a.link().close();
    }
  }

  @Test
  void aFrameOverTheLimitClosesTheLink() throws Exception {
    BlockingQueue<Accepted> accepted = new LinkedBlockingQueue<>();
    try (TensorLinkServer server = TensorLinkServer.open(plain(4096), (h, l) -> accepted.add(new Accepted(h, l)))) {
      TensorLink client = TensorLink.connect(server.endpoint(), plain(1 << 24), hello("w1"));
      Accepted a = accepted.poll(WAIT_S, TimeUnit.SECONDS);
      BlockingQueue<LinkFrameProto> atServer = new LinkedBlockingQueue<>();
      BlockingQueue<String> closed = new LinkedBlockingQueue<>();
      a.link().start(atServer::add, closed::add);
      client.start(f -> { }, reason -> { });
      client.send(gradient(0, 64 * 1024));
      String reason = closed.poll(WAIT_S, TimeUnit.SECONDS);
      assertTrue(reason.contains("more than the limit of 4096"), reason);
      assertTrue(atServer.isEmpty(), "nothing of the oversized frame is delivered");
      assertFalse(a.link().isOpen());
      client.close();
    }
  }

  @Test
  void aConnectionThatDoesNotSayHelloIsClosed() throws Exception {
    BlockingQueue<Accepted> accepted = new LinkedBlockingQueue<>();
    try (TensorLinkServer server = TensorLinkServer.open(plain(1 << 20),
        (h, l) -> accepted.add(new Accepted(h, l)))) {
      String[] hostPort = server.endpoint().split(":");
      try (Socket raw = new Socket(hostPort[0], Integer.parseInt(hostPort[1]))) {
        gradient(0, 64).writeDelimitedTo(raw.getOutputStream());
        raw.getOutputStream().flush();
        raw.setSoTimeout((int) TimeUnit.SECONDS.toMillis(WAIT_S));
        InputStream in = raw.getInputStream();
        assertTrue(LinkFrameProto.parseDelimitedFrom(in).hasChallenge(), "the server's first frame is its challenge");
        assertEquals(-1, readOrEof(in), "the server hangs up");
      }
      assertTrue(accepted.isEmpty(), "no link is handed over");
    }
  }

  /** -1 when the peer hung up (a reset counts); a read that times out means it did not. */
  private static int readOrEof(InputStream in) {
    try {
      return in.read();
    } catch (java.net.SocketTimeoutException e) {
      throw new AssertionError("the server kept the connection open for " + WAIT_S + " s", e);
    } catch (IOException e) {
      return -1;
    }
  }
}
