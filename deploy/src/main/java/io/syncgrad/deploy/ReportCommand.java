package io.syncgrad.deploy;

import io.syncgrad.deploy.report.RunReportPage;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code syncgrad report RUN}: writes the run's page, {@code RUN/report.html}, again from its
 * files; for a run that is still going, one that crashed, or one written before runs made it.
 */
@Command(name = "report", mixinStandardHelpOptions = true,
    description = "Write RUN_DIR/report.html: the run's settings, charts and faults on one page that opens offline.")
final class ReportCommand implements Callable<Integer> {

  @Parameters(paramLabel = "RUN_DIR", description = "A run's output directory (train --out).")
  private Path runDir;

  @Override
  public Integer call() throws Exception {
    System.out.println("wrote " + RunReportPage.write(runDir));
    return 0;
  }
}
