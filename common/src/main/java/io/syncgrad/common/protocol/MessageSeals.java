package io.syncgrad.common.protocol;

import akka.actor.AbstractExtensionId;
import akka.actor.ExtendedActorSystem;
import akka.actor.Extension;
import io.syncgrad.common.transport.LinkProof;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The worker keys a node holds, and the seals made with them: what binds a message between the
 * coordinator and a worker to that worker.
 *
 * <p>Artery tells a receiver nothing about who sent a message, and inside an authenticated
 * cluster every node can send to every other. So a registered worker could send the
 * coordinator a failure or a report in another worker's name, or tell another worker to stop.
 * Each worker therefore has a key of its own, made by the coordinator from the run, the
 * worker's id and its node's address, and handed to that worker alone in its {@code StartRun}.
 * {@link ProtocolSerializer} appends to every message of a worker, or to one, the HMAC-SHA256
 * of its bytes under that worker's key, and checks it before it decodes anything. A node that
 * lacks a worker's key can neither speak for it nor give it orders.
 *
 * <p>The coordinator's node holds the key of every worker it started a run on; a worker's node
 * holds its own. A message that should be sealed and is not, or whose seal is wrong, is refused
 * like any malformed message: Artery logs it and drops it.
 */
public final class MessageSeals implements Extension {

  /** Bytes of a seal. */
  public static final int SEAL_BYTES = 32;
  private static final byte[] DOMAIN = "syncgrad message seal v1".getBytes(StandardCharsets.UTF_8);
  private static final byte[] UNSEALED = new byte[SEAL_BYTES];

  private final ConcurrentHashMap<String, byte[]> keys = new ConcurrentHashMap<>();

  private static final Id ID = new Id();

  /** The seals of {@code system}'s node. */
  public static MessageSeals get(akka.actor.ActorSystem system) {
    return ID.get(system);
  }

  /** The seals of {@code system}'s node. */
  public static MessageSeals get(akka.actor.typed.ActorSystem<?> system) {
    return ID.get(akka.actor.typed.javadsl.Adapter.toClassic(system));
  }

  /** This node holds {@code key} for {@code workerId} from now on, in place of any earlier one. */
  public void hold(String workerId, byte[] key) {
    keys.put(workerId, key.clone());
  }

  /** Whether this node holds a key for {@code workerId}. */
  public boolean holds(String workerId) {
    return keys.containsKey(workerId);
  }

  /**
   * The seal of {@code body} (a message of kind {@code manifest}) for {@code workerId}: 32 zero
   * bytes when this node holds no key for it, which no node that holds the key accepts.
   */
  byte[] seal(String workerId, String manifest, byte[] body, int length) {
    byte[] key = keys.get(workerId);
    if (key == null) {
      return UNSEALED;
    }
    return LinkProof.hmac(key, DOMAIN, manifest.getBytes(StandardCharsets.UTF_8), Arrays.copyOf(body, length));
  }

  /**
   * Whether {@code seal} is the seal of {@code body} for {@code workerId}.
   *
   * @param required whether a message for a worker whose key this node lacks is refused (a
   *                 message from a worker) or taken unchecked (an order to a worker that is in no
   *                 run yet, such as a refusal)
   */
  boolean verifies(String workerId, String manifest, byte[] body, int length, byte[] seal, boolean required) {
    byte[] key = keys.get(workerId);
    if (key == null) {
      return !required;
    }
    return MessageDigest.isEqual(LinkProof.hmac(key, DOMAIN, manifest.getBytes(StandardCharsets.UTF_8),
        Arrays.copyOf(body, length)), seal);
  }

  private static final class Id extends AbstractExtensionId<MessageSeals> {
    @Override
    public MessageSeals createExtension(ExtendedActorSystem system) {
      return new MessageSeals();
    }
  }
}
