package io.syncgrad.deploy;

import com.sun.net.httpserver.HttpExchange;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.syncgrad.common.error.UserException;
import io.syncgrad.common.metrics.Telemetry;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * A node's HTTP endpoint for operators: {@code /metrics} in Prometheus text format (the
 * Prometheus client's own server), {@code /healthz} (200 while the process runs) and
 * {@code /readyz} (200 while the node is ready, 503 otherwise, with the reason in the body), for
 * scrapers and for Kubernetes probes. Two threads serve it and a few requests may queue; more
 * are refused, so a flood of scrapes cannot take a training node's memory or cores.
 */
final class MetricsServer implements AutoCloseable {

  private final HTTPServer server;

  private MetricsServer(HTTPServer server) {
    this.server = server;
  }

  /**
   * Serves {@code telemetry} on {@code host:port}, or does nothing when {@code port} is null.
   *
   * @throws UserException when the port cannot be bound
   */
  static MetricsServer start(Telemetry telemetry, String host, Integer port) {
    if (port == null) {
      return new MetricsServer(null);
    }
    ThreadPoolExecutor pool = new ThreadPoolExecutor(2, 2, 60, TimeUnit.SECONDS, new ArrayBlockingQueue<>(16), r -> {
      Thread t = new Thread(r, "metrics-http");
      t.setDaemon(true);
      return t;
    }, new ThreadPoolExecutor.DiscardPolicy());
    try {
      HTTPServer server = HTTPServer.builder()
          .hostname(host)
          .port(port)
          .registry(telemetry.registry())
          .executorService(pool)
          .registerHealthHandler(false)
          .defaultHandler(exchange -> health(telemetry, exchange))
          .buildAndStart();
      return new MetricsServer(server);
    } catch (IOException e) {
      pool.shutdownNow();
      throw new UserException("--metrics-port " + port + ": cannot serve metrics on " + host + ":" + port + " ("
          + e.getMessage() + ")", e);
    }
  }

  private static void health(Telemetry telemetry, HttpExchange exchange) throws IOException {
    String path = exchange.getRequestURI().getPath();
    int status;
    String body;
    switch (path) {
      case "/healthz" -> {
        status = 200;
        body = "alive\n";
      }
      case "/readyz" -> {
        status = telemetry.isReady() ? 200 : 503;
        body = (telemetry.isReady() ? "ready: " : "not ready: ") + telemetry.readiness() + "\n";
      }
      default -> {
        status = 404;
        body = "not found; try /metrics, /healthz or /readyz\n";
      }
    }
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
    if ("HEAD".equals(exchange.getRequestMethod())) {
      exchange.sendResponseHeaders(status, -1);
    } else {
      exchange.sendResponseHeaders(status, bytes.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(bytes);
      }
    }
    exchange.close();
  }

  /** The port it listens on (useful when 0 asked for any free one); -1 when not serving. */
  int port() {
    return server == null ? -1 : server.getPort();
  }

  @Override
  public void close() {
    if (server != null) {
      server.close();
    }
  }
}
