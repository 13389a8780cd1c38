package io.syncgrad.deploy.tls;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.CertificateEncodingException;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The TLS stores of one cluster in one folder: a new certificate authority, one PKCS12 keystore
 * per node ({@code NAME.p12}, the node's own key and certificate), one truststore for every node
 * ({@code trust.p12}, the authority's certificate) and the authority's certificate as PEM
 * ({@code ca.crt}, for inspection). Every file is created with mode 0600 in a folder of mode
 * 0700, each store with a random password of its own; the authority's key is not kept.
 */
public final class NodeStores {

  /** The truststore's file name. */
  public static final String TRUST_STORE = "trust.p12";
  /** The authority's certificate, PEM. */
  public static final String CA_CERTIFICATE = "ca.crt";
  /** A store {@code X.p12}'s password file is {@code X.password}. */
  public static final String PASSWORD_SUFFIX = ".password";

  private static final int PASSWORD_BYTES = 24;
  private static final SecureRandom RANDOM = new SecureRandom();

  private NodeStores() {}

  /**
   * Makes the stores of {@code nodes} in {@code dir}, which must not exist yet.
   *
   * @param passwordFiles also write each store's password beside it, in {@code NAME.password}
   * @return each node's TLS settings, in the order given
   */
  public static Map<String, NodeTls> write(Path dir, List<String> nodes, Duration validity,
      boolean passwordFiles) throws IOException {
    PrivateFiles.createDirectory(dir);
    CertificateAuthority ca = CertificateAuthority.create("syncgrad cluster CA " + Long.toHexString(
        RANDOM.nextLong()), validity);
    Path trust = dir.resolve(TRUST_STORE);
    String trustPassword = password();
    ca.writeTrustStore(trust, trustPassword.toCharArray());
    PrivateFiles.write(dir.resolve(CA_CERTIFICATE), pem(ca));
    if (passwordFiles) {
      PrivateFiles.write(passwordFile(trust), trustPassword + "\n");
    }
    Map<String, NodeTls> out = new LinkedHashMap<>();
    for (String node : nodes) {
      Path store = dir.resolve(node + ".p12");
      String password = password();
      CertificateAuthority.writeKeyStore(ca.issue("syncgrad " + node), store, password.toCharArray());
      if (passwordFiles) {
        PrivateFiles.write(passwordFile(store), password + "\n");
      }
      out.put(node, new NodeTls(store.toAbsolutePath().toString(), password,
          trust.toAbsolutePath().toString(), trustPassword));
    }
    return out;
  }

  /** Where {@code syncgrad certs} writes the password of {@code store}: {@code X.p12} → {@code X.password}. */
  public static Path passwordFile(Path store) {
    String name = store.getFileName().toString();
    String base = name.endsWith(".p12") ? name.substring(0, name.length() - 4) : name;
    return store.resolveSibling(base + PASSWORD_SUFFIX);
  }

  /**
   * The password in {@code file}, first line, as {@code syncgrad certs} wrote it.
   *
   * @throws IOException when it cannot be read
   * @throws IllegalStateException when others than its owner may read it
   */
  public static String readPassword(Path file) throws IOException {
    if (PrivateFiles.openToOthers(file)) {
      throw new IllegalStateException(file + " may be read by others than its owner: chmod 600 " + file);
    }
    String text = Files.readString(file, StandardCharsets.UTF_8);
    int end = text.indexOf('\n');
    return end < 0 ? text : text.substring(0, end);
  }

  private static String password() {
    byte[] b = new byte[PASSWORD_BYTES];
    RANDOM.nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  private static String pem(CertificateAuthority ca) {
    try {
      return "-----BEGIN CERTIFICATE-----\n"
          + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(
              ca.certificate().getEncoded())
          + "\n-----END CERTIFICATE-----\n";
    } catch (CertificateEncodingException e) {
      throw new IllegalStateException("encoding a certificate: " + e.getMessage(), e);
    }
  }
}
