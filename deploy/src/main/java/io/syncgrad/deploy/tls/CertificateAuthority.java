package io.syncgrad.deploy.tls;

import java.io.IOException;
import java.io.OutputStream;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A certificate authority held in memory: it signs the certificates of one cluster's nodes, and
 * the cluster's truststore holds its certificate only, so that a node is accepted exactly when
 * this authority signed its certificate. Its private key is never written anywhere: once the
 * nodes' stores are made, nobody can add a node to the cluster.
 *
 * <p>Keys are EC P-256 (generated in about a millisecond, where RSA 2048 takes a tenth of a
 * second or more on a small machine), signed with SHA256withECDSA by the JDK's own providers;
 * Bouncy Castle only builds the X.509 structures, which the JDK has no public API for.
 */
public final class CertificateAuthority {

  /** The alias of a node's key in its keystore, and of the authority in the truststore. */
  public static final String NODE_ALIAS = "node";
  public static final String CA_ALIAS = "ca";

  private static final String SIGNATURE = "SHA256withECDSA";
  /** Clocks of the cluster's machines may differ a little. */
  private static final Duration BACKDATE = Duration.ofHours(1);

  private final SecureRandom random = new SecureRandom();
  private final X500Name name;
  private final KeyPair keys;
  private final X509Certificate certificate;
  private final Duration validity;

  /** A node's key and its certificate chain (the node's certificate, then the authority's). */
  public record Issued(PrivateKey key, X509Certificate[] chain) {}

  private CertificateAuthority(X500Name name, KeyPair keys, X509Certificate certificate, Duration validity) {
    this.name = name;
    this.keys = keys;
    this.certificate = certificate;
    this.validity = validity;
  }

  /**
   * A new authority.
   *
   * @param commonName its name, shown in the certificates it signs
   * @param validity   how long it and the certificates it signs are valid
   */
  public static CertificateAuthority create(String commonName, Duration validity) {
    try {
      X500Name name = new X500Name("CN=" + commonName);
      KeyPair keys = keyPair();
      CertificateAuthority ca = new CertificateAuthority(name, keys, null, validity);
      X509v3CertificateBuilder b = ca.builder(name, keys);
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      return new CertificateAuthority(name, keys, ca.sign(b), validity);
    } catch (GeneralSecurityException | CertIOException | OperatorCreationException e) {
      throw new IllegalStateException("making a certificate authority: " + e.getMessage(), e);
    }
  }

  /** The authority's certificate: what a node's truststore holds. */
  public X509Certificate certificate() {
    return certificate;
  }

  /** A new key for a node, and its certificate, good for TLS as server and as client. */
  public Issued issue(String commonName) {
    try {
      KeyPair node = keyPair();
      X509v3CertificateBuilder b = builder(new X500Name("CN=" + commonName), node);
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
      b.addExtension(Extension.extendedKeyUsage, false,
          new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
      b.addExtension(Extension.authorityKeyIdentifier, false,
          new JcaX509ExtensionUtils().createAuthorityKeyIdentifier(certificate));
      return new Issued(node.getPrivate(), new X509Certificate[] {sign(b), certificate});
    } catch (GeneralSecurityException | CertIOException | OperatorCreationException e) {
      throw new IllegalStateException("issuing a certificate: " + e.getMessage(), e);
    }
  }

  /** Writes {@code issued} as a PKCS12 keystore, its key under {@link #NODE_ALIAS}, readable by the owner only. */
  public static void writeKeyStore(Issued issued, Path file, char[] password) throws IOException {
    try {
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      store.setKeyEntry(NODE_ALIAS, issued.key(), password, issued.chain());
      write(store, file, password);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("writing a PKCS12 keystore: " + e.getMessage(), e);
    }
  }

  /** Writes a PKCS12 truststore holding this authority's certificate only. */
  public void writeTrustStore(Path file, char[] password) throws IOException {
    try {
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      store.setCertificateEntry(CA_ALIAS, certificate);
      write(store, file, password);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("writing a PKCS12 truststore: " + e.getMessage(), e);
    }
  }

  private static void write(KeyStore store, Path file, char[] password) throws IOException,
      GeneralSecurityException {
    PrivateFiles.create(file);
    try (OutputStream out = Files.newOutputStream(file)) {
      store.store(out, password);
    }
  }

  private X509v3CertificateBuilder builder(X500Name subject, KeyPair subjectKeys) throws GeneralSecurityException,
      CertIOException {
    Instant now = Instant.now();
    X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, new BigInteger(63, random).add(BigInteger.ONE),
        Date.from(now.minus(BACKDATE)), Date.from(now.plus(validity)), subject, subjectKeys.getPublic());
    b.addExtension(Extension.subjectKeyIdentifier, false,
        new JcaX509ExtensionUtils().createSubjectKeyIdentifier(subjectKeys.getPublic()));
    return b;
  }

  private X509Certificate sign(X509v3CertificateBuilder b) throws GeneralSecurityException,
      OperatorCreationException {
    X509Certificate cert = new JcaX509CertificateConverter().getCertificate(
        b.build(new JcaContentSignerBuilder(SIGNATURE).build(keys.getPrivate())));
    cert.verify(keys.getPublic());
    return cert;
  }

  private static KeyPair keyPair() throws GeneralSecurityException {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"));
    return g.generateKeyPair();
  }
}
