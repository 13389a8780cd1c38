package io.syncgrad.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import akka.actor.Address;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.MemberStatus;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import io.syncgrad.common.transport.TensorLink;
import io.syncgrad.common.transport.TensorLinkServer;
import io.syncgrad.common.transport.TensorLinkSettings;
import io.syncgrad.deploy.cluster.NodeConfig;
import io.syncgrad.deploy.tls.NodeTls;
import io.syncgrad.proto.LinkFrameProto;
import io.syncgrad.proto.LinkHelloProto;
import io.syncgrad.proto.PartialSumProto;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Nodes talk TLS with mutual authentication: a node with the cluster's certificate joins, a node
 * with another certificate is refused at the handshake and never becomes a member.
 */
class TlsIT {

  private static final String PASSWORD = "test-only-password";
  private static final Duration JOIN = Duration.ofSeconds(20);
  private static final Duration REFUSED = Duration.ofSeconds(8);

  @TempDir
  Path dir;

  @Test
  void onlyNodesWithTheClustersCertificateJoin() throws Exception {
    Path cluster = keyPair("cluster");
    Path rogue = keyPair("rogue");
    Path trust = trusting(cluster);
    NodeTls good = new NodeTls(cluster.toString(), PASSWORD, trust.toString(), PASSWORD);
    // The rogue trusts the cluster, but presents a certificate the cluster does not trust.
    NodeTls bad = new NodeTls(rogue.toString(), PASSWORD, trust.toString(), PASSWORD);

    List<ActorSystem<Void>> systems = new ArrayList<>();
    try {
      ActorSystem<Void> seed = node(good, systems);
      Address address = Cluster.get(seed).selfMember().address();
      Cluster.get(seed).manager().tell(Join.create(address));
      ActorSystem<Void> member = node(good, systems);
      Cluster.get(member).manager().tell(Join.create(address));
      awaitUp(seed, 2, JOIN);

      Strangers.cannotJoin(java.util.Set.of(address.getPort().get()), bad);
      assertEquals(2, upMembers(seed), "the node without the cluster's certificate must not join");
    } finally {
      systems.forEach(ActorSystem::terminate);
    }
  }

  /**
   * Nodes with the stores that {@code syncgrad certs} makes (passwords read from the files beside
   * them, as a node given only the store paths reads them) form a cluster; a node whose
   * certificate another {@code syncgrad certs} made is refused, whichever authority it trusts.
   */
  @Test
  void storesFromSyncgradCertsJoinAndNodesOfAnotherAuthorityAreRefused() throws Exception {
    assertEquals(0, SyncgradCli.execute(new java.io.PrintWriter(System.err, true), "certs", "--out",
        dir.resolve("ours").toString(), "--nodes", "2"));
    assertEquals(0, SyncgradCli.execute(new java.io.PrintWriter(System.err, true), "certs", "--out",
        dir.resolve("theirs").toString(), "--nodes", "1"));
    NodeTls first = stores("ours", "node-1", "ours");
    NodeTls second = stores("ours", "node-2", "ours");
    List<ActorSystem<Void>> systems = new ArrayList<>();
    try {
      ActorSystem<Void> seed = node(first, systems);
      Address address = Cluster.get(seed).selfMember().address();
      Cluster.get(seed).manager().tell(Join.create(address));
      Cluster.get(node(second, systems)).manager().tell(Join.create(address));
      awaitUp(seed, 2, JOIN);
      Strangers.cannotJoin(java.util.Set.of(address.getPort().get()), stores("theirs", "node-1", "theirs"),
          stores("theirs", "node-1", "ours"));
      assertEquals(2, upMembers(seed), "no node of another authority joined");
    } finally {
      systems.forEach(ActorSystem::terminate);
    }
  }

  /** The TLS settings a node gets from {@code --tls-keystore SET/NODE.p12 --tls-truststore TRUST/trust.p12}. */
  private NodeTls stores(String set, String node, String trust) {
    NodeAddress a = new NodeAddress();
    a.host = "127.0.0.1";
    a.keyStore = dir.resolve(set).resolve(node + ".p12").toString();
    a.trustStore = dir.resolve(trust).resolve("trust.p12").toString();
    return a.check();
  }

