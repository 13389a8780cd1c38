package io.syncgrad.common.transport;

import com.google.protobuf.ByteString;
import io.syncgrad.proto.LinkFrameProto;
import io.syncgrad.proto.LinkHelloProto;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * How a link's opener proves that it holds the link's key without sending it: the accepting end
 * sends a fresh nonce ({@link io.syncgrad.proto.LinkChallengeProto}), and the hello carries
 * HMAC-SHA256 under the key of that nonce and of everything the hello claims (run, worker,
 * receiving worker). A proof is good for one connection only, and changing any claim breaks it.
 * On loopback this is the links' whole authentication; off loopback it comes on top of TLS.
 */
public final class LinkProof {

  /** Bytes of a challenge's nonce. */
  public static final int NONCE_BYTES = 32;
  private static final String ALGORITHM = "HmacSHA256";
  private static final byte[] DOMAIN = "syncgrad link hello v1".getBytes(StandardCharsets.UTF_8);
  private static final SecureRandom RANDOM = new SecureRandom();

  private LinkProof() {}

  /** A fresh challenge nonce. */
  static ByteString nonce() {
    byte[] b = new byte[NONCE_BYTES];
    RANDOM.nextBytes(b);
    return ByteString.copyFrom(b);
  }

  /** The hello frame answering {@code challenge}: {@code claims} with their proof under {@code key}. */
  public static LinkFrameProto hello(byte[] key, ByteString challenge, LinkHelloProto.Builder claims) {
    LinkHelloProto unproven = claims.clearProof().build();
    return LinkFrameProto.newBuilder().setHello(unproven.toBuilder().setProof(proof(key, challenge, unproven)))
        .build();
  }

  /** Whether {@code hello} proves {@code key} over {@code challenge} (never for an empty challenge). */
  public static boolean proves(LinkHelloProto hello, byte[] key, ByteString challenge) {
    if (key == null || challenge.size() != NONCE_BYTES) {
      return false;
    }
    return MessageDigest.isEqual(proof(key, challenge, hello).toByteArray(), hello.getProof().toByteArray());
  }

  /**
   * HMAC-SHA256 under {@code key} of {@code parts}, each preceded by its length, so that no two
   * different lists of parts give the same input.
   */
  public static byte[] hmac(byte[] key, byte[]... parts) {
    try {
      Mac mac = Mac.getInstance(ALGORITHM);
      mac.init(new SecretKeySpec(key, ALGORITHM));
      for (byte[] p : parts) {
        mac.update(ByteBuffer.allocate(Integer.BYTES).putInt(p.length).array());
        mac.update(p);
      }
      return mac.doFinal();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is part of every Java runtime", e);
    }
  }

  private static ByteString proof(byte[] key, ByteString challenge, LinkHelloProto hello) {
    return ByteString.copyFrom(hmac(key, DOMAIN, challenge.toByteArray(), utf8(hello.getRunId()),
        utf8(hello.getWorkerId()), utf8(hello.getToWorker())));
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
