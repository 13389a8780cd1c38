package io.syncgrad.common.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.syncgrad.common.model.Activation;
import io.syncgrad.common.model.Initializer;
import io.syncgrad.common.model.LossFunction;
import io.syncgrad.common.model.ModelSpec;
import io.syncgrad.common.model.OutputActivation;
import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.optim.LearningRateSchedule;
import io.syncgrad.common.optim.Optimizer;
import io.syncgrad.common.run.TrainingConfig;
import io.syncgrad.common.testing.Fixtures;
import io.syncgrad.proto.TensorProto;
import java.util.List;
import org.ejml.data.FMatrixRMaj;
import org.junit.jupiter.api.Test;

class CodecTest {

  @Test
  void tensorsRoundTripBitForBitIncludingSpecialValues() {
    FMatrixRMaj m = new FMatrixRMaj(2, 3, true, 0f, -0f, Float.MIN_VALUE, Float.MAX_VALUE, 1e-30f, -7.25f);
    TensorProto p = TensorCodec.encode(m);
    assertEquals(List.of(2, 3), p.getShapeList());
    assertEquals((byte) 0, p.getData().byteAt(0));
    FMatrixRMaj back = new FMatrixRMaj(2, 3);
    assertNull(TensorCodec.decodeInto(p, back, "t"));
    for (int i = 0; i < 6; i++) {
      assertEquals(Float.floatToRawIntBits(m.data[i]), Float.floatToRawIntBits(back.data[i]));
    }
    // little-endian: -7.25f = 0xC0E80000 ends the buffer with 0xE8, 0xC0
    assertEquals((byte) 0xC0, p.getData().byteAt(23));
  }

  @Test
  void wrongShapeIsNamed() {
    TensorProto p = TensorCodec.encode(new FMatrixRMaj(2, 3));
    String problem = TensorCodec.decodeInto(p, new FMatrixRMaj(3, 2), "weights 0");
    assertTrue(problem.startsWith("weights 0: shape [2, 3], expected [3, 2]"), problem);
  }

  @Test
  void modelAndConfigRoundTrip() {
    ModelSpec spec = Fixtures.model(7, List.of(5, 4), 3, Activation.TANH, OutputActivation.SIGMOID,
        LossFunction.MSE, 0.125f);
    assertEquals(spec, ModelCodec.decode(ModelCodec.encode(spec)));
    TrainingConfig config = new TrainingConfig(-3, 32, 4, Optimizer.Kind.NESTEROV, 0.8, 0.7, 0.6, 1e-6, 0.01,
        0.02, 5.0, new LearningRateSchedule(LearningRateSchedule.Kind.COSINE, 0.1, 7, 0.3, 100, 0.001),
        Initializer.XAVIER, 1000, "abc");
    assertEquals(config, ModelCodec.decode(ModelCodec.encode(config)));
    Parameters p = Parameters.zeros(spec);
    Initializer.XAVIER.initialize(spec, 1, p);
    Parameters q = p.zerosLike();
    assertNull(TensorCodec.decodeInto(TensorCodec.encode(p), q, "params"));
    assertEquals(p.sha256Hex(), q.sha256Hex());
    assertArrayEquals(p.weights(1).data, q.weights(1).data);
  }
}
