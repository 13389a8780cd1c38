package io.syncgrad.deploy.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
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
