package io.syncgrad.common.protocol;

import akka.actor.ExtendedActorSystem;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorRefResolver;
import akka.actor.typed.javadsl.Adapter;
import akka.serialization.SerializerWithStringManifest;
import com.google.protobuf.InvalidProtocolBufferException;
import io.syncgrad.common.codec.ModelCodec;
import io.syncgrad.common.model.ModelSpec;
import io.syncgrad.common.run.TrainingConfig;
import io.syncgrad.common.transport.LinkFaults;
import io.syncgrad.common.transport.Traffic;
import io.syncgrad.proto.CreditProto;
import io.syncgrad.proto.DataChunkProto;
import io.syncgrad.proto.DataSpecProto;
import io.syncgrad.proto.GoProto;
import io.syncgrad.proto.MemberProto;
import io.syncgrad.proto.PartitionProto;
import io.syncgrad.proto.PeerFaultsProto;
import io.syncgrad.proto.PrepareProto;
import io.syncgrad.proto.PreparedProto;
import io.syncgrad.proto.RegisterWorkerProto;
import io.syncgrad.proto.StartRunProto;
import io.syncgrad.proto.StepReportProto;
import io.syncgrad.proto.StepReportsProto;
import io.syncgrad.proto.StopRunProto;
import io.syncgrad.proto.WorkerFailedProto;
import io.syncgrad.proto.WorkerReadyProto;
import java.io.NotSerializableException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Protobuf for every {@link WireMessage}: records are mapped to the messages of
 * {@code proto/syncgrad/training.proto} and back; actor references travel as strings.
 *
 * <p>Whoever can reach a node's port can send it bytes, so nothing a message claims is trusted
 * before it is checked: every count and size against the bytes actually present, a model
 * against the largest a run can carry ({@link ModelCodec#MAX_PARAMETERS}), before anything is
 * allocated for it. A message that fails is refused with a {@link NotSerializableException}
 * naming what is wrong, as Akka's serializer contract has it: Artery logs it with the sender's
 * address and drops the message, and the node goes on.
 *
 * <p>A message between the coordinator and one worker, after that worker's {@code StartRun},
 * carries a seal with that worker's key ({@link MessageSeals}), checked here before the message
 * is made: a node cannot speak for a worker, nor give orders to one, without its key.
 */
public final class ProtocolSerializer extends SerializerWithStringManifest {

  /** Akka's serializer id for this project; ids below 40 are Akka's own. */
  public static final int IDENTIFIER = 57_301;
  /** The most steps a coordinator may let a worker run ahead of its record. */
  public static final int MAX_WINDOW = 1024;

  private static final String REGISTER = "R";
  private static final String READY = "Y";
  private static final String FAILED = "F";
  private static final String START = "S";
  private static final String STOP = "X";
  private static final String CHUNK = "D";
  private static final String PREPARE = "P";
  private static final String PREPARED = "Q";
  private static final String GO = "G";
  private static final String CREDIT = "C";
  private static final String REPORT = "T";
  private static final String REPORTS = "U";

  /** Messages from a worker: refused unless sealed with its key. */
  private static final java.util.Set<String> FROM_WORKER = java.util.Set.of(READY, FAILED, PREPARED, REPORT, REPORTS);
  /** Orders to a worker: sealed with its key, checked where the key is held. */
  private static final java.util.Set<String> TO_WORKER = java.util.Set.of(STOP, PREPARE, GO, CREDIT);

  private final ActorRefResolver resolver;
  private final ExtendedActorSystem system;
  private final Traffic traffic = new Traffic();
  private volatile MessageSeals seals;

  public ProtocolSerializer(ExtendedActorSystem system) {
    this.system = system;
    this.resolver = ActorRefResolver.get(Adapter.toTyped(system));
  }

  /** The node's seals, looked up on first use: extensions cannot be made while serializers are. */
  private MessageSeals seals() {
    MessageSeals s = seals;
    if (s == null) {
      s = MessageSeals.get(system);
      seals = s;
    }
    return s;
  }

  /** The bytes of this node's messages that went through this serializer: its Artery traffic. */
  public Traffic traffic() {
    return traffic;
  }

  /** The serializer of {@code system}'s messages, for its traffic. */
  public static ProtocolSerializer of(akka.actor.typed.ActorSystem<?> system) {
    return (ProtocolSerializer) akka.serialization.SerializationExtension.get(Adapter.toClassic(system))
        .serializerByIdentity().apply(IDENTIFIER);
  }

  @Override
  public int identifier() {
    return IDENTIFIER;
  }

  @Override
  public String manifest(Object o) {
    if (o instanceof CoordinatorProtocol.RegisterWorker) {
      return REGISTER;
    } else if (o instanceof CoordinatorProtocol.WorkerReady) {
      return READY;
    } else if (o instanceof CoordinatorProtocol.WorkerFailed) {
      return FAILED;
    } else if (o instanceof CoordinatorProtocol.Prepared) {
      return PREPARED;
    } else if (o instanceof CoordinatorProtocol.StepReport) {
      return REPORT;
    } else if (o instanceof CoordinatorProtocol.StepReports) {
      return REPORTS;
    } else if (o instanceof WorkerProtocol.StartRun) {
      return START;
    } else if (o instanceof WorkerProtocol.StopRun) {
      return STOP;
    } else if (o instanceof WorkerProtocol.DataChunk) {
      return CHUNK;
    } else if (o instanceof WorkerProtocol.Prepare) {
      return PREPARE;
    } else if (o instanceof WorkerProtocol.Go) {
      return GO;
    } else if (o instanceof WorkerProtocol.Credit) {
      return CREDIT;
    }
    throw new IllegalArgumentException("no protobuf mapping for " + o.getClass().getName());
  }

  @Override
  public byte[] toBinary(Object o) {
    byte[] bytes = encode(o);
    String manifest = manifest(o);
    if (FROM_WORKER.contains(manifest) || TO_WORKER.contains(manifest)) {
      byte[] seal = seals().seal(workerOf(o), manifest, bytes, bytes.length);
      byte[] sealed = java.util.Arrays.copyOf(bytes, bytes.length + MessageSeals.SEAL_BYTES);
      System.arraycopy(seal, 0, sealed, bytes.length, MessageSeals.SEAL_BYTES);
      bytes = sealed;
    }
    traffic.sent(bytes.length);
    return bytes;
  }

  /** The worker whose key seals {@code o}: its sender, or the one it is for. */
  private static String workerOf(Object o) {
    if (o instanceof BoundToWorker m) {
      return m.workerId();
    }
    throw new IllegalArgumentException("not a sealed message: " + o.getClass().getName());
  }

  /**
   * Checks the seal of a message for or from {@code workerId} before anything is made of it.
   *
   * @throws IllegalArgumentException when the seal is not that worker's
   */
  private void checkSeal(String workerId, String manifest, byte[] bytes, int length) {
    byte[] seal = java.util.Arrays.copyOfRange(bytes, length, length + MessageSeals.SEAL_BYTES);
    if (!seals().verifies(workerId, manifest, bytes, length, seal, FROM_WORKER.contains(manifest))) {
      throw new IllegalArgumentException("not sealed with the key of worker '" + workerId + "' (sent by another node)");
    }
  }

  private byte[] encode(Object o) {
    if (o instanceof CoordinatorProtocol.RegisterWorker m) {
      return RegisterWorkerProto.newBuilder().setWorkerId(m.workerId()).setWorkerRef(ref(m.worker()))
          .setKernel(m.kernel()).setPeerEndpoint(m.peerEndpoint()).build().toByteArray();
    } else if (o instanceof CoordinatorProtocol.WorkerReady m) {
      return WorkerReadyProto.newBuilder().setRunId(m.runId()).setWorkerId(m.workerId())
          .setAppliedStep(m.appliedStep()).build().toByteArray();
    } else if (o instanceof CoordinatorProtocol.WorkerFailed m) {
      return WorkerFailedProto.newBuilder().setRunId(m.runId()).setWorkerId(m.workerId()).setReason(m.reason())
          .build().toByteArray();
    } else if (o instanceof CoordinatorProtocol.Prepared m) {
      return PreparedProto.newBuilder().setRunId(m.runId()).setGeneration(m.generation()).setWorkerId(m.workerId())
          .setAppliedStep(m.appliedStep()).build().toByteArray();
    } else if (o instanceof CoordinatorProtocol.StepReport m) {
      return report(m).toByteArray();
    } else if (o instanceof CoordinatorProtocol.StepReports m) {
      StepReportsProto.Builder b = StepReportsProto.newBuilder();
      m.reports().forEach(r -> b.addReports(report(r)));
      return b.build().toByteArray();
    } else if (o instanceof WorkerProtocol.StartRun m) {
      DataSpec d = m.data();
      DataSpecProto.Builder data = DataSpecProto.newBuilder().setTestFraction(d.testFraction())
          .setValidationFraction(d.validationFraction())
          .setLabelColumn(d.labelColumn()).setSeed(d.seed());
      if (d.data() != null) {
        data.setData(d.data());
      }
      if (d.testData() != null) {
        data.setTestData(d.testData());
      }
      LinkFaults f = m.faults();
      return StartRunProto.newBuilder().setRunId(m.runId()).setModel(ModelCodec.encode(m.model()))
          .setConfig(ModelCodec.encode(m.config())).setNormalization(ModelCodec.encode(m.normalization()))
          .setData(data).setCoordinatorRef(ref(m.coordinator())).setShippedFingerprint(m.shippedFingerprint())
          .setTensorLink(m.tensorLink()).setLinkToken(m.linkToken()).setTotalSteps(m.totalSteps())
          .setPeerFaults(PeerFaultsProto.newBuilder().setDrop(f.drop()).setDuplicate(f.duplicate())
              .setDelay(f.delay()).setMaxDelayMillis(f.maxDelay().toMillis()).setSeed(f.seed())
              .setRetransmitMillis(f.retransmit().toMillis()))
          .setWindow(m.window()).setAuditFraction(m.auditFraction()).build().toByteArray();
    } else if (o instanceof WorkerProtocol.DataChunk m) {
      java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(m.features().length * Float.BYTES)
          .order(java.nio.ByteOrder.LITTLE_ENDIAN);
      buf.asFloatBuffer().put(m.features());
      DataChunkProto.Builder b = DataChunkProto.newBuilder().setRunId(m.runId()).setIndex(m.index())
          .setTotal(m.total()).setFirstRow(m.firstRow()).setRows(m.labels().length).setWidth(m.width())
          .setFeatures(com.google.protobuf.ByteString.copyFrom(buf.array()));
      for (int y : m.labels()) {
        b.addLabels(y);
      }
      return b.build().toByteArray();
    } else if (o instanceof WorkerProtocol.StopRun m) {
      return StopRunProto.newBuilder().setRunId(m.runId()).setWorkerId(m.workerId()).setReason(m.reason()).build()
          .toByteArray();
    } else if (o instanceof WorkerProtocol.Prepare m) {
      return PrepareProto.newBuilder().setRunId(m.runId()).setWorkerId(m.workerId()).setGeneration(m.generation())
          .setRecordedStep(m.recordedStep()).build().toByteArray();
    } else if (o instanceof WorkerProtocol.Credit m) {
      return CreditProto.newBuilder().setRunId(m.runId()).setWorkerId(m.workerId()).setGeneration(m.generation())
          .setThroughStep(m.throughStep()).setSnapshotStep(m.snapshotStep()).build().toByteArray();
    } else if (o instanceof WorkerProtocol.Go m) {
      GoProto.Builder b = GoProto.newBuilder().setRunId(m.runId()).setWorkerId(m.workerId())
          .setGeneration(m.generation())
          .setStartStep(m.startStep()).setStateSource(m.stateSource()).setCreditStep(m.creditStep())
          .setSnapshotStep(m.snapshotStep()).setResendSnapshot(m.resendSnapshot());
      for (WorkerProtocol.Member x : m.members()) {
        b.addMembers(MemberProto.newBuilder().setWorkerId(x.workerId()).setEndpoint(x.endpoint())
            .setFirstShard(x.firstShard()).setEndShard(x.endShard()).setAppliedStep(x.appliedStep())
            .setPairKey(com.google.protobuf.ByteString.copyFrom(x.pairKey())));
      }
      for (WorkerProtocol.Partition x : m.partitions()) {
        b.addPartitions(PartitionProto.newBuilder().setWorkerId(x.workerId()).setAfterStep(x.afterStep())
            .setMillis(x.millis()));
      }
      for (WorkerProtocol.Corruption x : m.corruptions()) {
        b.addCorruptions(io.syncgrad.proto.CorruptionProto.newBuilder().setWorkerId(x.workerId()).setStep(x.step())
            .setFinite(x.finite()));
      }
      return b.build().toByteArray();
    }
    throw new IllegalArgumentException("no protobuf mapping for " + o.getClass().getName());
  }

  @Override
  public Object fromBinary(byte[] sealed, String manifest) throws NotSerializableException {
    traffic.received(sealed.length);
    try {
      byte[] bytes = sealed;
      int length = sealed.length;
      if (FROM_WORKER.contains(manifest) || TO_WORKER.contains(manifest)) {
        length -= MessageSeals.SEAL_BYTES;
        if (length < 0) {
          throw new IllegalArgumentException(sealed.length + " bytes, less than a seal");
        }
        bytes = java.util.Arrays.copyOf(sealed, length);
      }
      switch (manifest) {
        case REGISTER: {
          RegisterWorkerProto p = RegisterWorkerProto.parseFrom(bytes);
          return new CoordinatorProtocol.RegisterWorker(p.getWorkerId(), resolver.resolveActorRef(p.getWorkerRef()),
              p.getKernel(), p.getPeerEndpoint());
        }
        case READY: {
          WorkerReadyProto p = WorkerReadyProto.parseFrom(bytes);
          checkSeal(p.getWorkerId(), manifest, sealed, length);
          return new CoordinatorProtocol.WorkerReady(p.getRunId(), p.getWorkerId(), p.getAppliedStep());
        }
        case FAILED: {
          WorkerFailedProto p = WorkerFailedProto.parseFrom(bytes);
          checkSeal(p.getWorkerId(), manifest, sealed, length);
          return new CoordinatorProtocol.WorkerFailed(p.getRunId(), p.getWorkerId(), p.getReason());
        }
        case PREPARED: {
          PreparedProto p = PreparedProto.parseFrom(bytes);
          checkSeal(p.getWorkerId(), manifest, sealed, length);
          return new CoordinatorProtocol.Prepared(p.getRunId(), p.getGeneration(), p.getWorkerId(),
              p.getAppliedStep());
        }
        case REPORT: {
          StepReportProto p = StepReportProto.parseFrom(bytes);
          checkSeal(p.getWorkerId(), manifest, sealed, length);
          return report(p);
        }
        case REPORTS: {
          StepReportsProto all = StepReportsProto.parseFrom(bytes);
          if (all.getReportsCount() == 0) {
            throw new IllegalArgumentException("no reports");
          }
          // Sealed by the first report's worker; the record refuses reports of several.
          checkSeal(all.getReports(0).getWorkerId(), manifest, sealed, length);
          List<CoordinatorProtocol.StepReport> reports = new ArrayList<>();
          for (StepReportProto p : all.getReportsList()) {
            reports.add(report(p));
          }
          return new CoordinatorProtocol.StepReports(reports);
        }
        case START: {
          StartRunProto p = StartRunProto.parseFrom(bytes);
          DataSpecProto d = p.getData();
          DataSpec data = new DataSpec(d.getData().isEmpty() ? null : d.getData(),
              d.getTestData().isEmpty() ? null : d.getTestData(), d.getTestFraction(), d.getValidationFraction(),
              d.getLabelColumn(), d.getSeed());
          ModelSpec model = ModelCodec.requireCarriable(ModelCodec.decode(p.getModel()));
          TrainingConfig config = ModelCodec.decode(p.getConfig());
          if (p.getNormalization().getOffsetCount() != model.inputSize()) {
            throw new IllegalArgumentException("a normalization of " + p.getNormalization().getOffsetCount()
                + " features for a model of " + model.inputSize() + " inputs");
          }
          if (p.getWindow() < 1 || p.getWindow() > MAX_WINDOW) {
            throw new IllegalArgumentException("a window of " + p.getWindow() + " steps, expected 1 to " + MAX_WINDOW);
          }
          PeerFaultsProto f = p.getPeerFaults();
          LinkFaults faults = new LinkFaults(f.getDrop(), f.getDuplicate(), f.getDelay(),
              Duration.ofMillis(f.getMaxDelayMillis()), f.getSeed(), Duration.ofMillis(f.getRetransmitMillis()));
          return new WorkerProtocol.StartRun(p.getRunId(), model, config, ModelCodec.decode(p.getNormalization()),
              data, resolver.resolveActorRef(p.getCoordinatorRef()), p.getShippedFingerprint(), p.getTensorLink(),
              p.getLinkToken(), p.getTotalSteps(), faults, p.getWindow(), p.getAuditFraction());
        }
        case CHUNK: {
          DataChunkProto p = DataChunkProto.parseFrom(bytes);
          if (p.getTotal() <= 0 || p.getIndex() < 0 || p.getIndex() >= p.getTotal()) {
            throw new IllegalArgumentException("data chunk " + Integer.toUnsignedLong(p.getIndex()) + " of "
                + Integer.toUnsignedLong(p.getTotal()));
          }
          if ((long) p.getRows() * p.getWidth() * Float.BYTES != p.getFeatures().size() || p.getLabelsCount() != p.getRows()) {
            throw new IllegalArgumentException("data chunk " + p.getIndex() + ": " + p.getFeatures().size()
                + " feature bytes and " + p.getLabelsCount() + " labels for " + p.getRows() + " rows of " + p.getWidth());
          }
          float[] features = new float[p.getRows() * p.getWidth()];
          p.getFeatures().asReadOnlyByteBuffer().order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(features);
          int[] labels = new int[p.getRows()];
          for (int i = 0; i < labels.length; i++) {
            labels[i] = p.getLabels(i);
          }
          return new WorkerProtocol.DataChunk(p.getRunId(), p.getIndex(), p.getTotal(), p.getFirstRow(), p.getWidth(),
              features, labels);
        }
        case STOP: {
          StopRunProto p = StopRunProto.parseFrom(bytes);
          checkSeal(p.getWorkerId(), manifest, sealed, length);
          return new WorkerProtocol.StopRun(p.getRunId(), p.getWorkerId(), p.getReason());
        }
        case PREPARE: {
          PrepareProto p = PrepareProto.parseFrom(bytes);
          checkSeal(p.getWorkerId(), manifest, sealed, length);
          return new WorkerProtocol.Prepare(p.getRunId(), p.getWorkerId(), p.getGeneration(), p.getRecordedStep());
        }
        case CREDIT: {
          CreditProto p = CreditProto.parseFrom(bytes);
          checkSeal(p.getWorkerId(), manifest, sealed, length);
          return new WorkerProtocol.Credit(p.getRunId(), p.getWorkerId(), p.getGeneration(), p.getThroughStep(),
              p.getSnapshotStep());
        }
        case GO: {
          GoProto p = GoProto.parseFrom(bytes);
          checkSeal(p.getWorkerId(), manifest, sealed, length);
          List<WorkerProtocol.Member> members = new ArrayList<>();
          for (MemberProto x : p.getMembersList()) {
            if (x.getEndShard() <= x.getFirstShard()) {
              throw new IllegalArgumentException("member " + x.getWorkerId() + " has no shards");
            }
            members.add(new WorkerProtocol.Member(x.getWorkerId(), x.getEndpoint(), x.getFirstShard(),
                x.getEndShard(), x.getAppliedStep(), x.getPairKey().toByteArray()));
          }
          List<WorkerProtocol.Partition> partitions = new ArrayList<>();
          for (PartitionProto x : p.getPartitionsList()) {
            partitions.add(new WorkerProtocol.Partition(x.getWorkerId(), x.getAfterStep(), x.getMillis()));
          }
          List<WorkerProtocol.Corruption> corruptions = new ArrayList<>();
          for (io.syncgrad.proto.CorruptionProto x : p.getCorruptionsList()) {
            corruptions.add(new WorkerProtocol.Corruption(x.getWorkerId(), x.getStep(), x.getFinite()));
          }
          return new WorkerProtocol.Go(p.getRunId(), p.getWorkerId(), p.getGeneration(), members, p.getStartStep(),
              p.getStateSource(), p.getCreditStep(), p.getSnapshotStep(), p.getResendSnapshot(), partitions,
              corruptions);
        }
        default:
          throw new NotSerializableException("unknown manifest '" + manifest + "'");
      }
    } catch (InvalidProtocolBufferException | RuntimeException e) {
      // RuntimeException: whatever else a crafted message provokes in a decoder is its fault too.
      NotSerializableException n = new NotSerializableException("bad " + manifest + " message: " + e.getMessage());
      n.initCause(e);
      throw n;
    }
  }

  private static StepReportProto report(CoordinatorProtocol.StepReport m) {
    return StepReportProto.newBuilder().setRunId(m.runId()).setGeneration(m.generation()).setStep(m.step())
        .setWorkerId(m.workerId()).setLossSum(m.lossSum()).setSamples(m.samples())
        .setGradientNorm(m.gradientNorm()).setComputeNanos(m.computeNanos()).setStepNanos(m.stepNanos())
        .setSentBytes(m.sentBytes()).setReceivedBytes(m.receivedBytes()).setFaultsInjected(m.faultsInjected())
        .setDuplicatesRejected(m.duplicatesRejected()).setStaleRejected(m.staleRejected())
        .setRetries(m.retries()).addAllFaultEvents(m.faultEvents()).setDiverged(m.diverged())
        .setSuspect(m.suspect()).build();
  }

  private static CoordinatorProtocol.StepReport report(StepReportProto p) {
    return new CoordinatorProtocol.StepReport(p.getRunId(), p.getGeneration(), p.getStep(), p.getWorkerId(),
        p.getLossSum(), p.getSamples(), p.getGradientNorm(), p.getComputeNanos(), p.getStepNanos(),
        p.getSentBytes(), p.getReceivedBytes(), p.getFaultsInjected(), p.getDuplicatesRejected(),
        p.getStaleRejected(), p.getRetries(), p.getFaultEventsList(), p.getDiverged(), p.getSuspect());
  }

  private <T> String ref(ActorRef<T> ref) {
    return resolver.toSerializationFormat(ref);
  }
}
