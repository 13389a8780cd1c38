package io.syncgrad.coordinator;

import akka.actor.typed.ActorRef;
import io.syncgrad.common.checkpoint.StateParts;
import io.syncgrad.common.model.ModelSpec;
import io.syncgrad.common.protocol.CoordinatorProtocol.Command;
import io.syncgrad.common.transport.LinkProof;
import io.syncgrad.common.transport.TensorLink;
import io.syncgrad.common.transport.TensorLinkServer;
import io.syncgrad.common.transport.TensorLinkSettings;
import io.syncgrad.common.transport.Traffic;
import io.syncgrad.proto.LinkHelloProto;
import io.syncgrad.proto.StateProto;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * The coordinator's links to its workers: the port workers connect to, each worker's own link
 * key, and which link belongs to which worker. They carry whole states only: the state
 * a worker starts from, and the snapshots workers send for checkpoints and evaluations.
 * Used by the coordinator actor only, on its own thread.
 */
final class WorkerLinks implements AutoCloseable {

  private static final byte[] PURPOSE = "worker link key".getBytes(StandardCharsets.UTF_8);

  private final TensorLinkServer server;
  /** Known to this coordinator only: every worker's key is derived from it. */
  private final byte[] secret;
  private final int maxFrameBytes;
  private final Map<String, TensorLink> links = new HashMap<>();
  private long accepted;

  private WorkerLinks(TensorLinkServer server, byte[] secret, int maxFrameBytes) {
    this.server = server;
    this.secret = secret;
    this.maxFrameBytes = maxFrameBytes;
  }

  /**
   * Opens the port workers connect to, for a run of {@code model}.
   *
   * @param onHello gets each connection that said who it is, on a thread of the server
   * @throws IOException when the port cannot be bound
   */
  static WorkerLinks open(com.typesafe.config.Config config, ModelSpec model,
      BiConsumer<LinkHelloProto, TensorLink> onHello) throws IOException {
    TensorLinkSettings settings = TensorLinkSettings.fromConfig(config);
    byte[] secret = new byte[32];
    new SecureRandom().nextBytes(secret);
    return new WorkerLinks(TensorLinkServer.open(settings, onHello), secret, StateParts.maxFrameBytes(model));
  }

  /** {@code host:port} for {@code StartRun}. */
  String endpoint() {
    return server.endpoint();
  }

  /**
   * The key that {@code worker}, and no other worker, proves its link with: HMAC-SHA256 under
   * this coordinator's secret of the run, the worker's id and its node's address. It goes in that
   * worker's {@code StartRun} only; knowing it tells nothing about another worker's key.
   */
  byte[] keyOf(String runId, Membership.Worker worker) {
    return LinkProof.hmac(secret, PURPOSE, runId.getBytes(StandardCharsets.UTF_8),
        worker.id().getBytes(StandardCharsets.UTF_8),
        worker.ref().path().address().toString().getBytes(StandardCharsets.UTF_8));
  }

  /** {@link #keyOf} in hex, for {@code StartRun}. */
  String keyHexOf(String runId, Membership.Worker worker) {
    return HexFormat.of().formatHex(keyOf(runId, worker));
  }

  /** Whether {@code link}'s {@code hello} proves the key of {@code worker}, over the challenge the link sent. */
  boolean proves(String runId, Membership.Worker worker, LinkHelloProto hello, TensorLink link) {
    return LinkProof.proves(hello, keyOf(runId, worker), link.challenge());
  }

  /**
   * Takes {@code link} as {@code worker}'s (closing one it had) and starts it: each state the
   * worker sends on it is told to {@code coordinator} through {@code onState}; its end as
   * {@code closed}.
   */
  void adopt(String worker, TensorLink link, ActorRef<Command> coordinator,
      java.util.function.Function<StateProto, Command> onState, Command closed, Traffic traffic) {
    accepted++;
    TensorLink old = links.put(worker, link);
    if (old != null) {
      old.close();
    }
    link.countInto(traffic);
    // A link carries whole states of the run's model, in parts: nothing larger is read.
    link.limitFrames(maxFrameBytes);
    link.start(frame -> {
      if (frame.hasState() && frame.getState().getFromWorker().equals(worker)) {
        coordinator.tell(onState.apply(frame.getState()));
      }
    }, reason -> coordinator.tell(closed));
  }

  /** The worker's open link, or null. */
  TensorLink of(String worker) {
    TensorLink link = links.get(worker);
    return link != null && link.isOpen() ? link : null;
  }

  /**
   * A link ended: forgotten if it is still the worker's.
   *
   * @return whether it was
   */
  boolean ended(String worker, TensorLink link) {
    return links.remove(worker, link);
  }

  /** Closes the worker's link, if it has one. */
  void drop(String worker) {
    TensorLink link = links.remove(worker);
    if (link != null) {
      link.close();
    }
  }

  /** How many links were taken in this run. */
  long accepted() {
    return accepted;
  }

  @Override
  public void close() {
    links.values().forEach(TensorLink::close);
    links.clear();
    server.close();
  }
}
