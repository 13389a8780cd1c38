package io.syncgrad.common.codec;

import com.google.protobuf.UnsafeByteOperations;
import io.syncgrad.common.model.Parameters;
import io.syncgrad.proto.DTypeProto;
import io.syncgrad.proto.TensorProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.ejml.data.FMatrixRMaj;

/** Maps float32 matrices to {@link TensorProto} (row-major, little-endian) and back. */
public final class TensorCodec {

  private TensorCodec() {}

  /** Encodes one matrix. */
  public static TensorProto encode(FMatrixRMaj m) {
    int n = m.getNumElements();
    ByteBuffer buf = ByteBuffer.allocate(n * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    buf.asFloatBuffer().put(m.data, 0, n);
    return TensorProto.newBuilder()
        .setDtype(DTypeProto.DTYPE_FLOAT32)
        .addShape(m.numRows)
        .addShape(m.numCols)
        // The array is ours alone and never written again: wrapped, not copied.
        .setData(UnsafeByteOperations.unsafeWrap(buf.array()))
        .build();
  }

  /** Encodes every tensor, in canonical order. */
  public static List<TensorProto> encode(Parameters p) {
    List<TensorProto> out = new ArrayList<>(p.tensorCount());
    for (int i = 0; i < p.tensorCount(); i++) {
      out.add(encode(p.tensor(i)));
    }
    return out;
  }

  /**
   * Decodes {@code t} into {@code into}, whose shape it must have.
   *
   * @param what names the tensor in messages
   * @return null when it fits, else what is wrong
   */
  public static String decodeInto(TensorProto t, FMatrixRMaj into, String what) {
    if (t.getDtype() != DTypeProto.DTYPE_FLOAT32) {
      return what + ": dtype " + t.getDtype() + ", expected DTYPE_FLOAT32";
    }
    if (t.getShapeCount() != 2 || t.getShape(0) != into.numRows || t.getShape(1) != into.numCols) {
      return what + ": shape " + t.getShapeList() + ", expected [" + into.numRows + ", " + into.numCols + "]";
    }
    int n = into.getNumElements();
    if (t.getData().size() != n * Float.BYTES) {
      return what + ": " + t.getData().size() + " data bytes, expected " + n * Float.BYTES;
    }
    t.getData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(into.data, 0, n);
    return null;
  }

  /**
   * Decodes a list of tensors into {@code into}.
   *
   * @return null when everything fits, else what is wrong
   */
  public static String decodeInto(List<TensorProto> tensors, Parameters into, String what) {
    if (tensors.size() != into.tensorCount()) {
      return what + ": " + tensors.size() + " tensors, expected " + into.tensorCount();
    }
    for (int i = 0; i < tensors.size(); i++) {
      String problem = decodeInto(tensors.get(i), into.tensor(i), what + " tensor " + i);
      if (problem != null) {
        return problem;
      }
    }
    return null;
  }
}
