package io.syncgrad.coordinator;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The keys that pairs of workers prove themselves with on their peer links: one per pair,
 * HMAC-SHA256 of the pair's ids under a secret only the coordinator holds. Each worker learns the
 * keys of its own pairs only, so it cannot speak for another worker to a third one.
 */
final class PairKeys {

  private static final int KEY_BYTES = 16;
  private final byte[] secret = new byte[32];

  PairKeys() {
    new SecureRandom().nextBytes(secret);
  }

  /** The key {@code a} and {@code b} share in run {@code runId}; the same whichever is named first. */
  byte[] of(String runId, String a, String b) {
    String first = a.compareTo(b) <= 0 ? a : b;
    String second = a.compareTo(b) <= 0 ? b : a;
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret, "HmacSHA256"));
      byte[] full = mac.doFinal((runId + "\u0000" + first + "\u0000" + second).getBytes(StandardCharsets.UTF_8));
      return Arrays.copyOf(full, KEY_BYTES);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is part of every Java runtime", e);
    }
  }
}
