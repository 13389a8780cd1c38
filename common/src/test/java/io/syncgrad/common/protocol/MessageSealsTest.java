package io.syncgrad.common.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.ActorSystem;
import akka.actor.ExtendedActorSystem;
import io.syncgrad.proto.StepReportProto;
import io.syncgrad.proto.StepReportsProto;
import java.io.NotSerializableException;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Three nodes as a run has them: the coordinator's (holding every worker's key), a worker's
 * (holding its own) and a registered worker's that tries to speak for the first one or give it
 * orders (holding its own key only). What crosses from one to another goes through the real
 * serializer of each.
 */
class MessageSealsTest {

  private static final byte[] W1_KEY = "key of worker w1, 32 bytes long!".getBytes();
  private static final byte[] EVIL_KEY = "key of worker evil, 32 bytes....".getBytes();

  private static final ActorSystem coordinatorNode = ActorSystem.create("seals-coordinator");
  private static final ActorSystem workerNode = ActorSystem.create("seals-worker");
  private static final ActorSystem evilNode = ActorSystem.create("seals-evil");
  private static final ActorSystem bystanderNode = ActorSystem.create("seals-bystander");

  static {
    MessageSeals.get(coordinatorNode).hold("w1", W1_KEY);
    MessageSeals.get(coordinatorNode).hold("evil", EVIL_KEY);
    MessageSeals.get(workerNode).hold("w1", W1_KEY);
    MessageSeals.get(evilNode).hold("evil", EVIL_KEY);
  }

  @AfterAll
  static void shutdown() {
    for (ActorSystem s : List.of(coordinatorNode, workerNode, evilNode, bystanderNode)) {
      s.terminate();
    }
  }

  private static ProtocolSerializer on(ActorSystem node) {
    return new ProtocolSerializer((ExtendedActorSystem) node);
  }

  /** {@code m} sent from {@code from} and read on {@code to}. */
  private static Object send(Object m, ActorSystem from, ActorSystem to) throws NotSerializableException {
    ProtocolSerializer out = on(from);
    return on(to).fromBinary(out.toBinary(m), out.manifest(m));
  }

  private static CoordinatorProtocol.StepReport report(String worker, long step, String diverged) {
    return new CoordinatorProtocol.StepReport("run", 1, step, worker, 1.5, 16, 0.5, 10, 20, 0, 0, 0, 0, 0, 0,
        List.of(), diverged, "");
  }

  @Test
  void aWorkersOwnMessagesReachTheCoordinator() throws Exception {
    var failed = new CoordinatorProtocol.WorkerFailed("run", "w1", "cannot read its data");
    assertEquals(failed, send(failed, workerNode, coordinatorNode));
    var reports = new CoordinatorProtocol.StepReports(List.of(report("w1", 3, ""), report("w1", 4, "")));
    assertEquals(reports, send(reports, workerNode, coordinatorNode));
    var ready = new CoordinatorProtocol.WorkerReady("run", "w1", 7);
    assertEquals(ready, send(ready, workerNode, coordinatorNode));
  }

  @Test
  void aRegisteredWorkerCannotSpeakForAnother() {
    for (Object forged : List.of(new CoordinatorProtocol.WorkerFailed("run", "w1", "stop the run"),
        new CoordinatorProtocol.WorkerReady("run", "w1", 0), new CoordinatorProtocol.Prepared("run", 2, "w1", 9),
        report("w1", 5, "diverged"), new CoordinatorProtocol.StepReports(List.of(report("w1", 5, ""))))) {
      NotSerializableException e = assertThrows(NotSerializableException.class,
          () -> send(forged, evilNode, coordinatorNode), forged.toString());
      assertTrue(e.getMessage().contains("not sealed with the key of worker 'w1'"), e.getMessage());
    }
    // Its own messages go through: the refusal is about the name, not the node.
    var own = new CoordinatorProtocol.WorkerFailed("run", "evil", "its own failure");
    assertTrue(assertDoesNotThrowSend(own, evilNode, coordinatorNode).equals(own));
  }