  /**
   * Tensor links follow the cluster's TLS where they use it (off loopback, or on loopback when
   * told): a worker with the cluster's certificate opens one and its frames arrive; one with
   * another certificate fails the handshake and is never handed over.
   */
  @Test
  void tensorLinksNeedTheClustersCertificateToo() throws Exception {
    Path cluster = keyPair("cluster");
    Path rogue = keyPair("rogue");
    Path trust = trusting(cluster);
    TensorLinkSettings good = TensorLinkSettings.fromConfig(tlsLinks(NodeConfig.of("127.0.0.1", 0, List.of(),
        "worker", new NodeTls(cluster.toString(), PASSWORD, trust.toString(), PASSWORD))));
    TensorLinkSettings bad = TensorLinkSettings.fromConfig(tlsLinks(NodeConfig.of("127.0.0.1", 0, List.of(),
        "worker", new NodeTls(rogue.toString(), PASSWORD, trust.toString(), PASSWORD))));
    assertNotNull(good.ssl(), "a TLS cluster gets TLS tensor links");
    assertNull(TensorLinkSettings.fromConfig(NodeConfig.of("127.0.0.1", 0, List.of(), "worker",
        new NodeTls(cluster.toString(), PASSWORD, trust.toString(), PASSWORD))).ssl(),
        "on loopback the links authenticate by their keys alone unless told to use TLS");
    BlockingQueue<TensorLink> accepted = new LinkedBlockingQueue<>();
    LinkFrameProto hello = LinkFrameProto.newBuilder().setHello(LinkHelloProto.newBuilder().setWorkerId("w"))
        .build();
    try (TensorLinkServer server = TensorLinkServer.open(good, (h, link) -> accepted.add(link))) {
      TensorLink member = TensorLink.connect(server.endpoint(), good, hello);
      TensorLink atServer = accepted.poll(JOIN.toSeconds(), TimeUnit.SECONDS);
      assertNotNull(atServer, "the cluster's certificate opens a link");
      BlockingQueue<LinkFrameProto> received = new LinkedBlockingQueue<>();
      atServer.start(received::add, reason -> { });
      member.start(f -> { }, reason -> { });
      LinkFrameProto step = LinkFrameProto.newBuilder().setPartial(PartialSumProto.newBuilder().setStep(3)).build();
      member.send(step);
      assertEquals(step, received.poll(JOIN.toSeconds(), TimeUnit.SECONDS));
      member.close();
      try {
        TensorLink intruder = TensorLink.connect(server.endpoint(), bad, hello);
        intruder.close();
      } catch (java.io.IOException expected) {
        // Refused at the handshake, on either side.
      }
      assertNull(accepted.poll(REFUSED.toSeconds(), TimeUnit.SECONDS), "no link for another certificate");
    }
  }

  private static com.typesafe.config.Config tlsLinks(com.typesafe.config.Config node) {
    return node.withValue("syncgrad.tensor-link.tls-on-loopback", com.typesafe.config.ConfigValueFactory.fromAnyRef(
        true));
  }

  private ActorSystem<Void> node(NodeTls tls, List<ActorSystem<Void>> systems) {
    ActorSystem<Void> s = ActorSystem.create(Behaviors.empty(), NodeConfig.SYSTEM,
        NodeConfig.of("127.0.0.1", 0, List.of(), "worker", tls));
    systems.add(s);
    return s;
  }

  private static long upMembers(ActorSystem<Void> s) {
    return StreamSupport.stream(Cluster.get(s).state().getMembers().spliterator(), false)
        .filter(m -> m.status().equals(MemberStatus.up())).count();
  }

  private static void awaitUp(ActorSystem<Void> s, int members, Duration limit) throws InterruptedException {
    long end = System.nanoTime() + limit.toNanos();
    while (upMembers(s) < members) {
      if (System.nanoTime() > end) {
        throw new AssertionError("only " + upMembers(s) + " of " + members + " members up after " + limit);
      }
      Thread.sleep(100);
    }
  }

  /** A truststore holding the certificate of {@code keyStore}. */
  private Path trusting(Path keyStore) throws Exception {
    Path trust = dir.resolve("cluster-trust.p12");
    keytool("-exportcert", "-alias", "node", "-keystore", keyStore.toString(), "-storepass", PASSWORD,
        "-file", dir.resolve("cluster.crt").toString());
    keytool("-importcert", "-noprompt", "-alias", "cluster", "-file", dir.resolve("cluster.crt").toString(),
        "-keystore", trust.toString(), "-storetype", "PKCS12", "-storepass", PASSWORD);
    return trust;
  }

  private Path keyPair(String name) throws Exception {
    Path ks = dir.resolve(name + ".p12");
    keytool("-genkeypair", "-alias", "node", "-keyalg", "RSA", "-keysize", "2048", "-dname", "CN=" + name,
        "-validity", "2", "-storetype", "PKCS12", "-keystore", ks.toString(), "-storepass", PASSWORD);
    return ks;
  }

  private static void keytool(String... args) throws Exception {
    String java = ProcessHandle.current().info().command().orElseThrow();
    Path keytool = Path.of(java).resolveSibling("keytool");
    List<String> command = new ArrayList<>(List.of(keytool.toString()));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (p.waitFor() != 0) {
      throw new AssertionError("keytool failed: " + out);
    }
  }
}
