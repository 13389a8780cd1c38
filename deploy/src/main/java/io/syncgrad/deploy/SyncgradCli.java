package io.syncgrad.deploy;

import io.syncgrad.common.error.ClusterUnavailableException;
import io.syncgrad.common.error.UserException;
import io.syncgrad.common.train.DivergedException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code syncgrad}: the command line. User errors (bad data, bad flags, bad checkpoints) print
 * one line per problem and exit 2; a cluster that did not come (no coordinator, too few workers
 * within the timeouts, a coordinator stopped from outside) exits 3; a diverged run exits 4; bugs
 * print a stack trace and exit 70.
 */
@Command(
    name = "syncgrad",
    mixinStandardHelpOptions = true,
    versionProvider = SyncgradCli.Version.class,
    description = "Bit-exact data-parallel training of neural networks.",
    subcommands = {TrainCommand.class, LaunchCommand.class, CoordinatorCommand.class, WorkerCommand.class,
        EvaluateCommand.class, PredictCommand.class, ExportCommand.class, ReportCommand.class, VerifyCommand.class})
public final class SyncgradCli implements Runnable {

  /** Exit code of a user error. */
  public static final int USER_ERROR = 2;
  /** Exit code when the cluster did not come within the timeouts: retrying may succeed. */
  public static final int CLUSTER_UNAVAILABLE = 3;
  /** Exit code of a run whose loss or weights stopped being finite: the settings need changing. */
  public static final int DIVERGED = 4;
  /** Exit code of a bug (EX_SOFTWARE). */
  public static final int INTERNAL_ERROR = 70;

  @CommandLine.Spec
  private CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) throws Exception {
    NodeLogs.init();
    if (VectorModule.relaunchNeeded(args)) {
      System.exit(VectorModule.relaunch(args));
    }
    System.exit(execute(new PrintWriter(System.err, true), args));
  }

  /** Runs the command line, reporting errors to {@code err}; returns the exit code. */
  public static int execute(PrintWriter err, String... args) {
    CommandLine cl = new CommandLine(new SyncgradCli());
    cl.setErr(err);
    cl.setParameterExceptionHandler(SyncgradCli::badCommandLine);
    cl.setExecutionExceptionHandler((ex, cmd, parseResult) -> {
      UserException user = findUserException(ex);
      if (user != null) {
        for (String problem : user.problems()) {
          cmd.getErr().println("syncgrad: error: " + problem);
        }
        cmd.getErr().flush();
        return user instanceof ClusterUnavailableException ? CLUSTER_UNAVAILABLE
            : user instanceof DivergedException ? DIVERGED : USER_ERROR;
      }
      cmd.getErr().println("syncgrad: internal error (a bug; please report it with this trace):");
      ex.printStackTrace(cmd.getErr());
      cmd.getErr().flush();
      return INTERNAL_ERROR;
    });
    return cl.execute(args);
  }

  /**
   * A command line that does not parse: one line naming the problem (for an unknown option, with
   * the closest valid one) and where to find the usage, instead of the whole usage.
   */
  private static int badCommandLine(CommandLine.ParameterException ex, String[] args) {
    CommandLine cmd = ex.getCommandLine();
    PrintWriter err = cmd.getErr();
    String name = cmd.getCommandSpec().qualifiedName();
    if (ex instanceof CommandLine.UnmatchedArgumentException u && !u.getUnmatched().isEmpty()) {
      String arg = u.getUnmatched().get(0);
      String option = arg.contains("=") ? arg.substring(0, arg.indexOf('=')) : arg;
      if (option.startsWith("-")) {
        String near = OptionNames.nearest(option, cmd.getCommandSpec());
        err.println(name + ": unknown option '" + option + "'" + (near != null ? "; did you mean '" + near + "'?" : ""));
      } else {
        err.println(name + ": unexpected argument '" + arg + "'");
      }
    } else {
      err.println(name + ": " + ex.getMessage());
    }
    err.println("See '" + name + " --help'.");
    err.flush();
    return USER_ERROR;
  }

  private static UserException findUserException(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof UserException u) {
        return u;
      }
    }
    return null;
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** The version from the jar's manifest. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = SyncgradCli.class.getPackage().getImplementationVersion();
      return new String[] {"syncgrad " + (v != null ? v : "development build")};
    }
  }
}