  @Test
  void reportsOfSeveralWorkersInOneMessageAreRefused() throws Exception {
    assertThrows(IllegalArgumentException.class,
        () -> new CoordinatorProtocol.StepReports(List.of(report("evil", 5, ""), report("w1", 5, ""))));
    // Crafted by hand and sealed with the sender's own key: the first report names the sealer.
    byte[] body = StepReportsProto.newBuilder()
        .addReports(StepReportProto.newBuilder().setRunId("run").setWorkerId("evil").setStep(5).setSamples(16))
        .addReports(StepReportProto.newBuilder().setRunId("run").setWorkerId("w1").setStep(5).setSamples(16))
        .build().toByteArray();
    byte[] sealed = withSeal(body, MessageSeals.get(evilNode).seal("evil", "U", body, body.length));
    NotSerializableException e = assertThrows(NotSerializableException.class,
        () -> on(coordinatorNode).fromBinary(sealed, "U"));
    assertTrue(e.getMessage().contains("reports of workers evil and w1"), e.getMessage());
  }

  @Test
  void aChangedByteBreaksTheSeal() throws Exception {
    var failed = new CoordinatorProtocol.WorkerFailed("run", "w1", "abc");
    ProtocolSerializer out = on(workerNode);
    byte[] bytes = out.toBinary(failed);
    assertEquals(failed, on(coordinatorNode).fromBinary(bytes.clone(), "F"));
    for (int i = 0; i < bytes.length; i++) {
      byte[] changed = bytes.clone();
      changed[i] ^= 1;
      assertThrows(NotSerializableException.class, () -> on(coordinatorNode).fromBinary(changed, "F"),
          "byte " + i + " changed");
    }
    assertThrows(NotSerializableException.class, () -> on(coordinatorNode).fromBinary(new byte[5], "F"));
  }

  @Test
  void aCoordinatorHearsNothingFromAWorkerItStartedNoRunOn() {
    var ghost = new CoordinatorProtocol.WorkerFailed("run", "ghost", "never registered");
    assertThrows(NotSerializableException.class, () -> send(ghost, bystanderNode, coordinatorNode));
  }

  @Test
  void onlyTheCoordinatorThatHoldsAWorkersKeyGivesItOrders() throws Exception {
    List<Object> orders = List.of(new WorkerProtocol.Credit("run", "w1", 1, 9, 20),
        new WorkerProtocol.StopRun("run", "w1", "stop"), new WorkerProtocol.Prepare("run", "w1", 2, 8),
        new WorkerProtocol.Go("run", "w1", 2, List.of(new WorkerProtocol.Member("w1", "127.0.0.1:1", 0, 4, 0,
            new byte[0])), 0, "w1", 3, 3, false, List.of(), List.of()));
    for (Object order : orders) {
      Object got = send(order, coordinatorNode, workerNode);
      assertEquals(on(coordinatorNode).manifest(order), on(workerNode).manifest(got));
      NotSerializableException e = assertThrows(NotSerializableException.class,
          () -> send(order, evilNode, workerNode), order.toString());
      assertTrue(e.getMessage().contains("not sealed with the key of worker 'w1'"), e.getMessage());
    }
    // A worker in no run yet holds no key: the coordinator's refusal of its registration reaches it.
    var refusal = new WorkerProtocol.StopRun("run", "w2", "refused: another kernel");
    assertEquals(refusal, send(refusal, coordinatorNode, bystanderNode));
  }

  @Test
  void theSealIsTheHmacOfTheMessageUnderTheWorkersKey() throws Exception {
    var ready = new CoordinatorProtocol.WorkerReady("run", "w1", 7);
    byte[] bytes = on(workerNode).toBinary(ready);
    int body = bytes.length - MessageSeals.SEAL_BYTES;
    byte[] expected = io.syncgrad.common.transport.LinkProof.hmac(W1_KEY, "syncgrad message seal v1".getBytes(),
        "Y".getBytes(), java.util.Arrays.copyOf(bytes, body));
    assertArrayEquals(expected, java.util.Arrays.copyOfRange(bytes, body, bytes.length));
  }

  private static byte[] withSeal(byte[] body, byte[] seal) {
    byte[] out = java.util.Arrays.copyOf(body, body.length + seal.length);
    System.arraycopy(seal, 0, out, body.length, seal.length);
    return out;
  }

  private static Object assertDoesNotThrowSend(Object m, ActorSystem from, ActorSystem to) {
    try {
      return send(m, from, to);
    } catch (NotSerializableException e) {
      throw new AssertionError(m + " refused: " + e.getMessage(), e);
    }
  }
}
