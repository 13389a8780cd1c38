package io.syncgrad.deploy.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import io.syncgrad.deploy.tls.NodeTls;
import java.util.List;

/** The configuration of one cluster node: {@code syncgrad-node.conf} plus address and seeds. */
public final class NodeConfig {

  /** The actor system name every node of a syncgrad cluster shares. */
  public static final String SYSTEM = "syncgrad";
  /** The dispatcher of the coordinator and worker actors. */
  public static final String COMPUTE_DISPATCHER = "syncgrad.compute-dispatcher";

  private NodeConfig() {}

  /**
   * @param host      the address to bind and advertise
   * @param port      the port; 0 for any free one
   * @param seedNodes {@code host:port} of nodes to join; empty to join programmatically
   * @param role      {@code coordinator} or {@code worker}
   */
  public static Config of(String host, int port, List<String> seedNodes, String role) {
    return of(host, port, seedNodes, role, null);
  }

  /**
   * Forward secrecy and AES-GCM (hardware-accelerated on x86 and ARM) only: ECDSA keys (what
   * {@code syncgrad certs} and the per-run authorities make), then RSA keys (stores made with
   * keytool). AES-128 first: as safe here, and cheaper than AES-256.
   */
  static final List<String> CIPHER_SUITES = List.of("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
      "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
      "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");

  /** Like {@link #of(String, int, List, String)}, over TLS with mutual authentication when {@code tls} is set. */
  public static Config of(String host, int port, List<String> seedNodes, String role, NodeTls tls) {
    Config base = base(host, port, seedNodes, role);
    if (tls == null) {
      return base;
    }
    String engine = "akka.remote.artery.ssl.config-ssl-engine.";
    return ConfigFactory.empty()
        .withValue("akka.remote.artery.transport", ConfigValueFactory.fromAnyRef("tls-tcp"))
        .withValue(engine + "key-store", ConfigValueFactory.fromAnyRef(tls.keyStore()))
        .withValue(engine + "key-store-password", ConfigValueFactory.fromAnyRef(tls.keyStorePassword()))
        .withValue(engine + "key-password", ConfigValueFactory.fromAnyRef(tls.keyStorePassword()))
        .withValue(engine + "trust-store", ConfigValueFactory.fromAnyRef(tls.trustStore()))
        .withValue(engine + "trust-store-password", ConfigValueFactory.fromAnyRef(tls.trustStorePassword()))
        .withValue(engine + "protocol", ConfigValueFactory.fromAnyRef("TLSv1.2"))
        .withValue(engine + "enabled-algorithms", ConfigValueFactory.fromIterable(CIPHER_SUITES))
        .withValue(engine + "require-mutual-authentication", ConfigValueFactory.fromAnyRef(true))
        .withFallback(base)
        .resolve();
  }

  private static Config base(String host, int port, List<String> seedNodes, String role) {
    List<String> seeds = seedNodes.stream().map(s -> "akka://" + SYSTEM + "@" + s).toList();
    // -Dakka... system properties (SYNCGRAD_JAVA_OPTS) override everything, for tuning a node.
    return ConfigFactory.systemProperties()
        .withValue("akka.remote.artery.canonical.hostname", ConfigValueFactory.fromAnyRef(host))
        .withValue("akka.remote.artery.canonical.port", ConfigValueFactory.fromAnyRef(port))
        .withValue("akka.cluster.seed-nodes", ConfigValueFactory.fromIterable(seeds))
        .withValue("akka.cluster.roles", ConfigValueFactory.fromIterable(List.of(role)))
        .withFallback(ConfigFactory.parseResources("syncgrad-node.conf"))
        .withFallback(ConfigFactory.load())
        .resolve();
  }
}
