package io.syncgrad.deploy;

import io.syncgrad.common.error.UserException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import picocli.CommandLine.Option;

/** Where a node binds: loopback unless told otherwise, and never off loopback by accident. */
final class NodeAddress {

  @Option(names = "--host", defaultValue = "127.0.0.1",
      description = "Address to bind and advertise (default 127.0.0.1). Another address needs --insecure until TLS is configured.")
  String host;

  @Option(names = "--insecure", description = "Allow binding to a non-loopback address without TLS: traffic is then plain text.")
  boolean insecure;

  /** Refuses a non-loopback address without {@code --insecure}. */
  void check() {
    try {
      if (!InetAddress.getByName(host).isLoopbackAddress() && !insecure) {
        throw new UserException("--host " + host + " is not a loopback address: cluster traffic would travel in "
            + "plain text; pass --insecure to accept that");
      }
    } catch (UnknownHostException e) {
      throw new UserException("--host " + host + ": unknown host", e);
    }
  }
}
