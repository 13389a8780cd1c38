package io.syncgrad.common.transport;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnsafeByteOperations;
import io.syncgrad.proto.LinkFrameProto;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardSocketOptions;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import javax.net.ssl.SSLSocket;

/**
 * One tensor link: a TCP connection (TLS with mutual authentication when the cluster uses TLS)
 * between the coordinator and one worker, carrying a step's weights and gradients beside Akka.
 *
 * <p>Why: Artery moves about 1 MB in 2.5 ms of CPU on a small machine, while a socket moves it in
 * 0.15 ms, and a step of the default model moves a megabyte per worker and per shard. Membership,
 * failure detection and every small message stay on Akka; the link only carries
 * {@link LinkFrameProto} frames, protobuf like everything else, which the receiving actor gets as
 * the very records Artery would have delivered (and checks the same way).
 *
 * <p>Sending never blocks the caller: frames queue for a writer thread. A reader thread hands
 * each received frame to a callback. Any I/O error, malformed or oversized frame, or anything
 * thrown where a frame is handed over closes the link: a worker opens its link to the coordinator
 * again at once, peer links open again with the next generation, and the step deadlines and the
 * cluster's failure detection bound the wait in between.
 */
public final class TensorLink implements AutoCloseable {

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(TensorLink.class);
  private static final LinkFrameProto POISON = LinkFrameProto.getDefaultInstance();
  /**
   * Kernel socket buffers big enough for a whole frame of a typical model: a writer hands over a
   * megabyte in one call instead of waiting for the reader to drain a small buffer, which on a
   * busy machine costs a scheduling delay each time. The kernel caps it (net.core.rmem_max).
   */
  static final int SOCKET_BUFFER_BYTES = 4 << 20;

  private final Socket socket;
  private final String peer;
  /** The largest frame any link of this node takes (Artery's frame limit). */
  private final int maxFrameBytes;
  /** The largest frame this link takes now: checked before a frame's buffer is allocated. */
  private volatile int frameLimit;
  private final InputStream in;
  private final OutputStream out;
  private final LinkedBlockingQueue<LinkFrameProto> outbox = new LinkedBlockingQueue<>();
  private final AtomicBoolean closed = new AtomicBoolean();
  private volatile Consumer<String> onClosed = reason -> { };
  private volatile Traffic traffic = new Traffic();
  private volatile com.google.protobuf.ByteString challenge = com.google.protobuf.ByteString.EMPTY;

  TensorLink(Socket socket, String peer, int maxFrameBytes) throws IOException {
    this.socket = socket;
    this.peer = peer;
    this.maxFrameBytes = maxFrameBytes;
    this.frameLimit = maxFrameBytes;
    socket.setTcpNoDelay(true);
    socket.setSendBufferSize(SOCKET_BUFFER_BYTES);
    socket.setOption(StandardSocketOptions.SO_KEEPALIVE, true);
    this.in = new BufferedInputStream(socket.getInputStream(), 1 << 16);
    this.out = new BufferedOutputStream(socket.getOutputStream(), 1 << 16);
  }

  /**
   * Opens a link to a link server and sends {@code hello} on it, whatever the server's challenge
   * (for tests of what a server does with a hello that proves nothing).
   *
   * @param endpoint {@code host:port}
   */
  public static TensorLink connect(String endpoint, TensorLinkSettings settings, LinkFrameProto hello)
      throws IOException {
    return connect(endpoint, settings, challenge -> hello);
  }

