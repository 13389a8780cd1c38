package io.syncgrad.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.syncgrad.common.testing.Fixtures;
import java.awt.image.BufferedImage;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real run's report in a real browser: a short cluster run with message faults leaves its
 * files, {@code syncgrad report} makes the page, and headless Chromium opens it from disk and
 * draws the charts. Chromium is required: without it this test fails and says how to install it.
 */
class RunReportIT {

  private static final int BROWSER_TIMEOUT_SECONDS = 90;
  /** Charts the page of a finished cluster run draws: loss, evaluations, throughput, workers, split, faults. */
  private static final int MIN_DRAWN_CHARTS = 5;
  private static final int MIN_DRAWN_SHAPES = 20;
  /** A screenshot of a blank or unstyled page is a few kilobytes. */
  private static final long MIN_SCREENSHOT_BYTES = 20_000;
  private static final int MIN_SCREENSHOT_COLOURS = 50;

  private static final Pattern SVG = Pattern.compile("<svg\\b.*?</svg>", Pattern.DOTALL);
  private static final Pattern SHAPE = Pattern.compile("<(path|polyline|line|rect|circle)\\b");
  /** What ux-report looks for, and then any URL at all. */
  private static final Pattern NETWORK = Pattern.compile(
      "<(script|img|iframe)[^>]+src=\"https?:|<link[^>]+href=\"https?:|@import +url\\(.?https?:|https?://");

  @TempDir
  static Path dir;

  @Test
  void aFaultedClusterRunsPageIsDrawnOfflineByABrowser() throws Exception {
    Path chromium = chromium();
    Path sample = Fixtures.sampleFolder(dir.resolve("sample"));
    Path run = dir.resolve("run");
    CliIT.Result train = CliIT.run("train", "--workers", "2", "--max-steps", "60", "--fault", "delay:0.05:20",
        "--data", sample.toString(), "--layers", "32", "--plain", "--out", run.toString());
    assertEquals(0, train.code(), train.err());
    assertTrue(Files.readString(run.resolve("metrics.jsonl")).contains("\"type\":\"fault\""), "faults were injected");

    Files.deleteIfExists(run.resolve("report.html"));
    CliIT.Result report = CliIT.run("report", run.toString());
    assertEquals(0, report.code(), report.err());
    Path page = run.resolve("report.html");
    assertEquals("wrote " + page, report.out().strip());
    String html = Files.readString(page);
    Matcher network = NETWORK.matcher(html);
    assertFalse(network.find(), () -> "the page must load nothing: " + network.group());

    String url = page.toUri().toString();
    Path domFile = dir.resolve("dom.html");
    browser(chromium, domFile, "--virtual-time-budget=5000", "--dump-dom", url);
    String dom = Files.readString(domFile);
    List<String> svgs = SVG.matcher(dom).results().map(m -> m.group()).toList();
    long drawnCharts = svgs.stream().filter(s -> SHAPE.matcher(s).find()).count();
    long shapes = svgs.stream().mapToLong(s -> SHAPE.matcher(s).results().count()).sum();
    assertTrue(drawnCharts >= MIN_DRAWN_CHARTS, drawnCharts + " of " + svgs.size() + " charts have shapes");
    assertTrue(shapes >= MIN_DRAWN_SHAPES, shapes + " shapes");
    assertTrue(dom.contains("Faults and recoveries") && dom.contains("fault: delay"), "the faults are listed");
    assertTrue(dom.contains("class=\"pill ok\">finished"), "the run finished");

    Path screenshot = dir.resolve("report.png");
    browser(chromium, dir.resolve("screenshot.log"), "--window-size=1400,2400", "--screenshot=" + screenshot, url);
    assertTrue(Files.isRegularFile(screenshot), "no screenshot");
    assertTrue(Files.size(screenshot) > MIN_SCREENSHOT_BYTES, Files.size(screenshot) + " bytes");
    BufferedImage image = ImageIO.read(screenshot.toFile());
    assertEquals(1400, image.getWidth());
    assertTrue(colours(image) >= MIN_SCREENSHOT_COLOURS, "a screenshot of a drawn page has many colours");
  }

  /** Chromium on the PATH, or a failure that says how to install it. */
  private static Path chromium() {
    Optional<Path> found = Stream.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
        .filter(d -> !d.isEmpty())
        .flatMap(d -> Stream.of("chromium", "chromium-browser").map(name -> Path.of(d, name)))
        .filter(Files::isExecutable)
        .findFirst();
    if (found.isEmpty()) {
      fail("chromium is not installed; the report's browser test needs it: apt-get install -y chromium");
    }
    return found.get();
  }

  /** Runs headless Chromium on its own profile; its standard output goes to {@code output}. */
  private static void browser(Path chromium, Path output, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(chromium.toString(), "--headless", "--no-sandbox", "--disable-gpu",
        "--user-data-dir=" + dir.resolve("chromium-profile")));
    command.addAll(List.of(args));
    Path log = dir.resolve(output.getFileName() + ".stderr");
    Process p = new ProcessBuilder(command).redirectOutput(output.toFile()).redirectError(log.toFile()).start();
    if (!p.waitFor(BROWSER_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
      fail("chromium did not finish in " + BROWSER_TIMEOUT_SECONDS + " s: " + Files.readString(log));
    }
    assertEquals(0, p.exitValue(), () -> "chromium failed: " + read(log));
  }

  private static String read(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      return e.toString();
    }
  }

  /** Distinct colours on a grid of sample points. */
  private static int colours(BufferedImage image) {
    Set<Integer> seen = new HashSet<>();
    for (int y = 0; y < image.getHeight(); y += 7) {
      for (int x = 0; x < image.getWidth(); x += 7) {
        seen.add(image.getRGB(x, y));
      }
    }
    return seen.size();
  }
}
