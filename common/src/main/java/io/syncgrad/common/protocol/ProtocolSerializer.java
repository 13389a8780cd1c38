package io.syncgrad.common.protocol;

import akka.actor.ExtendedActorSystem;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorRefResolver;
import akka.actor.typed.javadsl.Adapter;
import akka.serialization.SerializerWithStringManifest;
import com.google.protobuf.InvalidProtocolBufferException;
import io.syncgrad.common.codec.ModelCodec;
import io.syncgrad.common.codec.TensorCodec;
import io.syncgrad.common.model.ModelSpec;
import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.train.TrainingConfig;
import io.syncgrad.proto.ComputeStepProto;
import io.syncgrad.proto.DataChunkProto;
import io.syncgrad.proto.DataSpecProto;
import io.syncgrad.proto.RegisterWorkerProto;
import io.syncgrad.proto.ShardGradientProto;
import io.syncgrad.proto.StartRunProto;
import io.syncgrad.proto.StopRunProto;
import io.syncgrad.proto.TensorProto;
import io.syncgrad.proto.WorkerFailedProto;
import io.syncgrad.proto.WorkerReadyProto;
import java.io.NotSerializableException;
import java.util.List;

/**
 * Protobuf for every {@link WireMessage}: records are mapped to the messages of
 * {@code proto/syncgrad/training.proto} and back; actor references travel as strings. Tensors
 * are decoded against the shapes their model implies, so a message with wrong shapes fails
 * here, before any actor sees it.
 */
public final class ProtocolSerializer extends SerializerWithStringManifest {

  /** Akka's serializer id for this project; ids below 40 are Akka's own. */
  public static final int IDENTIFIER = 57_301;

  private static final String REGISTER = "R";
  private static final String READY = "Y";
  private static final String FAILED = "F";
  private static final String SHARD = "G";
  private static final String START = "S";
  private static final String COMPUTE = "C";
  private static final String STOP = "X";
  private static final String CHUNK = "D";
  private static final String PREFIX = "P";
  private static final String FOLD = "Q";

  private final ActorRefResolver resolver;

