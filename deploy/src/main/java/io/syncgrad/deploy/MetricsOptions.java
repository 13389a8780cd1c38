package io.syncgrad.deploy;

import picocli.CommandLine.Option;

/** Where a node serves its metrics and health, if anywhere. */
final class MetricsOptions {

  @Option(names = "--metrics-port", paramLabel = "PORT",
      description = "Serve Prometheus metrics on /metrics, and /healthz and /readyz, on this port (default: none).")
  Integer port;

  @Option(names = "--metrics-host", paramLabel = "HOST",
      description = "Address the metrics endpoint binds to (default: the node's --host, 127.0.0.1 unless told "
          + "otherwise; 0.0.0.0 for every interface, as Kubernetes probes need).")
  String host;

  /** The address to bind: {@code --metrics-host}, else the node's own. */
  String host(String nodeHost) {
    return host != null ? host : nodeHost;
  }

  /** Refuses a port outside 0..65535 (0: any free port). */
  void check() {
    if (port != null && (port < 0 || port > 65535)) {
      throw new io.syncgrad.common.error.UserException("--metrics-port must be in 0..65535, got " + port);
    }
  }
}
