package io.syncgrad.common.protocol;

import static io.syncgrad.common.testing.Allocation.refusedCheaply;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.ExtendedActorSystem;
import akka.actor.typed.javadsl.Adapter;
import com.google.protobuf.ByteString;
import io.syncgrad.common.codec.ModelCodec;
import io.syncgrad.common.data.Dataset;
import io.syncgrad.common.data.Normalization;
import io.syncgrad.common.model.Activation;
import io.syncgrad.common.model.LossFunction;
import io.syncgrad.common.model.ModelSpec;
import io.syncgrad.common.model.OutputActivation;
import io.syncgrad.common.optim.Optimizer;
import io.syncgrad.common.run.TrainingConfig;
import io.syncgrad.common.testing.Fixtures;
import io.syncgrad.common.transport.LinkFaults;
import io.syncgrad.proto.DataChunkProto;
import io.syncgrad.proto.ModelSpecProto;
import io.syncgrad.proto.StartRunProto;
import java.io.NotSerializableException;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Crafted bytes as a stranger on the network would send them: every claimed size is checked
 * against the bytes present and the largest model a run can carry, and refused with a
 * {@link NotSerializableException} naming it, before anything of that size is allocated.
 */
class ProtocolSerializerTest {

  private static final long SEED = 5;
  /** The side of the square weight matrix the attacker claims: 46340² floats are 8 GiB. */
  private static final int HUGE = 46_340;
  private static final akka.actor.ActorSystem system = akka.actor.ActorSystem.create("serializer-test");
  private static final ProtocolSerializer serializer = new ProtocolSerializer((ExtendedActorSystem) system);
  private static final ModelSpec MODEL = Fixtures.model(6, List.of(5), 3, Activation.TANH, OutputActivation.SOFTMAX,
      LossFunction.CROSS_ENTROPY, 0f);
  private static final Dataset DATA = Fixtures.randomData(64, 6, 3, SEED);
  private static final TrainingConfig CONFIG = Fixtures.config(SEED, 16, 4, Optimizer.Kind.ADAM, 0.01, DATA.size());

  @AfterAll
  static void shutdown() {
    system.terminate();
  }

  /** A StartRun as a coordinator sends it, as its proto. */
  private static StartRunProto startRun() throws Exception {
    WorkerProtocol.StartRun m = new WorkerProtocol.StartRun("run", MODEL, CONFIG,
        Normalization.fit(Normalization.Kind.NONE, DATA), new DataSpec(null, null, 0, 0, "0", SEED),
        Adapter.toTyped(system.deadLetters()), "", "127.0.0.1:1", "token", 10, LinkFaults.NONE, 2, 0);
    return StartRunProto.parseFrom(serializer.toBinary(m));
  }

  private static String refused(StartRunProto p) {
    return refusedCheaply(NotSerializableException.class, () -> serializer.fromBinary(p.toByteArray(), "S"))
        .getMessage();
  }

  @Test
  void aWellFormedStartRunRoundTrips() throws Exception {
    WorkerProtocol.StartRun back = (WorkerProtocol.StartRun) serializer.fromBinary(startRun().toByteArray(), "S");
    assertEquals(MODEL, back.model());
    assertEquals(CONFIG, back.config());
  }

  @Test
  void aStartRunWithAWindowOutsideOneTo1024StepsIsRefused() throws Exception {
    for (int window : new int[] {0, -1, ProtocolSerializer.MAX_WINDOW + 1}) {
      String why = refused(startRun().toBuilder().setWindow(window).build());
      assertTrue(why.contains("a window of " + window + " steps, expected 1 to 1024"), why);
    }
    StartRunProto widest = startRun().toBuilder().setWindow(ProtocolSerializer.MAX_WINDOW).build();
    assertEquals(ProtocolSerializer.MAX_WINDOW,
        ((WorkerProtocol.StartRun) serializer.fromBinary(widest.toByteArray(), "S")).window());
  }

