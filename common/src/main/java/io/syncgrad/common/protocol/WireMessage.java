package io.syncgrad.common.protocol;

/**
 * A message that crosses the network between coordinator and workers. Every such message is
 * bound to {@link ProtocolSerializer} (protobuf on the wire); Java serialization stays off.
 */
public interface WireMessage {}
