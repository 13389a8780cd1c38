package io.syncgrad.deploy.report;

import java.util.Arrays;
import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * A line of points in x order, as a chart draws it, with the reductions that keep a long run's
 * page small: a 50,000-step run has 50,000 points per series, a chart a few hundred pixels.
 *
 * @param x the x values, ascending. Not modified.
 * @param y the y values, finite, as many as {@code x}. Not modified.
 */
record Series(double[] x, double[] y) {

  Series {
    if (x.length != y.length) {
      throw new IllegalArgumentException("Inconsistent lengths: x=" + x.length + ", y=" + y.length);
    }
  }

  /** The points (x(item), y(item)) of {@code items}, leaving out those whose y is not finite. */
  static <T> Series of(List<T> items, ToDoubleFunction<T> x, ToDoubleFunction<T> y) {
    double[] xs = new double[items.size()];
    double[] ys = new double[items.size()];
    int n = 0;
    for (T item : items) {
      double xv = x.applyAsDouble(item);
      double yv = y.applyAsDouble(item);
      if (Double.isFinite(xv) && Double.isFinite(yv)) {
        xs[n] = xv;
        ys[n] = yv;
        n++;
      }
    }
    return new Series(Arrays.copyOf(xs, n), Arrays.copyOf(ys, n));
  }

  int size() {
    return x.length;
  }

  boolean isEmpty() {
    return x.length == 0;
  }

  /** The smoothing time constant, in points, for a series of {@code n} points: about 2% of it. */
  static double smoothingSpan(int n) {
    return Math.max(3, Math.min(500, n / 50.0));
  }

  /**
   * The exponential moving average with time constant {@code span} points, corrected for its
   * start at zero (as TensorBoard does), so the first points are not pulled towards 0.
   */
  Series smoothed(double span) {
    double weight = 1 - 1 / span;
    double[] out = new double[y.length];
    double average = 0;
    double correction = 1;
    for (int i = 0; i < y.length; i++) {
      average = weight * average + (1 - weight) * y[i];
      correction *= weight;
      out[i] = average / (1 - correction);
    }
    return new Series(x, out);
  }

  /**
   * At most {@code maxPoints} of the points, chosen by largest-triangle-three-buckets (Steinarsson
   * 2013): the first and the last, and in each bucket between the one that spans the largest
   * triangle with its neighbours, so spikes and the shape of the line survive. Returns this series
   * when it is short enough.
   */
  Series downsampled(int maxPoints) {
    int n = x.length;
    if (n <= maxPoints || maxPoints < 3) {
      return this;
    }
    double[] xs = new double[maxPoints];
    double[] ys = new double[maxPoints];
    double bucket = (double) (n - 2) / (maxPoints - 2);
    int chosen = 0;
    xs[0] = x[0];
    ys[0] = y[0];
    for (int b = 0; b < maxPoints - 2; b++) {
      int start = (int) Math.floor(b * bucket) + 1;
      int end = (int) Math.floor((b + 1) * bucket) + 1;
      // The next bucket's mean is the third corner of the triangle.
      int nextStart = end;
      int nextEnd = Math.min((int) Math.floor((b + 2) * bucket) + 1, n);
      double meanX = 0;
      double meanY = 0;
      for (int i = nextStart; i < nextEnd; i++) {
        meanX += x[i];
        meanY += y[i];
      }
      int count = Math.max(1, nextEnd - nextStart);
      meanX /= count;
      meanY /= count;
      double best = -1;
      int bestIndex = start;
      for (int i = start; i < end; i++) {
        double area = Math.abs((x[chosen] - meanX) * (y[i] - y[chosen]) - (x[chosen] - x[i]) * (meanY - y[chosen]));
        if (area > best) {
          best = area;
          bestIndex = i;
        }
      }
      xs[b + 1] = x[bestIndex];
      ys[b + 1] = y[bestIndex];
      chosen = bestIndex;
    }
    xs[maxPoints - 1] = x[n - 1];
    ys[maxPoints - 1] = y[n - 1];
    return new Series(xs, ys);
  }

  /**
   * The means of consecutive runs of points, at most {@code maxPoints} of them, each at the mean x
   * of its run: what an area chart of a long run shows honestly, where picking points would not.
   */
  Series bucketMeans(int maxPoints) {
    int n = x.length;
    if (n <= maxPoints) {
      return this;
    }
    int per = (n + maxPoints - 1) / maxPoints;
    int buckets = (n + per - 1) / per;
    double[] xs = new double[buckets];
    double[] ys = new double[buckets];
    for (int b = 0; b < buckets; b++) {
      int start = b * per;
      int end = Math.min(n, start + per);
      for (int i = start; i < end; i++) {
        xs[b] += x[i];
        ys[b] += y[i];
      }
      xs[b] /= end - start;
      ys[b] /= end - start;
    }
    return new Series(xs, ys);
  }

  /** The mean of the y values, or {@code NaN} for an empty series. */
  double meanY() {
    return y.length == 0 ? Double.NaN : Arrays.stream(y).average().orElse(Double.NaN);
  }
}
