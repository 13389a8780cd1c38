package io.syncgrad.worker;

import io.syncgrad.common.transport.LinkFaults;
import io.syncgrad.common.transport.LinkProof;
import io.syncgrad.common.transport.TensorLink;
import io.syncgrad.common.transport.TensorLinkServer;
import io.syncgrad.common.transport.TensorLinkSettings;
import io.syncgrad.common.transport.Traffic;
import io.syncgrad.proto.LinkFrameProto;
import io.syncgrad.proto.LinkHelloProto;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * A worker's links to its peers: one TCP (or TLS) connection per pair of workers, opened by the
 * one whose id sorts first, and proven on both ends with the key the coordinator gave just that
 * pair. Frames are told to the worker actor; sending never blocks it.
 *
 * <p>This is also where message faults happen: each frame's fate (delivered, lost, doubled,
 * delayed) is decided from the fault seed and the frame's identity, attempt included; a lost
 * frame is sent again after the retransmission delay, as a link that lost a packet would. A
 * partitioned worker drops every frame in both directions until the partition heals.
 *
 * <p>Used by the worker actor, and by the links' reader threads, which send a reduced chunk
 * as soon as it is complete; the timers only queue frames. What two of them share is synchronized.
 */
final class PeerLinks implements AutoCloseable {

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(PeerLinks.class);
  /** Frames waiting for a peer's link to open; a generation change clears them. */
  private static final int MAX_WAITING_FRAMES = 256;
  /** Hellos from peers this worker has no key for yet (their Go came first). */
  private static final int MAX_PENDING_HELLOS = 64;
  /** How long such a hello waits for its key before its link is closed. */
  private static final long PENDING_HELLO_NANOS = TimeUnit.SECONDS.toNanos(10);

  /** A frame received from an authenticated peer. */
  record Received(String peer, LinkFrameProto frame) {}

  /** An unverified hello, waiting for the key of its sender. */
  record Hello(LinkHelloProto hello, TensorLink link, long nanos) {}

  private final String self;
  private final String runId;
  private final TensorLinkSettings settings;
  private final TensorLinkServer server;
  private final Traffic traffic;
  private final LinkFaults faults;
  private final BiConsumer<String, LinkFrameProto> deliver;
  private final Runnable onClosed;
  private final int maxFrameBytes;
  private final Map<String, byte[]> keys = new HashMap<>();
  private final Map<String, String> endpoints = new HashMap<>();
  private final Map<String, TensorLink> links = new HashMap<>();
  private final Map<String, ArrayDeque<LinkFrameProto>> waiting = new HashMap<>();
  private final List<Hello> pending = new ArrayList<>();
  private final ScheduledExecutorService timers;
  private volatile long partitionedUntilNanos;
  /** Set by {@link #close}: a frame handed over afterwards (a reader thread finishing its step) is dropped. */
  private volatile boolean closed;
  private long injected;
  private long retries;
  private final List<String> events = new ArrayList<>();

