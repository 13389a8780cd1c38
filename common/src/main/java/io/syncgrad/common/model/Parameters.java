package io.syncgrad.common.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.ejml.data.FMatrixRMaj;

/**
 * The tensors of a network in canonical order: for each layer, its weights (fanIn×fanOut) and
 * then its bias (1×fanOut). The same shape serves weights, gradients and optimiser moments.
 *
 * <p>Every whole-vector operation walks the tensors in this order, so its result does not
 * depend on who calls it or how many threads exist.
 */
public final class Parameters {

  // An array, not a list: the per-step loops below must not allocate iterators.
  private final FMatrixRMaj[] tensors;

  private Parameters(List<FMatrixRMaj> tensors) {
    this.tensors = tensors.toArray(new FMatrixRMaj[0]);
  }

  /** Zero-filled tensors of the shapes of {@code spec}. */
  public static Parameters zeros(ModelSpec spec) {
    List<FMatrixRMaj> t = new ArrayList<>();
    for (int l = 0; l < spec.layerCount(); l++) {
      t.add(new FMatrixRMaj(spec.fanIn(l), spec.fanOut(l)));
      t.add(new FMatrixRMaj(1, spec.fanOut(l)));
    }
    return new Parameters(t);
  }

  /** A zero-filled twin of this one. */
  public Parameters zerosLike() {
    List<FMatrixRMaj> t = new ArrayList<>(tensors.length);
    for (FMatrixRMaj m : tensors) {
      t.add(new FMatrixRMaj(m.numRows, m.numCols));
    }
    return new Parameters(t);
  }

  /** A deep copy. */
  public Parameters copy() {
    Parameters c = zerosLike();
    c.copyFrom(this);
    return c;
  }

  /** Number of tensors: two per layer. */
  public int tensorCount() {
    return tensors.length;
  }

  /** Tensor {@code i} in canonical order. Its storage is shared, not copied. */
  public FMatrixRMaj tensor(int i) {
    return tensors[i];
  }

  /** Weights of layer {@code l}, fanIn×fanOut. */
  public FMatrixRMaj weights(int l) {
    return tensors[2 * l];
  }

  /** Bias of layer {@code l}, 1×fanOut. */
  public FMatrixRMaj bias(int l) {
    return tensors[2 * l + 1];
  }

  /** Whether tensor {@code i} is a weight matrix (penalties apply) rather than a bias. */
  public static boolean isWeights(int i) {
    return i % 2 == 0;
  }

  /** Total scalars. */
  public long size() {
    long n = 0;
    for (FMatrixRMaj m : tensors) {
      n += m.getNumElements();
    }
    return n;
  }

  /** Sets every scalar to zero. */
  public void zeroInPlace() {
    for (FMatrixRMaj m : tensors) {
      m.zero();
    }
  }

  /** Copies {@code other}'s values into this one. Shapes must match. */
  public void copyFrom(Parameters other) {
    checkSameShape(other);
    for (int i = 0; i < tensors.length; i++) {
      FMatrixRMaj src = other.tensors[i];
      System.arraycopy(src.data, 0, tensors[i].data, 0, src.getNumElements());
    }
  }

  /** {@code this += other}, element by element in canonical order. */
  public void addInPlace(Parameters other) {
    checkSameShape(other);
    for (int i = 0; i < tensors.length; i++) {
      float[] a = tensors[i].data;
      float[] b = other.tensors[i].data;
      int n = tensors[i].getNumElements();
      for (int k = 0; k < n; k++) {
        a[k] += b[k];
      }
    }
  }

  /**
   * Copies scalars {@code [from, from + n)} of the flat parameter vector (canonical order, the
   * tensors one after another) into {@code dst[off..off + n)}.
   */
  public void readRange(long from, float[] dst, int off, int n) {
    walkRange(from, n, (t, i, len, at) -> System.arraycopy(tensors[t].data, i, dst, off + at, len));
  }

  /** Sets scalars {@code [from, from + n)} of the flat vector from {@code src[off..off + n)}. */
  public void writeRange(long from, float[] src, int off, int n) {
    walkRange(from, n, (t, i, len, at) -> System.arraycopy(src, off + at, tensors[t].data, i, len));
  }

  /** A run of {@code len} scalars of tensor {@code t} from index {@code i}: the {@code at}-th of the range. */
  private interface Segment {
    void accept(int t, int i, int len, int at);
  }

  private void walkRange(long from, int n, Segment segment) {
    if (from < 0 || n < 0 || from + n > size()) {
      throw new IndexOutOfBoundsException("range [" + from + ", " + (from + n) + ") of " + size() + " parameters");
    }
    long start = 0;
    int done = 0;
    for (int t = 0; t < tensors.length && done < n; t++) {
      int len = tensors[t].getNumElements();
      long end = start + len;
      long pos = from + done;
      if (pos < end) {
        int i = (int) (pos - start);
        int take = Math.min(len - i, n - done);
        segment.accept(t, i, take, done);
        done += take;
      }
      start = end;
    }
  }

  /** {@code this /= divisor}, element by element. */
  public void divideInPlace(float divisor) {
    for (FMatrixRMaj m : tensors) {
      float[] a = m.data;
      int n = m.getNumElements();
      for (int k = 0; k < n; k++) {
        a[k] /= divisor;
      }
    }
  }

  /** Whether every scalar is finite. */
  public boolean isFinite() {
    for (FMatrixRMaj m : tensors) {
      float[] a = m.data;
      int n = m.getNumElements();
      for (int k = 0; k < n; k++) {
        if (!Float.isFinite(a[k])) {
          return false;
        }
      }
    }
    return true;
  }

  /** Whether every tensor has the shape of the matching tensor in {@code other}. */
  public boolean sameShape(Parameters other) {
    if (other.tensors.length != tensors.length) {
      return false;
    }
    for (int i = 0; i < tensors.length; i++) {
      FMatrixRMaj a = tensors[i];
      FMatrixRMaj b = other.tensors[i];
      if (a.numRows != b.numRows || a.numCols != b.numCols) {
        return false;
      }
    }
    return true;
  }

  private void checkSameShape(Parameters other) {
    if (!sameShape(other)) {
      throw new IllegalArgumentException("Inconsistent shapes: " + shapes() + " vs " + other.shapes());
    }
  }

  /** The shapes, for messages: {@code [784x256, 1x256, ...]}. */
  public String shapes() {
    StringBuilder sb = new StringBuilder("[");
    for (FMatrixRMaj m : tensors) {
      if (sb.length() > 1) {
        sb.append(", ");
      }
      sb.append(m.numRows).append('x').append(m.numCols);
    }
    return sb.append(']').toString();
  }

  /**
   * The weights hash: SHA-256 over every scalar in canonical order, each as the little-endian
   * bytes of its IEEE-754 float32 bits, as lowercase hex.
   */
  public String sha256Hex() {
    MessageDigest digest;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
    ByteBuffer buf = ByteBuffer.allocate(64 * 1024).order(ByteOrder.LITTLE_ENDIAN);
    for (FMatrixRMaj m : tensors) {
      int n = m.getNumElements();
      for (int k = 0; k < n; k++) {
        if (buf.remaining() < Float.BYTES) {
          buf.flip();
          digest.update(buf);
          buf.clear();
        }
        buf.putFloat(m.data[k]);
      }
    }
    buf.flip();
    digest.update(buf);
    return HexFormat.of().formatHex(digest.digest());
  }
}
