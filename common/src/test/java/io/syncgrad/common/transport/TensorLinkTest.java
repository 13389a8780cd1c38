package io.syncgrad.common.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
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

  /** A greeting deadline no test waits for unless it means to. */
  private static final Duration LONG_GREETING = Duration.ofSeconds(30);
  /** Well under {@link #LONG_GREETING}: a connection closed this soon was not left to its deadline. */
  private static final long PROMPT_MS = 3_000;

  private static TensorLinkSettings plain(int maxFrameBytes) {
    return plain(maxFrameBytes, TensorLinkSettings.Greeting.DEFAULT);
  }

  private static TensorLinkSettings plain(int maxFrameBytes, TensorLinkSettings.Greeting greeting) {
    return new TensorLinkSettings("127.0.0.1", "127.0.0.1", 0, maxFrameBytes, Duration.ofSeconds(5), null,
        List.of(), List.of(), greeting);
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

  /**
   * A received frame costs the reader one array of its size: the tensors stay in that array, as
   * the parsed frame's bytes (a copy per frame would double the bytes each step allocates, and
   * the copying).
   */
  @Test
  void aFrameIsReadIntoOneArrayThatItsTensorsShare() throws Exception {
    int frameBytes = 4 << 20;
    com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    org.junit.jupiter.api.Assumptions.assumeTrue(threads.isThreadAllocatedMemorySupported()
        && threads.isThreadAllocatedMemoryEnabled(), "this JVM measures what each thread allocates");
    BlockingQueue<Accepted> accepted = new LinkedBlockingQueue<>();
    try (TensorLinkServer server = TensorLinkServer.open(plain(1 << 24),
        (h, l) -> accepted.add(new Accepted(h, l)))) {
      TensorLink client = TensorLink.connect(server.endpoint(), plain(1 << 24), hello("w1"));
      Accepted a = accepted.poll(WAIT_S, TimeUnit.SECONDS);
      // What the reader thread had allocated when it handed over each frame.
      BlockingQueue<Long> allocated = new LinkedBlockingQueue<>();
      BlockingQueue<LinkFrameProto> atServer = new LinkedBlockingQueue<>();
      a.link().start(f -> {
        allocated.add(threads.getCurrentThreadAllocatedBytes());
        atServer.add(f);
      }, reason -> { });
      client.start(f -> { }, reason -> { });
      int frames = 4;
      for (int shard = 0; shard < frames; shard++) {
        client.send(gradient(shard, frameBytes));
      }
      long previous = -1;
      for (int shard = 0; shard < frames; shard++) {
        assertEquals(gradient(shard, frameBytes), atServer.poll(WAIT_S, TimeUnit.SECONDS), "shard " + shard);
        long now = allocated.poll(WAIT_S, TimeUnit.SECONDS);
        if (previous >= 0) {
          long perFrame = now - previous;
          assertTrue(perFrame < frameBytes * 5L / 4, "reading a frame of " + frameBytes + " bytes allocated "
              + perFrame + " bytes");
        }
        previous = now;
      }
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

  @Test
  void aLinkTakesNoFrameLargerThanItsRunCanNeed() throws Exception {
    BlockingQueue<Accepted> accepted = new LinkedBlockingQueue<>();
    try (TensorLinkServer server = TensorLinkServer.open(plain(64 << 20), (h, l) -> accepted.add(new Accepted(h, l)))) {
      TensorLink client = TensorLink.connect(server.endpoint(), plain(64 << 20), hello("w1"));
      Accepted a = accepted.poll(WAIT_S, TimeUnit.SECONDS);
      BlockingQueue<LinkFrameProto> atServer = new LinkedBlockingQueue<>();
      BlockingQueue<String> closed = new LinkedBlockingQueue<>();
      a.link().limitFrames(4096);
      a.link().start(atServer::add, closed::add);
      client.start(f -> { }, reason -> { });
      client.send(gradient(0, 64 * 1024));
      String reason = closed.poll(WAIT_S, TimeUnit.SECONDS);
      assertNotNull(reason, "the link closes");
      assertTrue(reason.contains("more than the limit of 4096 (the largest this link's run can need)"), reason);
      assertTrue(atServer.isEmpty(), "nothing of the oversized frame is delivered");
      client.close();
    }
  }

  /**
   * The header of a 64 MiB first frame, and not one byte of it: refused on the header (within
   * the greeting's few KiB), not after a buffer of 64 MiB waited out the greeting deadline.
   */
  @Test
  void aHelloClaimingMoreThanTheGreetingLimitIsRefusedOnItsHeader() throws Exception {
    BlockingQueue<Accepted> accepted = new LinkedBlockingQueue<>();
    TensorLinkSettings.Greeting greeting = new TensorLinkSettings.Greeting(LONG_GREETING, 4096, 4);
    try (TensorLinkServer server = TensorLinkServer.open(plain(64 << 20, greeting),
        (h, l) -> accepted.add(new Accepted(h, l)))) {
      try (Socket raw = raw(server)) {
        CodedOutputStream header = CodedOutputStream.newInstance(raw.getOutputStream());
        header.writeUInt32NoTag(64 << 20);
        header.flush();
        long ms = millisUntilHangUp(raw);
        assertTrue(ms < PROMPT_MS, "closed after " + ms + " ms");
      }
      assertTrue(accepted.isEmpty(), "no link is handed over");
      assertServes(server, accepted);
    }
  }

  /** A hello sent a byte at a time, and a silent connection: both end at the one deadline. */
  @Test
  void aGreetingGetsOneDeadlineHoweverSlowlyItsBytesCome() throws Exception {
    BlockingQueue<Accepted> accepted = new LinkedBlockingQueue<>();
    long deadlineMs = 1_000;
    TensorLinkSettings.Greeting greeting = new TensorLinkSettings.Greeting(Duration.ofMillis(deadlineMs), 4096, 4);
    try (TensorLinkServer server = TensorLinkServer.open(plain(1 << 20, greeting),
        (h, l) -> accepted.add(new Accepted(h, l)))) {
      try (Socket trickled = raw(server); Socket silent = raw(server)) {
        long started = System.nanoTime();
        LinkFrameProto slow = LinkFrameProto.newBuilder().setHello(LinkHelloProto.newBuilder().setRunId("run")
            .setWorkerId("slow").setProof(ByteString.copyFrom(new byte[100]))).build();
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        slow.writeDelimitedTo(bytes);
        // A byte every 200 ms: each read is quick, the whole hello would take 20 s.
        Thread trickle = new Thread(() -> {
          try {
            for (byte b : bytes.toByteArray()) {
              trickled.getOutputStream().write(b);
              trickled.getOutputStream().flush();
              Thread.sleep(200);
            }
          } catch (IOException | InterruptedException e) {
            // The server hung up, as it should.
          }
        }, "trickle");
        trickle.setDaemon(true);
        trickle.start();
        for (Socket s : List.of(trickled, silent)) {
          millisUntilHangUp(s);
          long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
          assertTrue(ms >= deadlineMs - 100 && ms < deadlineMs + PROMPT_MS, "closed after " + ms + " ms");
        }
        trickle.interrupt();
      }
      assertTrue(accepted.isEmpty(), "no link is handed over");
      assertServes(server, accepted);
    }
  }

  @Test
  void aConnectionBeyondTheGreetingPoolIsClosedAtOnce() throws Exception {
    BlockingQueue<Accepted> accepted = new LinkedBlockingQueue<>();
    TensorLinkSettings.Greeting greeting = new TensorLinkSettings.Greeting(LONG_GREETING, 4096, 2);
    try (TensorLinkServer server = TensorLinkServer.open(plain(1 << 20, greeting),
        (h, l) -> accepted.add(new Accepted(h, l)))) {
      // Two silent connections hold both greeting threads (connections are accepted in order).
      try (Socket first = raw(server); Socket second = raw(server); Socket third = raw(server)) {
        long ms = millisUntilHangUp(third);
        assertTrue(ms < PROMPT_MS, "the third connection was closed after " + ms + " ms");
      }
      // The silent ones are gone: their threads are free for a well-behaved link again.
      assertServes(server, accepted);
    }
  }

  /**
   * A receiver that throws on a frame (a bug), and garbage after a good hello: the link is
   * closed (its peer sees the end), and the server goes on serving.
   */
  @Test
  void aReaderThatMeetsAnUnexpectedErrorClosesItsLink() throws Exception {
    BlockingQueue<Accepted> accepted = new LinkedBlockingQueue<>();
    try (TensorLinkServer server = TensorLinkServer.open(plain(1 << 20), (h, l) -> accepted.add(new Accepted(h, l)))) {
      TensorLink client = TensorLink.connect(server.endpoint(), plain(1 << 20), hello("w1"));
      Accepted a = accepted.poll(WAIT_S, TimeUnit.SECONDS);
      BlockingQueue<String> closed = new LinkedBlockingQueue<>();
      a.link().start(f -> {
        throw new IllegalStateException("a bug where the frame is handed over");
      }, closed::add);
      BlockingQueue<String> clientClosed = new LinkedBlockingQueue<>();
      client.start(f -> { }, clientClosed::add);
      client.send(gradient(0, 64));
      String reason = closed.poll(WAIT_S, TimeUnit.SECONDS);
      assertNotNull(reason, "the link is closed");
      assertTrue(reason.contains("a bug where the frame is handed over"), reason);
      assertFalse(a.link().isOpen());
      assertNotNull(clientClosed.poll(WAIT_S, TimeUnit.SECONDS), "the peer sees its link end");

      try (Socket raw = raw(server)) {
        LinkFrameProto challenge = LinkFrameProto.parseDelimitedFrom(raw.getInputStream());
        hello("w2").apply(challenge.getChallenge().getNonce()).writeDelimitedTo(raw.getOutputStream());
        raw.getOutputStream().write(new byte[] {5, -1, -1, -1, -1, -1});
        raw.getOutputStream().flush();
        Accepted b = accepted.poll(WAIT_S, TimeUnit.SECONDS);
        BlockingQueue<String> closedB = new LinkedBlockingQueue<>();
        b.link().start(f -> { }, closedB::add);
        String why = closedB.poll(WAIT_S, TimeUnit.SECONDS);
        assertNotNull(why, "garbage closes the link");
        assertTrue(why.startsWith("malformed frame"), why);
        millisUntilHangUp(raw);
      }
      assertServes(server, accepted);
    }
  }

  private static Socket raw(TensorLinkServer server) throws IOException {
    String[] hostPort = server.endpoint().split(":");
    return new Socket(hostPort[0], Integer.parseInt(hostPort[1]));
  }

  /** How long until the server hangs up on {@code raw}; fails when it does not within {@link #WAIT_S}. */
  private static long millisUntilHangUp(Socket raw) throws IOException {
    long started = System.nanoTime();
    raw.setSoTimeout((int) TimeUnit.SECONDS.toMillis(WAIT_S));
    InputStream in = raw.getInputStream();
    while (readOrEof(in) >= 0) {
      // Only the challenge is sent before a hello; read on until the end.
    }
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
  }

  /**
   * A well-behaved link is taken and carries a frame: tried a few times, since connections the
   * test closed a moment ago may still hold the greeting threads.
   */
  private static void assertServes(TensorLinkServer server, BlockingQueue<Accepted> accepted) throws Exception {
    for (int attempt = 0; attempt < 20; attempt++) {
      TensorLink client;
      try {
        client = TensorLink.connect(server.endpoint(), plain(1 << 20), hello("good"));
      } catch (IOException stillBusy) {
        // Closed before its challenge: the greeting threads are not free yet.
        Thread.sleep(100);
        continue;
      }
      Accepted a = accepted.poll(500, TimeUnit.MILLISECONDS);
      if (a == null) {
        client.close();
        continue;
      }
      BlockingQueue<LinkFrameProto> atServer = new LinkedBlockingQueue<>();
      a.link().start(atServer::add, reason -> { });
      client.start(f -> { }, reason -> { });
      client.send(gradient(1, 128));
      assertEquals(gradient(1, 128), atServer.poll(WAIT_S, TimeUnit.SECONDS), "a good link still works");
      client.close();
      a.link().close();
      return;
    }
    throw new AssertionError("the server took no well-behaved link in 20 tries");
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
