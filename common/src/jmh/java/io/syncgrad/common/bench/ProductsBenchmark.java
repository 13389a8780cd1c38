package io.syncgrad.common.bench;

import io.syncgrad.common.math.Kernels;
import io.syncgrad.common.math.MatrixKernel;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.ejml.data.FMatrixRMaj;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The three products of a dense layer's step on the first layer of the 784-256-128-10 MLP with
 * a batch of {@code rows}: X·W (forward), Xᵀ·Δ (weight gradient), Δ·Wᵀ (input gradient).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class ProductsBenchmark {

  @Param({"native", "system", "java", "ejml"})
  public String kernel;

  @Param({"128", "16"})
  public int rows;

  private MatrixKernel k;
  private FMatrixRMaj x;
  private FMatrixRMaj w;
  private FMatrixRMaj delta;
  private FMatrixRMaj out;
  private FMatrixRMaj grad;
  private FMatrixRMaj back;

  @Setup
  public void setUp() {
    k = Kernels.select(kernel);
    SplittableRandom r = new SplittableRandom(1);
    x = random(rows, 784, r);
    w = random(784, 256, r);
    delta = random(rows, 256, r);
    out = new FMatrixRMaj(rows, 256);
    grad = new FMatrixRMaj(784, 256);
    back = new FMatrixRMaj(rows, 784);
  }

  @Benchmark
  public FMatrixRMaj forward() {
    k.mult(x, w, out);
    return out;
  }

  @Benchmark
  public FMatrixRMaj weightGradient() {
    k.multTransA(x, delta, grad);
    return grad;
  }

  @Benchmark
  public FMatrixRMaj inputGradient() {
    k.multTransB(delta, w, back);
    return back;
  }

  private static FMatrixRMaj random(int rows, int cols, SplittableRandom r) {
    FMatrixRMaj m = new FMatrixRMaj(rows, cols);
    for (int i = 0; i < m.getNumElements(); i++) {
      m.data[i] = (float) (2 * r.nextDouble() - 1);
    }
    return m;
  }
}
