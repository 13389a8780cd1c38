package io.syncgrad.deploy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.filter.ThresholdFilter;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.filter.Filter;
import ch.qos.logback.core.spi.FilterReply;
import ch.qos.logback.core.FileAppender;
import io.syncgrad.common.error.UserException;
import java.nio.file.Path;
import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;

/**
 * Where a node's log lines go. The console is for people: the progress bar, the results, and
 * warnings when something is wrong; everything else a node logs (members joining, links opened,
 * generations formed) goes to its file under {@code RUN/logs/}, where it is there when a run
 * needs explaining. {@code --verbose} sends the full log to the console as well.
 */
final class NodeLogs {

  /** The run directory's folder of node logs. */
  static final String DIR = "logs";

  private static final String CONSOLE = "STDERR";
  private static final String FILE = "NODE_FILE";

  private NodeLogs() {}

  /**
   * Starts logging before any thread can log: logback comes up once, on this thread (Akka's
   * threads logging while it initialises would make SLF4J replay them with its own notice),
   * and libraries that log through {@code java.util.logging} (the BLAS loader) go through it too.
   */
  static void init() {
    LoggerFactory.getILoggerFactory();
    SLF4JBridgeHandler.removeHandlersForRootLogger();
    SLF4JBridgeHandler.install();
    console(false);
  }

  /**
   * The console shows warnings and errors only, as {@code syncgrad: warning: ...} lines, or
   * everything this node logs, with times, when {@code verbose}. The BLAS loader's notes on
   * which implementation it found stay in the file (the kernel in the results says it), and so
   * do Akka Cluster's warnings on unreachable and downed members, which the coordinator's own
   * lines on lost workers say in the run's terms.
   */
  static void console(boolean verbose) {
    if (!(root().getAppender(CONSOLE) instanceof ConsoleAppender<ILoggingEvent> console)) {
      return;
    }
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    console.stop();
    console.clearAllFilters();
    ThresholdFilter threshold = new ThresholdFilter();
    threshold.setLevel((verbose ? Level.DEBUG : Level.WARN).toString());
    threshold.start();
    console.addFilter(threshold);
    Filter<ILoggingEvent> loader = new Filter<>() {
      @Override
      public FilterReply decide(ILoggingEvent event) {
        String name = event.getLoggerName();
        return (name.startsWith(BLAS_LOADER) || name.startsWith(CLUSTER_MEMBERSHIP))
            && !event.getLevel().isGreaterOrEqual(Level.ERROR) ? FilterReply.DENY : FilterReply.NEUTRAL;
      }
    };
    loader.start();
    console.addFilter(loader);
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    encoder.setPattern(verbose ? "%d{HH:mm:ss.SSS} %-5level %logger{0} - %msg%n"
        : "syncgrad: %replace(%replace(%level){'WARN','warning'}){'ERROR','error'}: %msg%n");
    encoder.start();
    console.setEncoder(encoder);
    console.start();
  }

  private static final String BLAS_LOADER = "dev.ludovic.netlib";
  private static final String CLUSTER_MEMBERSHIP = "akka.cluster";

  /**
   * Writes this node's full log to {@code RUN/logs/NAME.log} (appending: a resumed run keeps
   * the lines of its earlier starts) from {@link #open()} on, which the command calls once its
   * inputs are validated; what the node logs before is held until then, so that a refused run
   * leaves no folder behind.
   */
  static void toRunDirectory(Path runDir, String name) {
    attach(runDir.resolve(DIR).resolve(name + ".log"), true);
  }

  /** Writes this node's full log to {@code file}, appending, from now on. */
  static void toFile(Path file) {
    attach(file, false);
  }

  /**
   * Creates the log file that {@link #toRunDirectory} named and writes what was held.
   *
   * @throws UserException when the file cannot be written
   */
  static void open() {
    if (root().getAppender(FILE) instanceof DeferredFileAppender deferred && !deferred.open()) {
      throw new UserException(file + ": cannot write the node's log there");
    }
  }

  private static Path file;

  private static void attach(Path logFile, boolean deferred) {
    file = logFile;
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    ch.qos.logback.classic.Logger root = root();
    Appender<ILoggingEvent> old = root.getAppender(FILE);
    if (old != null) {
      root.detachAppender(old);
      old.stop();
    }
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    encoder.setPattern("%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX, UTC} %-5level [%thread] %logger{0} - %msg%n");
    encoder.start();
    FileAppender<ILoggingEvent> appender = new FileAppender<>();
    appender.setContext(context);
    appender.setName(FILE + "-file");
    appender.setFile(logFile.toString());
    appender.setAppend(true);
    appender.setEncoder(encoder);
    // logback creates the missing folders when the file opens.
    DeferredFileAppender holder = new DeferredFileAppender(appender);
    holder.setContext(context);
    holder.setName(FILE);
    holder.start();
    root.addAppender(holder);
    if (!deferred && !holder.open()) {
      throw new UserException(logFile + ": cannot write the node's log there");
    }
  }

  private static ch.qos.logback.classic.Logger root() {
    return (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
  }
}
