package io.syncgrad.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.syncgrad.deploy.tls.CertificateAuthority;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node proves it belongs or does not start: {@code coordinator} and {@code worker} without TLS
 * stores or {@code --insecure} exit 2 saying how to make stores; {@code syncgrad certs} makes
 * them readable by their owner only, one authority and one key per node.
 */
class CertsIT {

  @TempDir
  Path dir;

  @Test
  void coordinatorAndWorkerWithoutStoresOrInsecureExit2SayingHowToMakeThem() {
    // Were the refusal missing, both would end soon, with another message: no such data, no coordinator.
    for (String[] args : List.of(new String[] {"coordinator", "--workers", "1", "--data",
        dir.resolve("none").toString(), "--out", dir.resolve("c").toString()},
        new String[] {"worker", "--seed-nodes", "127.0.0.1:1", "--join-timeout", "1s"})) {
      CliIT.Result r = CliIT.run(args);
      assertEquals(SyncgradCli.USER_ERROR, r.code(), r.err());
      String[] lines = r.err().strip().split("\n");
      assertEquals(1, lines.length, "one line: " + r.err());
      assertTrue(lines[0].startsWith("syncgrad: error: no TLS stores"), r.err());
      assertTrue(lines[0].contains("syncgrad certs --out DIR --nodes N") && lines[0].contains("--insecure"), r.err());
    }
    assertFalse(Files.exists(dir.resolve("c")), "nothing is written");
  }

  @Test
  void certsMakesOwnerOnlyStoresOfOneAuthorityAndAKeyPerNode() throws Exception {
    Path out = dir.resolve("certs");
    CliIT.Result r = CliIT.run("certs", "--out", out.toString(), "--nodes", "3");
    assertEquals(0, r.code(), r.err());
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(out)));
    List<String> expected = List.of("ca.crt", "node-1.p12", "node-1.password", "node-2.p12", "node-2.password",
        "node-3.p12", "node-3.password", "trust.p12", "trust.password");
    try (var files = Files.list(out)) {
      List<Path> all = files.sorted().toList();
      assertEquals(expected, all.stream().map(p -> p.getFileName().toString()).toList());
      for (Path p : all) {
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(p)), p.toString());
      }
    }
    KeyStore trust = load(out.resolve("trust.p12"), out.resolve("trust.password"));
    X509Certificate ca = (X509Certificate) trust.getCertificate(CertificateAuthority.CA_ALIAS);
    assertEquals(List.of(CertificateAuthority.CA_ALIAS), java.util.Collections.list(trust.aliases()),
        "the truststore holds the authority only");
    java.util.Set<Object> keys = new java.util.HashSet<>();
    for (int i = 1; i <= 3; i++) {
      KeyStore node = load(out.resolve("node-" + i + ".p12"), out.resolve("node-" + i + ".password"));
      X509Certificate cert = (X509Certificate) node.getCertificate(CertificateAuthority.NODE_ALIAS);
      cert.verify(ca.getPublicKey());
      cert.checkValidity();
      assertEquals("EC", cert.getPublicKey().getAlgorithm());
      assertTrue(keys.add(cert.getPublicKey()), "a key of its own for each node");
    }
    CliIT.Result again = CliIT.run("certs", "--out", out.toString(), "--nodes", "1");
    assertEquals(SyncgradCli.USER_ERROR, again.code(), "existing stores are never overwritten: " + again.err());
  }

  @Test
  void aPasswordFileOthersMayReadIsRefused() throws Exception {
    Path out = dir.resolve("certs");
    assertEquals(0, CliIT.run("certs", "--out", out.toString(), "--nodes", "1").code());
    Files.setPosixFilePermissions(out.resolve("node-1.password"), PosixFilePermissions.fromString("rw-r--r--"));
    CliIT.Result r = CliIT.run("worker", "--seed-nodes", "127.0.0.1:1", "--tls-keystore",
        out.resolve("node-1.p12").toString(), "--tls-truststore", out.resolve("trust.p12").toString());
    assertEquals(SyncgradCli.USER_ERROR, r.code(), r.err());
    assertTrue(r.err().contains("chmod 600"), r.err());
  }

  private static KeyStore load(Path store, Path password) throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(store)) {
      ks.load(in, Files.readString(password).strip().toCharArray());
    }
    return ks;
  }
}
