package io.syncgrad.common.transport;

import io.syncgrad.proto.LinkFrameProto;
import io.syncgrad.proto.LinkHelloProto;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiConsumer;
import javax.net.ssl.SSLServerSocket;

/**
 * A node's link port: accepts connections, sends each one a challenge, reads its
 * {@link LinkHelloProto} (the answer) and hands the link over. Whoever receives it checks the
 * hello (the run, the worker, its proof of the worker's key over the challenge, see
 * {@link LinkProof}) before using the link.
 *
 * <p>Until a connection has said who it is, anyone who can reach the port may have opened it, so
 * it is held to {@link TensorLinkSettings.Greeting}: one overall deadline for the TLS handshake
 * and the hello, a hello of a few KiB, and one of a fixed number of greeting threads; a
 * connection that finds them all busy is closed at once.
 */
public final class TensorLinkServer implements AutoCloseable {

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(TensorLinkServer.class);
  /** After a failed accept (out of file descriptors, say), how long before the next. */
  private static final long ACCEPT_BACKOFF_MS = 100;

  private final ServerSocket server;
  private final TensorLinkSettings settings;
  private final ThreadPoolExecutor greeters;
  private final ScheduledThreadPoolExecutor deadlines;
  private volatile boolean closed;

  private TensorLinkServer(ServerSocket server, TensorLinkSettings settings) {
    this.server = server;
    this.settings = settings;
    int n = settings.greeting().concurrency();
    // No queue: a connection is greeted now, by one of n threads, or closed.
    this.greeters = new ThreadPoolExecutor(n, n, 30, TimeUnit.SECONDS, new SynchronousQueue<>(),
        daemon("tensor-link-hello"));
    greeters.allowCoreThreadTimeOut(true);
    this.deadlines = new ScheduledThreadPoolExecutor(1, daemon("tensor-link-hello-deadline"));
    deadlines.setRemoveOnCancelPolicy(true);
  }

  private static ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }

  /**
   * Binds and starts accepting.
   *
   * @param onHello gets each new link with its hello, on a thread of the server
   */
  public static TensorLinkServer open(TensorLinkSettings settings, BiConsumer<LinkHelloProto, TensorLink> onHello)
      throws IOException {
    ServerSocket server = settings.ssl() == null ? new ServerSocket()
        : settings.ssl().getServerSocketFactory().createServerSocket();
    try {
      if (server instanceof SSLServerSocket tls) {
        settings.restrict(tls);
      }
      // Set before bind, so that accepted connections advertise the large window from the start.
      server.setReceiveBufferSize(TensorLink.SOCKET_BUFFER_BYTES);
      server.bind(new InetSocketAddress(InetAddress.getByName(settings.bindHost()), settings.port()));
    } catch (IOException | RuntimeException e) {
      server.close();
      throw e;
    }
    TensorLinkServer s = new TensorLinkServer(server, settings);
    Thread acceptor = new Thread(() -> s.acceptLoop(onHello), "tensor-link-server");
    acceptor.setDaemon(true);
    acceptor.start();
    return s;
  }

  /** Where workers connect: the advertised host and the bound port. */
  public String endpoint() {
    return settings.advertisedHost() + ":" + server.getLocalPort();
  }

  @Override
  public void close() {
    closed = true;
    try {
      server.close();
    } catch (IOException e) {
      LOG.debug("Closing the tensor link server: {}", e.toString());
    }
    // Deadlines already set still fire (the executor's default after shutdown): a connection
    // being greeted is closed by its own, and its thread ends.
    greeters.shutdown();
    deadlines.shutdown();
  }

  private void acceptLoop(BiConsumer<LinkHelloProto, TensorLink> onHello) {
    while (!closed) {
      Socket socket;
      try {
        socket = server.accept();
      } catch (IOException e) {
        if (closed || server.isClosed()) {
          return;
        }
        // Out of file descriptors, say: the port stays open, and the next accept may succeed.
        LOG.warn("Tensor link server failed to accept a connection: {}", e.getMessage());
        try {
          Thread.sleep(ACCEPT_BACKOFF_MS);
        } catch (InterruptedException stop) {
          return;
        }
        continue;
      }
      try {
        // The hello (and a TLS handshake) is read off the accepting thread: a slow or silent peer
        // must not hold up the others.
        greeters.execute(() -> greet(socket, onHello));
      } catch (RejectedExecutionException busy) {
        if (closed) {
          closeQuietly(socket);
          return;
        }
        LOG.warn("Tensor link from {} closed: {} connections are saying hello already (syncgrad.tensor-link."
            + "max-greetings)", socket.getRemoteSocketAddress(), settings.greeting().concurrency());
        closeQuietly(socket);
      }
    }
  }

  private void greet(Socket socket, BiConsumer<LinkHelloProto, TensorLink> onHello) {
    String peer = String.valueOf(socket.getRemoteSocketAddress());
    TensorLinkSettings.Greeting greeting = settings.greeting();
    AtomicBoolean late = new AtomicBoolean();
    // One deadline for everything before the hello is in, however slowly its bytes trickle.
    ScheduledFuture<?> deadline;
    try {
      deadline = deadlines.schedule(() -> {
        late.set(true);
        closeQuietly(socket);
      }, greeting.timeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException shutDown) {
      closeQuietly(socket);
      return;
    }
    try {
      TensorLink link = new TensorLink(socket, peer, settings.maxFrameBytes());
      link.limitFrames(greeting.maxBytes());
      link.sendChallenge();
      LinkFrameProto first = link.read();
      if (!deadline.cancel(false)) {
        throw new IOException("no hello within " + greeting.timeout().toMillis() + " ms");
      }
      // The link's owner lowers this to what its run can need.
      link.limitFrames(settings.maxFrameBytes());
      if (!first.hasHello()) {
        LOG.warn("Tensor link from {} did not start with a hello; closed", peer);
        socket.close();
        return;
      }
      onHello.accept(first.getHello(), link);
    } catch (Throwable e) {
      deadline.cancel(false);
      String why = late.get() ? "no hello within " + greeting.timeout().toMillis()
          + " ms (syncgrad.tensor-link.greeting-timeout)" : String.valueOf(e.getMessage());
      LOG.warn("Tensor link from {} refused: {}", peer, why);
      closeQuietly(socket);
    }
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException ignored) {
      // Already failing; nothing more to do.
    }
  }
}
