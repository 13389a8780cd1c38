package io.syncgrad.common.transport;

import com.typesafe.config.Config;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * How a node opens tensor links, read from its Akka configuration so that the links follow the
 * node's transport: the same address as Artery, the same frame limit, and TLS with mutual
 * authentication from the same keystores whenever Artery runs {@code tls-tcp}, except on a
 * loopback address (unless {@code tls-on-loopback}), where the key proof of {@link LinkProof} alone
 * authenticates the links.
 *
 * @param bindHost       the address the coordinator listens on
 * @param advertisedHost the address workers connect to
 * @param port           the port this node's link server binds (the coordinator's links, a
 *                       worker's peer links); 0 for any free one
 * @param maxFrameBytes  the largest frame accepted on any link (Artery's frame limit); each link's
 *                       owner lowers it to what its run can need ({@link TensorLink#limitFrames})
 * @param connectTimeout how long a worker tries to connect
 * @param ssl            null for plain TCP
 * @param protocols      the TLS protocols allowed
 * @param cipherSuites   the TLS cipher suites allowed
 * @param greeting       how a link server treats connections that have not said who they are
 */
public record TensorLinkSettings(String bindHost, String advertisedHost, int port, int maxFrameBytes,
    Duration connectTimeout, SSLContext ssl, List<String> protocols, List<String> cipherSuites, Greeting greeting) {

  /**
   * The bounds on a new connection before it said who it is: anyone who can reach the port gets
   * this far, so it costs the server a few KiB and one of a few threads for a few seconds at most.
   *
   * @param timeout     the TLS handshake and the hello together, from the accept
   * @param maxBytes    the largest hello frame
   * @param concurrency connections greeted at once; one more is closed at once
   */
  public record Greeting(Duration timeout, int maxBytes, int concurrency) {

    /** The defaults of {@code reference.conf}. */
    public static final Greeting DEFAULT = new Greeting(Duration.ofSeconds(5), 4096, 16);

    public Greeting {
      if (timeout.isNegative() || timeout.isZero() || maxBytes < 64 || concurrency < 1) {
        throw new IllegalArgumentException("syncgrad.tensor-link: greeting-timeout must be > 0 (got " + timeout
            + "), max-greeting-bytes >= 64 (got " + maxBytes + "), max-greetings >= 1 (got " + concurrency + ")");
      }
    }

    static Greeting fromConfig(Config c) {
      return new Greeting(c.getDuration("syncgrad.tensor-link.greeting-timeout"),
          (int) Math.min(1 << 20, c.getBytes("syncgrad.tensor-link.max-greeting-bytes")),
          c.getInt("syncgrad.tensor-link.max-greetings"));
    }
  }

  private static final String ENGINE = "akka.remote.artery.ssl.config-ssl-engine.";

  /**
   * @throws IllegalArgumentException when TLS is configured and its stores cannot be read
   */
  public static TensorLinkSettings fromConfig(Config c) {
    String canonical = resolve(c.getString("akka.remote.artery.canonical.hostname"));
    String bind = c.getString("akka.remote.artery.bind.hostname");
    long frame = c.getBytes("akka.remote.artery.advanced.maximum-frame-size");
    String bindHost = bind.isEmpty() ? canonical : bind;
    // On loopback only this host sees the bytes: links then prove who they are with their keys
    // (challenge and response) and skip the encryption, unless told otherwise.
    boolean tls = c.getString("akka.remote.artery.transport").equals("tls-tcp")
        && (c.getBoolean("syncgrad.tensor-link.tls-on-loopback") || !loopback(bindHost));
    return new TensorLinkSettings(bindHost, canonical,
        c.getInt("syncgrad.tensor-link.port"), (int) Math.min(Integer.MAX_VALUE - 8, frame),
        c.getDuration("syncgrad.tensor-link.connect-timeout"), tls ? sslContext(c) : null,
        tls ? List.of(c.getString(ENGINE + "protocol")) : List.of(),
        tls ? c.getStringList(ENGINE + "enabled-algorithms") : List.of(), Greeting.fromConfig(c));
  }

  private static boolean loopback(String host) {
    try {
      return java.net.InetAddress.getByName(host).isLoopbackAddress();
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }

  /** Akka's placeholders for this machine's address, as Akka resolves them. */
  private static String resolve(String host) {
    try {
      return switch (host) {
        case "<getHostAddress>" -> java.net.InetAddress.getLocalHost().getHostAddress();
        case "<getHostName>" -> java.net.InetAddress.getLocalHost().getHostName();
        default -> host;
      };
    } catch (java.net.UnknownHostException e) {
      return "127.0.0.1";
    }
  }

  private static SSLContext sslContext(Config c) {
    try {
      KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      keys.init(load(c.getString(ENGINE + "key-store"), c.getString(ENGINE + "key-store-password")),
          c.getString(ENGINE + "key-password").toCharArray());
      TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      trust.init(load(c.getString(ENGINE + "trust-store"), c.getString(ENGINE + "trust-store-password")));
      SSLContext ctx = SSLContext.getInstance(c.getString(ENGINE + "protocol"));
      ctx.init(keys.getKeyManagers(), trust.getTrustManagers(), new java.security.SecureRandom());
      return ctx;
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalArgumentException("tensor link TLS: " + e.getMessage(), e);
    }
  }

  private static KeyStore load(String file, String password) throws IOException, GeneralSecurityException {
    KeyStore store = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(Path.of(file))) {
      store.load(in, password.toCharArray());
    }
    return store;
  }

  /** The cluster's protocols and cipher suites on a client socket. */
  void restrict(SSLSocket socket) {
    socket.setEnabledProtocols(protocols.toArray(String[]::new));
    socket.setEnabledCipherSuites(cipherSuites.toArray(String[]::new));
  }

  /** The cluster's protocols and cipher suites, and a certificate required of every client. */
  void restrict(SSLServerSocket socket) {
    socket.setEnabledProtocols(protocols.toArray(String[]::new));
    socket.setEnabledCipherSuites(cipherSuites.toArray(String[]::new));
    socket.setNeedClientAuth(true);
  }
}
