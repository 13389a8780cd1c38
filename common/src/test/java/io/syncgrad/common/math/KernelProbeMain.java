package io.syncgrad.common.math;

import io.syncgrad.common.error.UserException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.SplittableRandom;
import org.ejml.data.FMatrixRMaj;

/**
 * Selects the kernel named by its argument in a JVM of its own (netlib opens one native BLAS per
 * process) and prints {@code identity=...} and {@code sha256=...} of the three products of a
 * seeded 16×784·784×256 layer, or {@code refused=...}. Run by {@link SystemKernelIT}.
 */
public final class KernelProbeMain {

  private KernelProbeMain() {}

  public static void main(String[] args) throws Exception {
    MatrixKernel kernel;
    try {
      kernel = Kernels.select(args[0]);
    } catch (UserException e) {
      System.out.println("refused=" + e.getMessage());
      return;
    }
    SplittableRandom r = new SplittableRandom(5);
    FMatrixRMaj x = random(16, 784, r);
    FMatrixRMaj w = random(784, 256, r);
    FMatrixRMaj delta = random(16, 256, r);
    FMatrixRMaj c = new FMatrixRMaj(1, 1);
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    kernel.mult(x, w, c);
    update(sha, c);
    kernel.multTransA(x, delta, c);
    update(sha, c);
    kernel.multTransB(delta, w, c);
    update(sha, c);
    System.out.println("identity=" + kernel.identity());
    System.out.println("sha256=" + HexFormat.of().formatHex(sha.digest()));
  }

  private static void update(MessageDigest sha, FMatrixRMaj c) {
    ByteBuffer b = ByteBuffer.allocate(4 * c.getNumElements()).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < c.getNumElements(); i++) {
      b.putFloat(c.data[i]);
    }
    sha.update(b.array());
  }

  private static FMatrixRMaj random(int rows, int cols, SplittableRandom r) {
    FMatrixRMaj m = new FMatrixRMaj(rows, cols);
    for (int i = 0; i < rows * cols; i++) {
      m.data[i] = (float) (2 * r.nextDouble() - 1);
    }
    return m;
  }
}
