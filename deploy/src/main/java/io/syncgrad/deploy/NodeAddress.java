package io.syncgrad.deploy;

import io.syncgrad.common.error.UserException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import io.syncgrad.deploy.cluster.NodeConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** Where a node binds: loopback unless told otherwise, and never off loopback by accident. */
final class NodeAddress {

  /** Where a node's keystore password comes from: never the command line, where others can read it. */
  static final String KEYSTORE_PASSWORD = "SYNCGRAD_TLS_KEYSTORE_PASSWORD";
  /** Where a node's truststore password comes from. */
  static final String TRUSTSTORE_PASSWORD = "SYNCGRAD_TLS_TRUSTSTORE_PASSWORD";

  @Option(names = "--host", defaultValue = "127.0.0.1",
      description = "Address to bind and advertise (default 127.0.0.1). Another address needs TLS (--tls-keystore) or --insecure.")
  String host;

  @Option(names = "--insecure", description = "Allow binding to a non-loopback address without TLS: traffic is then plain text.")
  boolean insecure;

  @Option(names = "--tls-keystore", paramLabel = "FILE",
      description = "PKCS12 keystore with this node's key and certificate: turns on TLS with mutual authentication. "
          + "Password in $" + KEYSTORE_PASSWORD + ".")
  String keyStore;

  @Option(names = "--tls-truststore", paramLabel = "FILE",
      description = "PKCS12 truststore with the certificates of the cluster's nodes. Password in $" + TRUSTSTORE_PASSWORD + ".")
  String trustStore;

  /** The TLS settings, or null for plain TCP. */
  NodeConfig.Tls tls() {
    if (keyStore == null && trustStore == null) {
      return null;
    }
    List<String> problems = new ArrayList<>();
    if (keyStore == null || trustStore == null) {
      problems.add("TLS needs both --tls-keystore and --tls-truststore");
    }
    for (String f : new String[] {keyStore, trustStore}) {
      if (f != null && !Files.isRegularFile(Path.of(f))) {
        problems.add(f + ": no such keystore file");
      }
    }
    String ksPassword = System.getenv(KEYSTORE_PASSWORD);
    String tsPassword = System.getenv(TRUSTSTORE_PASSWORD);
    if (ksPassword == null || tsPassword == null) {
      problems.add("TLS needs the passwords in $" + KEYSTORE_PASSWORD + " and $" + TRUSTSTORE_PASSWORD);
    }
    if (!problems.isEmpty()) {
      throw new UserException(problems);
    }
    return new NodeConfig.Tls(Path.of(keyStore).toAbsolutePath().toString(), ksPassword,
        Path.of(trustStore).toAbsolutePath().toString(), tsPassword);
  }

  /** Refuses a non-loopback address without TLS or {@code --insecure}. */
  void check() {
    try {
      if (!InetAddress.getByName(host).isLoopbackAddress() && !insecure && tls() == null) {
        throw new UserException("--host " + host + " is not a loopback address: cluster traffic would travel in "
            + "plain text; give --tls-keystore and --tls-truststore, or pass --insecure to accept that");
      }
    } catch (UnknownHostException e) {
      throw new UserException("--host " + host + ": unknown host", e);
    }
  }
}