  /**
   * Opens a link to a link server, reads its challenge and answers with {@code hello} of it (see
   * {@link LinkProof}).
   *
   * @param endpoint {@code host:port}
   */
  public static TensorLink connect(String endpoint, TensorLinkSettings settings,
      java.util.function.Function<com.google.protobuf.ByteString, LinkFrameProto> hello) throws IOException {
    int colon = endpoint.lastIndexOf(':');
    if (colon <= 0) {
      throw new IOException("tensor link endpoint '" + endpoint + "' is not host:port");
    }
    String host = endpoint.substring(0, colon);
    int port;
    try {
      port = Integer.parseInt(endpoint.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IOException("tensor link endpoint '" + endpoint + "' is not host:port");
    }
    Socket socket = settings.ssl() == null ? new Socket() : settings.ssl().getSocketFactory().createSocket();
    long timeout = settings.connectTimeout().toMillis();
    // One deadline for everything until the challenge is in (the TLS handshake included), however
    // slowly the other end's bytes trickle: a read timeout alone bounds each read, not their sum.
    ScheduledFuture<?> deadline = CONNECT_DEADLINES.schedule(() -> closeQuietly(socket), timeout,
        TimeUnit.MILLISECONDS);
    try {
      socket.setReceiveBufferSize(SOCKET_BUFFER_BYTES);
      socket.setSendBufferSize(SOCKET_BUFFER_BYTES);
      socket.connect(new InetSocketAddress(host, port), (int) timeout);
      socket.setSoTimeout((int) timeout);
      if (socket instanceof SSLSocket tls) {
        settings.restrict(tls);
        tls.startHandshake();
      }
      TensorLink link = new TensorLink(socket, endpoint, settings.maxFrameBytes());
      link.limitFrames(settings.greeting().maxBytes());
      LinkFrameProto challenge = link.read();
      if (!deadline.cancel(false)) {
        throw new IOException("no challenge from " + endpoint + " within " + timeout
            + " ms (syncgrad.tensor-link.connect-timeout)");
      }
      link.limitFrames(settings.maxFrameBytes());
      socket.setSoTimeout(0);
      if (!challenge.hasChallenge()) {
        throw new IOException("the link server at " + endpoint + " did not send a challenge");
      }
      link.write(hello.apply(challenge.getChallenge().getNonce()));
      link.out.flush();
      return link;
    } catch (IOException | RuntimeException e) {
      deadline.cancel(false);
      socket.close();
      throw e;
    }
  }

  /** Closes the sockets of links being opened past their connect timeout; one daemon thread for the node. */
  private static final ScheduledThreadPoolExecutor CONNECT_DEADLINES = connectDeadlines();

  private static ScheduledThreadPoolExecutor connectDeadlines() {
    ScheduledThreadPoolExecutor e = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "tensor-link-connect-deadline");
      t.setDaemon(true);
      return t;
    });
    e.setRemoveOnCancelPolicy(true);
    return e;
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException ignored) {
      // Already failing; the opener sees it.
    }
  }

  /**
   * Sends the accepting end's challenge, before anything else is read or written.
   */
  void sendChallenge() throws IOException {
    challenge = LinkProof.nonce();
    write(LinkFrameProto.newBuilder().setChallenge(io.syncgrad.proto.LinkChallengeProto.newBuilder()
        .setNonce(challenge)).build());
    out.flush();
  }

  /** The nonce this end sent as its challenge: what the hello must prove its key over; empty on the opening end. */
  public com.google.protobuf.ByteString challenge() {
    return challenge;
  }

  /** Counts this link's bytes into {@code counter} (the node's), from now on. */
  public void countInto(Traffic counter) {
    this.traffic = counter;
  }

  /**
   * Takes frames of at most {@code bytes} from now on (never more than the node's limit): what
   * the link's run can need, so that a peer's frame header cannot make this node allocate more.
   */
  public void limitFrames(int bytes) {
    frameLimit = Math.max(1, Math.min(maxFrameBytes, bytes));
  }

  /** Who is at the other end, for messages. */
  public String peer() {
    return peer;
  }

  /**
   * Starts the reader and writer threads.
   *
   * @param onFrame  gets every frame received, on the reader thread
   * @param onClosed gets why the link closed, once, from whichever thread closed it
   */
  public void start(Consumer<LinkFrameProto> onFrame, Consumer<String> onClosed) {
    this.onClosed = onClosed;
    Thread reader = new Thread(() -> readLoop(onFrame), "tensor-link-reader-" + peer);
    Thread writer = new Thread(this::writeLoop, "tensor-link-writer-" + peer);
    reader.setDaemon(true);
    writer.setDaemon(true);
    reader.start();
    writer.start();
  }

  /** Queues a frame; it is written in the order queued. Frames sent after close are dropped. */
  public void send(LinkFrameProto frame) {
    if (!closed.get()) {
      outbox.add(frame);
    }
  }

  /** Whether the link is still usable. */
  public boolean isOpen() {
    return !closed.get();
  }

  @Override
  public void close() {
    close("closed locally");
  }

  private void close(String reason) {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    outbox.clear();
    outbox.add(POISON);
    try {
      socket.close();
    } catch (IOException e) {
      LOG.debug("Closing the tensor link to {}: {}", peer, e.toString());
    }
    onClosed.accept(reason);
  }

  /** Reads one frame, blocking. */
  LinkFrameProto read() throws IOException {
    int first = in.read();
    if (first < 0) {
      throw new EOFException("the peer closed the link");
    }
    int size = CodedInputStream.readRawVarint32(first, in);
    int limit = frameLimit;
    if (size < 0 || size > limit) {
      throw new InvalidProtocolBufferException("a frame of " + Integer.toUnsignedLong(size)
          + " bytes, more than the limit of " + limit + (limit == maxFrameBytes
          ? " (akka.remote.artery.advanced.maximum-frame-size)" : " (the largest this link's run can need)"));
    }
    byte[] bytes = new byte[size];
    if (in.readNBytes(bytes, 0, size) < size) {
      throw new EOFException("the peer closed the link inside a frame");
    }
    traffic.received(size + com.google.protobuf.CodedOutputStream.computeUInt32SizeNoTag(size));
    // The tensors' bytes stay in the frame's array (aliased, not copied): nothing else holds it.
    // Protobuf aliases only a buffer it is told is immutable, which CodedInputStream.newInstance
    // never says: parsed from it, every frame's tensors were copied once more.
    CodedInputStream frame = UnsafeByteOperations.unsafeWrap(bytes).newCodedInput();
    frame.enableAliasing(true);
    return LinkFrameProto.parseFrom(frame);
  }

  private void write(LinkFrameProto frame) throws IOException {
    frame.writeDelimitedTo(out);
    int size = frame.getSerializedSize();
    traffic.sent(size + com.google.protobuf.CodedOutputStream.computeUInt32SizeNoTag(size));
  }

  private void readLoop(Consumer<LinkFrameProto> onFrame) {
    try {
      while (!closed.get()) {
        onFrame.accept(read());
      }
    } catch (InvalidProtocolBufferException e) {
      LOG.warn("Tensor link to {}: malformed frame ({}); closing it", peer, e.getMessage());
      close("malformed frame: " + e.getMessage());
    } catch (IOException e) {
      close(closed.get() ? "closed locally" : "read failed: " + e.getMessage());
    } catch (Throwable e) {
      // Whatever else goes wrong with a frame (a bug where it is handed over, a heap too small),
      // the link must not stay open with nobody reading it: the peer's frames would vanish.
      LOG.error("Tensor link to {}: reading or handing over a frame failed; closing it", peer, e);
      close("reader failed: " + e);
    }
  }

  private void writeLoop() {
    try {
      while (true) {
        LinkFrameProto frame = outbox.take();
        if (frame == POISON) {
          return;
        }
        write(frame);
        if (outbox.isEmpty()) {
          out.flush();
        }
      }
    } catch (IOException e) {
      close("write failed: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      close("interrupted");
    } catch (Throwable e) {
      LOG.error("Tensor link to {}: writing a frame failed; closing it", peer, e);
      close("writer failed: " + e);
    }
  }
}