  public ProtocolSerializer(ExtendedActorSystem system) {
    this.resolver = ActorRefResolver.get(Adapter.toTyped(system));
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
    } else if (o instanceof CoordinatorProtocol.ShardComputed) {
      return SHARD;
    } else if (o instanceof WorkerProtocol.StartRun) {
      return START;
    } else if (o instanceof WorkerProtocol.ComputeStep) {
      return COMPUTE;
    } else if (o instanceof WorkerProtocol.StopRun) {
      return STOP;
    } else if (o instanceof WorkerProtocol.DataChunk) {
      return CHUNK;
    } else if (o instanceof CoordinatorProtocol.PrefixComputed) {
      return PREFIX;
    } else if (o instanceof WorkerProtocol.FoldPrefix) {
      return FOLD;
    }
    throw new IllegalArgumentException("no protobuf mapping for " + o.getClass().getName());
  }

  @Override
  public byte[] toBinary(Object o) {
    if (o instanceof CoordinatorProtocol.RegisterWorker m) {
      return RegisterWorkerProto.newBuilder().setWorkerId(m.workerId()).setWorkerRef(ref(m.worker()))
          .setKernel(m.kernel()).setThreads(m.threads()).build().toByteArray();
    } else if (o instanceof CoordinatorProtocol.WorkerReady m) {
      return WorkerReadyProto.newBuilder().setRunId(m.runId()).setWorkerId(m.workerId()).build().toByteArray();
    } else if (o instanceof CoordinatorProtocol.WorkerFailed m) {
      return WorkerFailedProto.newBuilder().setRunId(m.runId()).setWorkerId(m.workerId()).setReason(m.reason())
          .build().toByteArray();
    } else if (o instanceof CoordinatorProtocol.ShardComputed m) {
      return encode(m).toByteArray();
    } else if (o instanceof WorkerProtocol.StartRun m) {
      DataSpec d = m.data();
      DataSpecProto.Builder data = DataSpecProto.newBuilder().setTestFraction(d.testFraction())
          .setLabelColumn(d.labelColumn()).setSeed(d.seed());
      if (d.data() != null) {
        data.setData(d.data());
      }
      if (d.testData() != null) {
        data.setTestData(d.testData());
      }
      return StartRunProto.newBuilder().setRunId(m.runId()).setModel(ModelCodec.encode(m.model()))
          .setConfig(ModelCodec.encode(m.config())).setNormalization(ModelCodec.encode(m.normalization()))
          .setData(data).setCoordinatorRef(ref(m.coordinator())).setShippedFingerprint(m.shippedFingerprint())
          .setTensorLink(m.tensorLink()).setLinkToken(m.linkToken()).build().toByteArray();
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
    } else if (o instanceof WorkerProtocol.ComputeStep m) {
      return encode(m, TensorCodec.encode(m.weights())).toByteArray();
    } else if (o instanceof WorkerProtocol.StopRun m) {
      return StopRunProto.newBuilder().setRunId(m.runId()).setReason(m.reason()).build().toByteArray();
    } else if (o instanceof CoordinatorProtocol.PrefixComputed m) {
      return encode(m).toByteArray();
    } else if (o instanceof WorkerProtocol.FoldPrefix m) {
      return encode(m).toByteArray();
    }
    throw new IllegalArgumentException("no protobuf mapping for " + o.getClass().getName());
  }

  @Override
  public Object fromBinary(byte[] bytes, String manifest) throws NotSerializableException {
    try {
      switch (manifest) {
        case REGISTER: {
          RegisterWorkerProto p = RegisterWorkerProto.parseFrom(bytes);
          return new CoordinatorProtocol.RegisterWorker(p.getWorkerId(), resolver.resolveActorRef(p.getWorkerRef()),
              p.getKernel(), p.getThreads());
        }
        case READY: {
          WorkerReadyProto p = WorkerReadyProto.parseFrom(bytes);
          return new CoordinatorProtocol.WorkerReady(p.getRunId(), p.getWorkerId());
        }
        case FAILED: {
          WorkerFailedProto p = WorkerFailedProto.parseFrom(bytes);
          return new CoordinatorProtocol.WorkerFailed(p.getRunId(), p.getWorkerId(), p.getReason());
        }
        case SHARD:
          return decode(ShardGradientProto.parseFrom(bytes));
        case START: {
          StartRunProto p = StartRunProto.parseFrom(bytes);
          DataSpecProto d = p.getData();
          DataSpec data = new DataSpec(d.getData().isEmpty() ? null : d.getData(),
              d.getTestData().isEmpty() ? null : d.getTestData(), d.getTestFraction(), d.getLabelColumn(), d.getSeed());
          ModelSpec model = ModelCodec.decode(p.getModel());
          TrainingConfig config = ModelCodec.decode(p.getConfig());
          return new WorkerProtocol.StartRun(p.getRunId(), model, config, ModelCodec.decode(p.getNormalization()),
              data, resolver.resolveActorRef(p.getCoordinatorRef()), p.getShippedFingerprint(), p.getTensorLink(),
              p.getLinkToken());
        }
        case CHUNK: {
          DataChunkProto p = DataChunkProto.parseFrom(bytes);
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
        case COMPUTE:
          return decode(ComputeStepProto.parseFrom(bytes));
        case PREFIX:
          return decodePrefix(ShardGradientProto.parseFrom(bytes));
        case FOLD:
          return decodeFold(ShardGradientProto.parseFrom(bytes));
        case STOP: {
          StopRunProto p = StopRunProto.parseFrom(bytes);
          return new WorkerProtocol.StopRun(p.getRunId(), p.getReason());
        }
        default:
          throw new NotSerializableException("unknown manifest '" + manifest + "'");
      }
    } catch (InvalidProtocolBufferException | IllegalArgumentException e) {
      NotSerializableException n = new NotSerializableException("bad " + manifest + " message: " + e.getMessage());
      n.initCause(e);
      throw n;
    }
  }

  /** A gradient as protobuf: the one mapping, for Artery and for tensor links. */
  public static ShardGradientProto encode(CoordinatorProtocol.ShardComputed m) {
    return ShardGradientProto.newBuilder().setRunId(m.runId()).setGeneration(m.generation()).setStep(m.step())
        .setShard(m.shard()).addAllGradient(TensorCodec.encode(m.gradient())).setSamples(m.samples())
        .setLossSum(m.lossSum()).setWorkerId(m.workerId()).setComputeNanos(m.computeNanos()).build();
  }

  /**
   * A step as protobuf, with its weights already encoded: a coordinator encodes the weights once
   * per step and shares them between the messages to its workers.
   */
  public static ComputeStepProto encode(WorkerProtocol.ComputeStep m, List<TensorProto> weights) {
    return ComputeStepProto.newBuilder().setRunId(m.runId()).setGeneration(m.generation()).setStep(m.step())
        .addAllShards(m.shards()).addAllParameters(weights).setFold(m.fold()).build();
  }

  /** A worker's prefix as protobuf. */
  public static ShardGradientProto encode(CoordinatorProtocol.PrefixComputed m) {
    return prefix(m.runId(), m.generation(), m.step(), m.through(), m.prefix(), m.lossSum(), m.samples())
        .setWorkerId(m.workerId()).setComputeNanos(m.computeNanos()).build();
  }

  /** The coordinator's prefix for the next worker as protobuf. */
  public static ShardGradientProto encode(WorkerProtocol.FoldPrefix m) {
    return prefix(m.runId(), m.generation(), m.step(), m.through(), m.prefix(), m.lossSum(), m.samples()).build();
  }

  private static ShardGradientProto.Builder prefix(String runId, long generation, long step, int through,
      Parameters sum, double loss, long samples) {
    return ShardGradientProto.newBuilder().setRunId(runId).setGeneration(generation).setStep(step).setShard(through)
        .addAllGradient(TensorCodec.encode(sum)).setSamples(Math.toIntExact(samples)).setLossSum(loss).setPrefix(true);
  }

  /** @throws IllegalArgumentException when a tensor is malformed */
  public static CoordinatorProtocol.PrefixComputed decodePrefix(ShardGradientProto p) {
    return new CoordinatorProtocol.PrefixComputed(p.getRunId(), p.getGeneration(), p.getStep(), p.getShard(),
        decode(p.getGradientList(), "prefix"), p.getLossSum(), Integer.toUnsignedLong(p.getSamples()), p.getWorkerId(),
        p.getComputeNanos());
  }

  /** @throws IllegalArgumentException when a tensor is malformed */
  public static WorkerProtocol.FoldPrefix decodeFold(ShardGradientProto p) {
    return new WorkerProtocol.FoldPrefix(p.getRunId(), p.getGeneration(), p.getStep(), p.getShard(),
        decode(p.getGradientList(), "prefix"), p.getLossSum(), Integer.toUnsignedLong(p.getSamples()));
  }

  /** @throws IllegalArgumentException when a tensor is malformed */
  public static CoordinatorProtocol.ShardComputed decode(ShardGradientProto p) {
    return new CoordinatorProtocol.ShardComputed(p.getRunId(), p.getGeneration(), p.getStep(), p.getShard(),
        decode(p.getGradientList(), "gradient"), p.getSamples(), p.getLossSum(), p.getWorkerId(), p.getComputeNanos());
  }

  /** @throws IllegalArgumentException when a tensor is malformed */
  public static WorkerProtocol.ComputeStep decode(ComputeStepProto p) {
    return new WorkerProtocol.ComputeStep(p.getRunId(), p.getGeneration(), p.getStep(), p.getShardsList(),
        decode(p.getParametersList(), "weights"), p.getFold());
  }

  private <T> String ref(ActorRef<T> ref) {
    return resolver.toSerializationFormat(ref);
  }

  /**
   * Tensors as {@link Parameters}: each travels with its 2-D shape, which the receiver checks
   * against its model before use.
   */
  private static Parameters decode(List<TensorProto> tensors, String what) {
    return Parameters.fromShapes(tensors, what);
  }
}
