package io.syncgrad.deploy;

import io.syncgrad.common.error.UserException;
import io.syncgrad.deploy.tls.NodeStores;
import io.syncgrad.deploy.tls.NodeTls;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * Where a node binds, and how it proves it belongs to its cluster: TLS with mutual
 * authentication from the stores it is given, on every address, loopback included (any process
 * of the host can reach 127.0.0.1). Without stores a node starts only with {@code --insecure},
 * and says so loudly.
 */
final class NodeAddress {

  /** Where a node's keystore password comes from: never the command line, where others can read it. */
  static final String KEYSTORE_PASSWORD = "SYNCGRAD_TLS_KEYSTORE_PASSWORD";
  /** Where a node's truststore password comes from. */
  static final String TRUSTSTORE_PASSWORD = "SYNCGRAD_TLS_TRUSTSTORE_PASSWORD";

  /** What a node without stores is told, on one line. */
  static final String NO_CREDENTIALS = "no TLS stores: every node must prove it belongs to the cluster; make "
      + "stores with 'syncgrad certs --out DIR --nodes N' and give each node --tls-keystore DIR/node-I.p12 "
      + "--tls-truststore DIR/trust.p12, or pass --insecure to let any process that reaches this node join";

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(NodeAddress.class);

  @Option(names = "--host", defaultValue = "127.0.0.1",
      description = "Address to bind and advertise (default 127.0.0.1).")
  String host;

  @Option(names = "--insecure", description = "Run without TLS: any process that can reach this node can join the "
      + "cluster and take part in the run, and traffic is plain text. Logged as a warning at start.")
  boolean insecure;

  @Option(names = "--tls-keystore", paramLabel = "FILE",
      description = "PKCS12 keystore with this node's key and certificate (syncgrad certs makes them): TLS with "
          + "mutual authentication. Password in $" + KEYSTORE_PASSWORD + ", else in FILE's .password sibling.")
  String keyStore;

  @Option(names = "--tls-truststore", paramLabel = "FILE",
      description = "PKCS12 truststore with the certificate authority of the cluster's nodes. Password in $"
          + TRUSTSTORE_PASSWORD + ", else in FILE's .password sibling.")
  String trustStore;

  /** The TLS settings, or null for plain TCP ({@code --insecure}). */
  NodeTls tls() {
    if (keyStore == null && trustStore == null) {
      return null;
    }
    List<String> problems = new ArrayList<>();
    if (keyStore == null || trustStore == null) {
      problems.add("TLS needs both --tls-keystore and --tls-truststore");
    }
    if (insecure) {
      problems.add("--insecure turns TLS off: give it or the TLS stores, not both");
    }
    for (String f : new String[] {keyStore, trustStore}) {
      if (f != null && !Files.isRegularFile(Path.of(f))) {
        problems.add(f + ": no such keystore file");
      }
    }
    String ksPassword = problems.isEmpty() ? password(KEYSTORE_PASSWORD, keyStore, problems) : null;
    String tsPassword = problems.isEmpty() ? password(TRUSTSTORE_PASSWORD, trustStore, problems) : null;
    if (!problems.isEmpty()) {
      throw new UserException(problems);
    }
    return new NodeTls(Path.of(keyStore).toAbsolutePath().toString(), ksPassword,
        Path.of(trustStore).toAbsolutePath().toString(), tsPassword);
  }

  /** A store's password: the variable's value, else what {@code syncgrad certs} wrote beside the store. */
  private static String password(String variable, String store, List<String> problems) {
    String value = System.getenv(variable);
    if (value != null) {
      return value;
    }
    Path file = NodeStores.passwordFile(Path.of(store));
    if (!Files.isRegularFile(file)) {
      problems.add(store + ": no password: set $" + variable + " or write it to " + file);
      return null;
    }
    try {
      return NodeStores.readPassword(file);
    } catch (IOException e) {
      problems.add(file + ": cannot read the password of " + store + ": " + e.getMessage());
    } catch (IllegalStateException e) {
      problems.add(e.getMessage());
    }
    return null;
  }

  /**
   * Refuses an unknown host, and a node without TLS stores unless {@code --insecure}.
   *
   * @return the TLS settings; null with {@code --insecure}
   */
  NodeTls check() {
    try {
      InetAddress.getByName(host);
    } catch (UnknownHostException e) {
      throw new UserException("--host " + host + ": unknown host", e);
    }
    NodeTls tls = tls();
    if (tls == null && !insecure) {
      throw new UserException(NO_CREDENTIALS);
    }
    return tls;
  }

  /** With {@code --insecure}: the warning every such node logs at its start (console and log file). */
  void warnIfInsecure(String node) {
    if (insecure) {
      LOG.warn("INSECURE: {} runs without TLS (--insecure): any process that can reach {} can join this cluster, "
          + "register as a worker and change the model, and every message travels in plain text", node, host);
    }
  }
}
