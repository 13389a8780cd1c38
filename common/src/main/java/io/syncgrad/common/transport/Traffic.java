package io.syncgrad.common.transport;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The bytes one node has written to and read from the network: its links' frames and its Artery
 * messages (as serialised). Summed by whoever sends or receives, read by the node's reports.
 */
public final class Traffic {

  private final AtomicLong sent = new AtomicLong();
  private final AtomicLong received = new AtomicLong();

  /** Counts {@code bytes} written. */
  public void sent(long bytes) {
    sent.addAndGet(bytes);
  }

  /** Counts {@code bytes} read. */
  public void received(long bytes) {
    received.addAndGet(bytes);
  }

  /** Bytes written so far. */
  public long sentBytes() {
    return sent.get();
  }

  /** Bytes read so far. */
  public long receivedBytes() {
    return received.get();
  }
}
