package io.syncgrad.deploy.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class SeriesTest {

  private static Series ramp(int n) {
    double[] x = new double[n];
    double[] y = new double[n];
    for (int i = 0; i < n; i++) {
      x[i] = i + 1;
      y[i] = Math.sin(i / 50.0);
    }
    return new Series(x, y);
  }

  @Test
  void downsamplingKeepsTheEndsAndTheSpikes() {
    Series s = ramp(50_000);
    s.y()[31_337] = 40;
    Series d = s.downsampled(ReportCharts.MAX_POINTS);
    assertEquals(ReportCharts.MAX_POINTS, d.size());
    assertEquals(1, d.x()[0]);
    assertEquals(50_000, d.x()[d.size() - 1]);
    assertTrue(Arrays.stream(d.y()).anyMatch(v -> v == 40), "the spike survives");
    for (int i = 1; i < d.size(); i++) {
      assertTrue(d.x()[i] > d.x()[i - 1], "x stays in order at " + i);
    }
    Series small = ramp(100);
    assertEquals(small, small.downsampled(ReportCharts.MAX_POINTS), "a short series is drawn as it is");
  }

  @Test
  void bucketMeansAverageRunsOfPoints() {
    Series s = new Series(new double[] {1, 2, 3, 4, 5}, new double[] {1, 3, 5, 7, 9});
    Series m = s.bucketMeans(3);
    assertEquals(3, m.size());
    assertEquals(Arrays.toString(new double[] {1.5, 3.5, 5}), Arrays.toString(m.x()));
    assertEquals(Arrays.toString(new double[] {2, 6, 9}), Arrays.toString(m.y()));
  }

  @Test
  void smoothingStartsAtTheFirstValue() {
    Series s = new Series(new double[] {1, 2, 3}, new double[] {2, 2, 2});
    assertEquals(Arrays.toString(new double[] {2, 2, 2}), Arrays.toString(s.smoothed(10).y()));
  }

  @Test
  void pointsWithoutAFiniteValueAreLeftOut() {
    Series s = Series.of(java.util.List.of(1.0, Double.NaN, 3.0), v -> 1, v -> v);
    assertEquals(2, s.size());
  }
}
