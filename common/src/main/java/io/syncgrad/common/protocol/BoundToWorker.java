package io.syncgrad.common.protocol;

/**
 * A message between the coordinator and one worker: from it, or for it. Artery does not tell a
 * receiver who sent a message, so {@link ProtocolSerializer} seals every such message with that
 * worker's own key ({@link MessageSeals}), and a registered worker cannot speak or be spoken to in
 * another's name.
 */
public interface BoundToWorker extends WireMessage {

  /** The worker whose key seals this message. */
  String workerId();
}