  private PeerLinks(String self, String runId, TensorLinkSettings settings, TensorLinkServer server, Traffic traffic,
      LinkFaults faults, int maxFrameBytes, BiConsumer<String, LinkFrameProto> deliver, Runnable onClosed) {
    this.self = self;
    this.runId = runId;
    this.settings = settings;
    this.server = server;
    this.traffic = traffic;
    this.faults = faults;
    this.deliver = deliver;
    this.onClosed = onClosed;
    this.maxFrameBytes = maxFrameBytes;
    this.timers = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "peer-link-faults-" + self);
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * Takes this worker's peer link server (opened before it registered, so that its address could
   * be announced) for a run.
   *
   * @param maxFrameBytes the largest frame the run can need ({@link StepExchange#maxFrameBytes})
   * @param deliver       gets each frame of an adopted link, on its reader thread
   * @param onClosed      told when a link closes
   */
  static PeerLinks adopt(String self, String runId, TensorLinkSettings settings, TensorLinkServer server,
      Traffic traffic, LinkFaults faults, int maxFrameBytes, BiConsumer<String, LinkFrameProto> deliver,
      Runnable onClosed) {
    return new PeerLinks(self, runId, settings, server, traffic, faults, maxFrameBytes, deliver, onClosed);
  }

  /** Where peers connect. */
  String endpoint() {
    return server.endpoint();
  }

  /**
   * The members of a new generation: their keys and addresses. Connects to those whose id sorts
   * after this worker's, forgets frames waiting for the last generation, and looks again at the
   * hellos that came before their keys.
   */
  synchronized void members(Map<String, byte[]> pairKeys, Map<String, String> peerEndpoints) {
    if (closed) {
      return;
    }
    keys.putAll(pairKeys);
    endpoints.putAll(peerEndpoints);
    waiting.clear();
    for (Iterator<Hello> it = pending.iterator(); it.hasNext();) {
      Hello h = it.next();
      if (keys.containsKey(h.hello().getWorkerId())) {
        it.remove();
        hello(h.hello(), h.link());
      }
    }
    for (String peer : peerEndpoints.keySet()) {
      if (peer.compareTo(self) > 0 && open(peer) == null) {
        connect(peer);
      }
    }
  }

  private TensorLink open(String peer) {
    TensorLink link = links.get(peer);
    return link != null && link.isOpen() ? link : null;
  }

  private void connect(String peer) {
    byte[] key = keys.get(peer);
    try {
      adopt(peer, TensorLink.connect(endpoints.get(peer), settings, challenge -> LinkProof.hello(key, challenge,
          LinkHelloProto.newBuilder().setRunId(runId).setWorkerId(self).setToWorker(peer))));
    } catch (IOException | RuntimeException e) {
      LOG.warn("Worker [{}] cannot open its peer link to [{}] at {}: {}", self, peer, endpoints.get(peer),
          e.getMessage());
    }
  }

  /** A peer opened a link to this worker: kept when it proves who it is. */
  synchronized void hello(LinkHelloProto hello, TensorLink link) {
    if (closed) {
      link.close();
      return;
    }
    String peer = hello.getWorkerId();
    byte[] key = keys.get(peer);
    if (key == null && hello.getRunId().equals(runId) && hello.getToWorker().equals(self)) {
      long now = System.nanoTime();
      pending.removeIf(h -> {
        boolean old = now - h.nanos() > PENDING_HELLO_NANOS;
        if (old) {
          h.link().close();
        }
        return old;
      });
      // Full: the newcomer is refused, never a hello that came before it. Anyone who can reach the
      // port can send hellos (they are checked only once the keys come), and evicting the older ones
      // would let such a sender close a peer's genuine link before this worker's Go.
      if (pending.size() >= MAX_PENDING_HELLOS) {
        LOG.warn("Worker [{}] refused a peer link from {} claiming worker [{}]: {} links wait for their keys",
            self, link.peer(), peer, pending.size());
        link.close();
        return;
      }
      pending.add(new Hello(hello, link, now));
      return;
    }
    if (key == null || !hello.getRunId().equals(runId) || !hello.getToWorker().equals(self)
        || !LinkProof.proves(hello, key, link.challenge())) {
      LOG.warn("Worker [{}] refused a peer link from {} claiming worker [{}] of run [{}]", self, link.peer(), peer,
          hello.getRunId());
      link.close();
      return;
    }
    adopt(peer, link);
  }

  private void adopt(String peer, TensorLink link) {
    TensorLink old = links.put(peer, link);
    if (old != null && old != link) {
      old.close();
    }
    link.countInto(traffic);
    link.limitFrames(maxFrameBytes);
    link.start(frame -> {
      if (!partitioned()) {
        deliver.accept(peer, frame);
      }
    }, reason -> {
      LOG.debug("Peer link of [{}] to [{}] closed: {}", self, peer, reason);
      onClosed.run();
    });
    ArrayDeque<LinkFrameProto> queued = waiting.remove(peer);
    if (queued != null) {
      queued.forEach(link::send);
    }
  }

  /** A link ended: forgets it, so that the next generation opens a new one. */
  synchronized void forgetClosed() {
    links.values().removeIf(l -> !l.isOpen());
  }

  /**
   * Sends a frame to a peer through the injected faults.
   *
   * @param kind  0 partial sum, 1 reduced chunk, 2 state
   * @param route sender and receiver as a number, for the fault decision
   */
  void send(String peer, LinkFrameProto frame, int kind, long generation, long step, long route, int chunk,
      String what) {
    attempt(peer, frame, kind, generation, step, route, chunk, 0, what);
  }

  private void attempt(String peer, LinkFrameProto frame, int kind, long generation, long step, long route, int chunk,
      int attempt, String what) {
    if (partitioned() || closed) {
      return;
    }
    LinkFaults.Decision d = faults.decide(kind, generation, step, route, chunk, attempt);
    if (d instanceof LinkFaults.Drop) {
      fault("drop", what + " attempt " + attempt);
      retried();
      later(() -> attempt(peer, frame, kind, generation, step, route, chunk, attempt + 1, what),
          faults.retransmit().toMillis());
    } else if (d instanceof LinkFaults.Duplicate) {
      fault("duplicate", what);
      write(peer, frame);
      write(peer, frame);
    } else if (d instanceof LinkFaults.Delay delay) {
      fault("delay", what + " by " + delay.by().toMillis() + " ms");
      later(() -> write(peer, frame), delay.by().toMillis());
    } else {
      write(peer, frame);
    }
  }

  /** Runs {@code send} after {@code millis}, unless the links close first. */
  private void later(Runnable send, long millis) {
    try {
      timers.schedule(send, millis, TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // Closed in between: the run is over for this worker, and the frame with it.
    }
  }

  private synchronized void retried() {
    retries++;
  }

  private synchronized void fault(String kind, String what) {
    injected++;
    events.add(kind + ": " + what);
  }

  /** Writes at once, or when the peer's link opens (the peer connects to this worker). */
  private synchronized void write(String peer, LinkFrameProto frame) {
    if (closed) {
      return;
    }
    TensorLink link = open(peer);
    if (link != null) {
      link.send(frame);
      return;
    }
    ArrayDeque<LinkFrameProto> q = waiting.computeIfAbsent(peer, p -> new ArrayDeque<>());
    if (q.size() < MAX_WAITING_FRAMES) {
      q.add(frame);
    }
  }

  /** Cuts this worker off from every peer for {@code millis}, as an injected partition. */
  void partition(long millis) {
    // The coordinator counts the partition: it cuts its own side too.
    partitionedUntilNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
  }

  private boolean partitioned() {
    return System.nanoTime() < partitionedUntilNanos;
  }

  /** Faults injected so far. */
  synchronized long injected() {
    return injected;
  }

  /** Frames sent again after an injected loss. */
  synchronized long retries() {
    return retries;
  }

  /** The faults injected since the last call. */
  synchronized List<String> takeEvents() {
    List<String> out = List.copyOf(events);
    events.clear();
    return out;
  }

  @Override
  public synchronized void close() {
    closed = true;
    timers.shutdownNow();
    links.values().forEach(TensorLink::close);
    links.clear();
    pending.forEach(h -> h.link().close());
    pending.clear();
    server.close();
  }
}
