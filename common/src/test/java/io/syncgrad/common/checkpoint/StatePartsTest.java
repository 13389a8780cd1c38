package io.syncgrad.common.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static io.syncgrad.common.testing.Allocation.refusedCheaply;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.syncgrad.common.data.Normalization;
import io.syncgrad.common.model.Activation;
import io.syncgrad.common.model.LossFunction;
import io.syncgrad.common.model.ModelSpec;
import io.syncgrad.common.model.OutputActivation;
import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.optim.Optimizer;
import io.syncgrad.common.run.TrainingConfig;
import io.syncgrad.common.run.TrainingState;
import io.syncgrad.common.testing.Fixtures;
import io.syncgrad.proto.CheckpointProto;
import io.syncgrad.proto.NormalizationProto;
import io.syncgrad.proto.StateProto;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A whole state cut into parts and put together again, and what is refused before allocating. */
class StatePartsTest {

  @Test
  void partsPutTogetherGiveTheState() {
    TrainingState s = Fixtures.state(4, 17);
    List<StateProto> parts = StateParts.split("run", 2, "w0", s);
    StateParts.Assembly a = new StateParts.Assembly(s.model());
    TrainingState back = null;
    for (StateProto p : parts) {
      back = a.offer(p);
    }
    assertEquals(17, back.step());
    assertEquals(s.params().sha256Hex(), back.params().sha256Hex());
    assertEquals(s.optimizer().updates(), back.optimizer().updates());
  }

  @Test
  void aStateLargerThanTheModelCanNeedIsRefusedBeforeAnythingIsAllocated() {
    TrainingState s = Fixtures.state(4, 1);
    StateParts.Assembly a = new StateParts.Assembly(s.model());
    StateProto huge = StateProto.newBuilder().setRunId("run").setPart(0).setParts(200).setTotalBytes(3L << 30).build();
    assertThrows(IllegalArgumentException.class, () -> a.offer(huge));
    StateProto second = StateParts.split("run", 2, "w0", s).get(0).toBuilder().setPart(1).build();
    assertThrows(IllegalArgumentException.class, () -> a.offer(second), "a part without the ones before it");
    StateProto truncated = StateParts.split("run", 2, "w0", s).get(0).toBuilder().setTotalBytes(
        StateParts.split("run", 2, "w0", s).get(0).getTotalBytes() + 8).build();
    assertThrows(IllegalArgumentException.class, () -> a.offer(truncated), "fewer bytes than announced");
  }

  /** A first part announcing the most the model can need, with a few bytes of it: nothing is allocated for it. */
  @Test
  void aFirstPartIsTakenOnlyWithAllItsBytes() {
    ModelSpec model = bigState().model();
    long most = StateParts.maxBytes(model);
    StateProto claim = StateProto.newBuilder().setRunId("run").setPart(0).setParts(2).setTotalBytes(most)
        .setData(com.google.protobuf.ByteString.copyFrom(new byte[16])).build();
    String why = refusedCheaply(IllegalArgumentException.class, () -> new StateParts.Assembly(model).offer(claim))
        .getMessage();
    assertTrue(why.contains("holds 16 bytes, expected " + StateParts.PART_BYTES), why);
    StateProto parts = claim.toBuilder().setParts(1000).build();
    why = refusedCheaply(IllegalArgumentException.class, () -> new StateParts.Assembly(model).offer(parts))
        .getMessage();
    assertTrue(why.contains("not cut as states are"), why);
  }

  /**
   * For a model of 204 million parameters a state could need more bytes than one array holds: a
   * first part claiming just over 2 GiB is refused like any too large, not by a failed allocation
   * (which would have escaped the worker's handler and stopped it).
   */
  @Test
  void aStateBeyondWhatAnArrayHoldsIsRefused() {
    ModelSpec huge = new ModelSpec(784, List.of(260_000), 10, Activation.RELU, OutputActivation.SOFTMAX,
        LossFunction.CROSS_ENTROPY, 0f);
    long total = (1L << 31) + 16;
    assertTrue(StateParts.maxBytes(huge) > total);
    StateProto claim = StateProto.newBuilder().setRunId("run").setPart(0).setParts((int) (total / StateParts.PART_BYTES
        + 1)).setTotalBytes(total).setData(com.google.protobuf.ByteString.copyFrom(new byte[StateParts.PART_BYTES]))
        .build();
    String why = assertThrows(IllegalArgumentException.class, () -> new StateParts.Assembly(huge).offer(claim))
        .getMessage();
    assertTrue(why.contains("more than the model can need"), why);
  }

  /** A state of 2 million parameters (8 MB a copy, more than a refusal may allocate), plain SGD. */
  private static TrainingState bigState() {
    ModelSpec model = new ModelSpec(2000, List.of(1000), 10, Activation.RELU, OutputActivation.SOFTMAX,
        LossFunction.CROSS_ENTROPY, 0f);
    TrainingConfig config = Fixtures.config(1, 8, 2, Optimizer.Kind.SGD, 0.1, 64);
    Parameters params = Parameters.zeros(model);
    Normalization none = Normalization.fit(Normalization.Kind.NONE, Fixtures.randomData(8, 2000, 10, 1));
    return new TrainingState("run", model, none, config, params, config.newOptimizer(params), 0, "test");
  }

  /**
   * A state naming a model other than the run's (here one of 16 million parameters, within what
   * a run can carry, with a normalisation that covers its inputs) is refused before its weights
   * are allocated, and so is one of the run's model without the bytes of its weights.
   */
  @Test
  void aStateOfAnotherModelOrWithoutItsWeightsIsRefusedBeforeItsTensorsAreAllocated() {
    TrainingState s = Fixtures.state(4, 1);
    CheckpointProto real = CheckpointCodec.encode(s);
    int wide = 4000;
    NormalizationProto.Builder norm = NormalizationProto.newBuilder().setKind("none");
    for (int j = 0; j < wide; j++) {
      norm.addOffset(0).addFactor(1);
    }
    CheckpointProto other = real.toBuilder().clearParameters().clearOptimizer().setNormalization(norm)
        .setModel(real.getModel().toBuilder().setInputSize(wide).setHiddenSizes(0, wide)).build();
    String why = refusedCheaply(IllegalArgumentException.class, () -> offerWhole(s, other)).getMessage();
    assertTrue(why.contains("another model"), why);
    TrainingState big = bigState();
    CheckpointProto empty = CheckpointCodec.encode(big).toBuilder().clearParameters().build();
    why = refusedCheaply(IllegalArgumentException.class, () -> offerWhole(big, empty)).getMessage();
    assertTrue(why.contains("parameters: 0 tensors, the model"), why);
  }

  /** Offers {@code checkpoint} as a state of one part to an assembly for the model of {@code run}. */
  private static TrainingState offerWhole(TrainingState run, CheckpointProto checkpoint) {
    byte[] bytes = checkpoint.toByteArray();
    return new StateParts.Assembly(run.model()).offer(StateProto.newBuilder().setRunId("run").setPart(0).setParts(1)
        .setTotalBytes(bytes.length).setData(com.google.protobuf.ByteString.copyFrom(bytes)).build());
  }
}
