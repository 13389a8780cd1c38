package io.syncgrad.deploy;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import ch.qos.logback.core.FileAppender;
import java.util.ArrayDeque;

/**
 * A node's log file that is created only once the run is known to start: until {@link #open}
 * it keeps the events in memory (the newest {@value #HELD} of them), so that a command refused
 * for bad input leaves no folder behind; then it writes them, and every later event, to the file.
 */
final class DeferredFileAppender extends AppenderBase<ILoggingEvent> {

  static final int HELD = 20_000;

  private final FileAppender<ILoggingEvent> file;
  private final ArrayDeque<ILoggingEvent> held = new ArrayDeque<>();
  private boolean opened;

  /** @param file configured but not started: it creates its file when it starts */
  DeferredFileAppender(FileAppender<ILoggingEvent> file) {
    this.file = file;
  }

  @Override
  protected synchronized void append(ILoggingEvent event) {
    if (opened) {
      file.doAppend(event);
      return;
    }
    event.prepareForDeferredProcessing();
    if (held.size() == HELD) {
      held.removeFirst();
    }
    held.addLast(event);
  }

  /** Creates the file and writes what was held. @return false when the file cannot be written */
  synchronized boolean open() {
    if (opened) {
      return true;
    }
    file.start();
    if (!file.isStarted()) {
      return false;
    }
    opened = true;
    while (!held.isEmpty()) {
      file.doAppend(held.removeFirst());
    }
    return true;
  }

  @Override
  public synchronized void stop() {
    super.stop();
    held.clear();
    if (file.isStarted()) {
      file.stop();
    }
  }
}
