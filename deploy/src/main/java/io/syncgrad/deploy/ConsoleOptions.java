package io.syncgrad.deploy;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** What a command shows on the console: a progress bar or plain lines, and the full log or not. */
final class ConsoleOptions {

  @Option(names = "--plain", description = "Periodic log lines instead of a progress bar.")
  boolean plain;

  @Option(names = "--verbose", description = "Show the full log of every node on the console too "
      + "(it is always in RUN/logs/).")
  boolean verbose;

  /** Sends the node's full log to {@code RUN/logs/NAME.log}, and to the console with --verbose. */
  void logTo(Path runDir, String name) {
    NodeLogs.console(verbose);
    NodeLogs.toRunDirectory(runDir, name);
  }
}
