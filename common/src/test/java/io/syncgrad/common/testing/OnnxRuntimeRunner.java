package io.syncgrad.common.testing;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.util.Map;

/**
 * Runs an exported ONNX model in ONNX Runtime, the reader users run it in, for the tests that
 * compare it with syncgrad's own forward pass. Tests that use it need ONNX Runtime on their
 * class path (a test dependency of their module).
 */
public final class OnnxRuntimeRunner {

  private OnnxRuntimeRunner() {}

  /**
   * The model's only output for {@code n} rows of {@code width} features.
   *
   * @param model    the bytes of a {@code .onnx} file
   * @param input    the input's name
   * @param features n×width, row-major. Not modified.
   * @return n×outputs, row-major
   */
  public static float[] run(byte[] model, String input, float[] features, int n, int width) throws OrtException {
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
         OrtSession session = env.createSession(model, options);
         OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(features, 0, n * width), new long[] {n, width});
         OrtSession.Result result = session.run(Map.of(input, x))) {
      FloatBuffer y = ((OnnxTensor) result.get(0)).getFloatBuffer();
      float[] out = new float[y.remaining()];
      y.get(out);
      return out;
    }
  }

  /** The largest |a[i] - b[i]|; the lengths must match. */
  public static double maxAbsDifference(float[] a, float[] b) {
    if (a.length != b.length) {
      throw new IllegalArgumentException("Inconsistent lengths: " + a.length + " vs " + b.length);
    }
    double max = 0;
    for (int i = 0; i < a.length; i++) {
      max = Math.max(max, Math.abs((double) a[i] - b[i]));
    }
    return max;
  }
}
