package io.syncgrad.common.transport;

import io.syncgrad.proto.LinkFrameProto;
import io.syncgrad.proto.LinkHelloProto;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.function.BiConsumer;
import javax.net.ssl.SSLServerSocket;

/**
 * The coordinator's end of the tensor links: accepts connections on one port, reads each one's
 * {@link LinkHelloProto}, the answer to the challenge it sends first, and hands the link over.
 * Whoever receives it checks the hello (the run, the worker, its proof of the worker's key, see
 * {@link LinkProof}) before using the link.
 */
public final class TensorLinkServer implements AutoCloseable {

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(TensorLinkServer.class);
  /** How long a new connection may take to say who it is. */
  private static final int HELLO_TIMEOUT_MS = 10_000;

  private final ServerSocket server;
  private final TensorLinkSettings settings;
  private volatile boolean closed;

  private TensorLinkServer(ServerSocket server, TensorLinkSettings settings) {
    this.server = server;
    this.settings = settings;
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
  }

  private void acceptLoop(BiConsumer<LinkHelloProto, TensorLink> onHello) {
    while (!closed) {
      Socket socket;
      try {
        socket = server.accept();
      } catch (IOException e) {
        if (!closed) {
          LOG.warn("Tensor link server stopped accepting: {}", e.getMessage());
        }
        return;
      }
      // The hello (and a TLS handshake) is read off the accepting thread: a slow or silent peer
      // must not hold up the others.
      Thread t = new Thread(() -> greet(socket, onHello), "tensor-link-hello");
      t.setDaemon(true);
      t.start();
    }
  }

  private void greet(Socket socket, BiConsumer<LinkHelloProto, TensorLink> onHello) {
    String peer = String.valueOf(socket.getRemoteSocketAddress());
    try {
      TensorLink link = new TensorLink(socket, peer, settings.maxFrameBytes());
      link.setReadTimeout(HELLO_TIMEOUT_MS);
      link.sendChallenge();
      LinkFrameProto first = link.read();
      link.setReadTimeout(0);
      if (!first.hasHello()) {
        LOG.warn("Tensor link from {} did not start with a hello; closed", peer);
        socket.close();
        return;
      }
      onHello.accept(first.getHello(), link);
    } catch (IOException | RuntimeException e) {
      LOG.warn("Tensor link from {} refused: {}", peer, e.getMessage());
      try {
        socket.close();
      } catch (IOException ignored) {
        // Already failing; nothing more to do.
      }
    }
  }
}