  @Test
  void aStartRunClaimingAModelOfGigabytesIsRefusedBeforeAnythingIsAllocated() throws Exception {
    ModelSpecProto huge = startRun().getModel().toBuilder().setHiddenSizes(0, HUGE).addHiddenSizes(HUGE).build();
    String why = refused(startRun().toBuilder().setModel(huge).build());
    assertTrue(why.contains("bad S message") && why.contains("[6, 46340, 46340, 3]")
        && why.contains(ModelCodec.MAX_PARAMETERS + " parameters"), why);
  }

  /** The claim of the issue: a few bytes naming a 46340x46340 network, with nothing else of the run. */
  @Test
  void aFewBytesNamingA46340By46340NetworkAreRefused() {
    ModelSpecProto tiny = ModelSpecProto.newBuilder().setInputSize(HUGE).setOutputSize(HUGE).setActivation("relu")
        .setOutputActivation("softmax").setLoss("cross-entropy").build();
    StartRunProto p = StartRunProto.newBuilder().setModel(tiny).build();
    assertTrue(p.getSerializedSize() < 48, p.getSerializedSize() + " bytes");
    String why = refused(p);
    assertTrue(why.contains("[46340, 46340] has more than " + ModelCodec.MAX_PARAMETERS + " parameters"), why);
  }

  @Test
  void sizesAbove2To31AreRefusedNotReadAsNegative() throws Exception {
    ModelSpecProto wrapped = startRun().getModel().toBuilder().setHiddenSizes(0, -1).build();
    String why = refused(startRun().toBuilder().setModel(wrapped).build());
    assertTrue(why.contains("must be positive"), why);
  }

  @Test
  void aNormalizationThatDoesNotCoverTheInputsIsRefused() throws Exception {
    ModelSpecProto wide = startRun().getModel().toBuilder().setInputSize(HUGE).build();
    String why = refused(startRun().toBuilder().setModel(wide).build());
    assertTrue(why.contains("a normalization of 6 features for a model of 46340 inputs"), why);
  }

  @Test
  void moreTrainingSamplesThanADataSetHoldsAreRefused() throws Exception {
    StartRunProto p = startRun();
    String why = refused(p.toBuilder().setConfig(p.getConfig().toBuilder().setTrainExamples(1L << 40)).build());
    assertTrue(why.contains("examples " + (1L << 40)), why);
  }

  @Test
  void aDataChunkClaimingMoreRowsThanItsBytesIsRefused() {
    DataChunkProto claim = DataChunkProto.newBuilder().setRunId("run").setIndex(0).setTotal(1).setRows(1 << 24)
        .setWidth(784).setFeatures(ByteString.copyFrom(new byte[16])).addLabels(1).build();
    String why = refusedCheaply(NotSerializableException.class,
        () -> serializer.fromBinary(claim.toByteArray(), "D")).getMessage();
    assertTrue(why.contains("16 feature bytes and 1 labels for 16777216 rows of 784"), why);
    DataChunkProto beyond = claim.toBuilder().setRows(1).setWidth(4).setIndex(3).setTotal(2).build();
    why = refusedCheaply(NotSerializableException.class,
        () -> serializer.fromBinary(beyond.toByteArray(), "D")).getMessage();
    assertTrue(why.contains("data chunk 3 of 2"), why);
  }

  @Test
  void garbageIsRefusedAsAMessageOfItsKind() {
    byte[] garbage = {(byte) 0x12, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0x0F, 1, 2, 3};
    for (String manifest : List.of("R", "Y", "F", "S", "X", "D", "P", "Q", "G", "C", "T", "U")) {
      String why = refusedCheaply(NotSerializableException.class, () -> serializer.fromBinary(garbage, manifest))
          .getMessage();
      assertTrue(why.startsWith("bad " + manifest + " message"), why);
    }
  }
}
