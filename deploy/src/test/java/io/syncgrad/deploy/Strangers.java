package io.syncgrad.deploy;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.google.protobuf.ByteString;
import com.typesafe.config.ConfigValueFactory;
import io.syncgrad.common.transport.TensorLink;
import io.syncgrad.common.transport.TensorLinkSettings;
import io.syncgrad.deploy.cluster.NodeConfig;
import io.syncgrad.deploy.tls.NodeTls;
import io.syncgrad.proto.LinkFrameProto;
import io.syncgrad.proto.LinkHelloProto;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What a process of the same host that is not part of a run tries against it: it finds the
 * run's ports as anyone can (every TCP port its processes listen on), tries to join the cluster
 * through each, and opens a link to each with a hello that claims a worker of the run.
 */
final class Strangers {

  /** How long a stranger's join may try before its node gives up and ends (a refusal we can see). */
  static final Duration JOIN_TRIES = Duration.ofSeconds(5);
  private static final Duration WAIT = Duration.ofSeconds(30);

  private Strangers() {}

  /** The TCP ports that the processes {@code pids} listen on (Linux: /proc). */
  static Set<Integer> listeningPorts(List<Long> pids) throws IOException {
    Set<String> inodes = new HashSet<>();
    for (long pid : pids) {
      try (var fds = Files.list(Path.of("/proc", String.valueOf(pid), "fd"))) {
        for (Path fd : fds.toList()) {
          try {
            String target = Files.readSymbolicLink(fd).toString();
            if (target.startsWith("socket:[")) {
              inodes.add(target.substring(8, target.length() - 1));
            }
          } catch (IOException closedMeanwhile) {
            // The descriptor was closed while listing.
          }
        }
      }
    }
    Set<Integer> ports = new TreeSet<>();
    for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
      Path file = Path.of(table);
      if (!Files.isReadable(file)) {
        continue;
      }
      for (String line : Files.readAllLines(file)) {
        String[] f = line.trim().split("\\s+");
        // sl local_address rem_address st ... uid timeout inode
        if (f.length > 9 && f[3].equals("0A") && inodes.contains(f[9])) {
          ports.add(Integer.parseInt(f[1].substring(f[1].indexOf(':') + 1), 16));
        }
      }
    }
    return ports;
  }

  /**
   * For each of {@code stores} (a null element: plain TCP), a node tries to join through each
   * port, all at once; each must give up without ever being a member.
   */
  static void cannotJoin(Set<Integer> ports, NodeTls... stores) throws Exception {
    List<ActorSystem<Void>> strangers = new ArrayList<>();
    List<CompletableFuture<Boolean>> outcomes = new ArrayList<>();
    try {
      for (NodeTls tls : stores) {
        for (int port : ports) {
          ActorSystem<Void> s = ActorSystem.create(Behaviors.empty(), NodeConfig.SYSTEM,
              NodeConfig.of("127.0.0.1", 0, List.of("127.0.0.1:" + port), "worker", tls)
                  .withValue("akka.cluster.shutdown-after-unsuccessful-join-seed-nodes",
                      ConfigValueFactory.fromAnyRef(JOIN_TRIES.toMillis() + "ms")));
          strangers.add(s);
          // true: the stranger became a member; false: its join gave up and its node ended.
          CompletableFuture<Boolean> joined = new CompletableFuture<>();
          akka.cluster.Cluster.get(akka.actor.typed.javadsl.Adapter.toClassic(s)).registerOnMemberUp(
              () -> joined.complete(true));
          s.getWhenTerminated().thenRun(() -> joined.complete(false));
          outcomes.add(joined);
        }
      }
      for (CompletableFuture<Boolean> joined : outcomes) {
        assertFalse(joined.get(WAIT.toSeconds(), TimeUnit.SECONDS), "a stranger joined the cluster through one of "
            + ports);
      }
    } finally {
      strangers.forEach(ActorSystem::terminate);
    }
  }

  /**
   * Opens a link to each port with a hello claiming {@code worker} of the run and a made-up
   * proof: each connection must be closed by the other end without a single frame for the
   * stranger. Returns how many ports answered with a challenge (the run's link ports: at least
   * one, or the test proved nothing).
   */
  static int cannotOpenLinks(Set<Integer> ports, String runId, String worker, String toWorker) throws Exception {
    // Artery's ports send no challenge: a second is enough to tell.
    TensorLinkSettings plain = TensorLinkSettings.fromConfig(NodeConfig.of("127.0.0.1", 0, List.of(), "worker")
        .withValue("syncgrad.tensor-link.connect-timeout", ConfigValueFactory.fromAnyRef("1s")));
    int challenged = 0;
    for (int port : ports) {
      AtomicBoolean sawChallenge = new AtomicBoolean();
      TensorLink link;
      try {
        link = TensorLink.connect("127.0.0.1:" + port, plain, challenge -> {
          sawChallenge.set(true);
          return LinkFrameProto.newBuilder().setHello(LinkHelloProto.newBuilder().setRunId(runId)
              .setWorkerId(worker).setToWorker(toWorker).setProof(ByteString.copyFrom(new byte[32]))).build();
        });
      } catch (IOException notALinkPort) {
        // Artery (TLS) does not send a challenge: nothing to open there.
        continue;
      }
      assertTrue(sawChallenge.get());
      challenged++;
      BlockingQueue<LinkFrameProto> frames = new LinkedBlockingQueue<>();
      BlockingQueue<String> closed = new LinkedBlockingQueue<>();
      link.start(frames::add, closed::add);
      assertNotNull(closed.poll(WAIT.toSeconds(), TimeUnit.SECONDS), "port " + port + " kept a stranger's link open");
      assertNull(frames.poll(), "port " + port + " sent a stranger " + frames.peek());
      link.close();
    }
    return challenged;
  }
}
