package io.syncgrad.worker;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.PostStop;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.receptionist.Receptionist;
import io.syncgrad.common.data.DataSources;
import io.syncgrad.common.data.Dataset;
import io.syncgrad.common.error.UserException;
import io.syncgrad.common.math.MatrixKernel;
import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.protocol.CoordinatorProtocol;
import io.syncgrad.common.protocol.CoordinatorProtocol.PrefixComputed;
import io.syncgrad.common.protocol.CoordinatorProtocol.RegisterWorker;
import io.syncgrad.common.protocol.CoordinatorProtocol.ShardComputed;
import io.syncgrad.common.protocol.CoordinatorProtocol.WorkerFailed;
import io.syncgrad.common.protocol.CoordinatorProtocol.WorkerReady;
import io.syncgrad.common.protocol.DataSpec;
import io.syncgrad.common.protocol.ProtocolSerializer;
import io.syncgrad.common.protocol.WorkerProtocol.Command;
import io.syncgrad.common.protocol.WorkerProtocol.ComputeStep;
import io.syncgrad.common.protocol.WorkerProtocol.FoldPrefix;
import io.syncgrad.common.protocol.WorkerProtocol.Internal;
import io.syncgrad.common.protocol.WorkerProtocol.StartRun;
import io.syncgrad.common.protocol.WorkerProtocol.StopRun;
import io.syncgrad.common.train.ShardComputer;
import io.syncgrad.common.train.ShardFold;
import io.syncgrad.common.transport.TensorLink;
import io.syncgrad.common.transport.TensorLinkSettings;
import io.syncgrad.proto.LinkFrameProto;
import io.syncgrad.proto.LinkHelloProto;
import java.io.IOException;
import java.util.HashSet;
import java.util.Set;
import java.util.function.Function;

/**
 * A worker: finds the coordinator through the receptionist and registers, loads the run's data
 * when told, and answers every {@link ComputeStep} with one {@link ShardComputed} per shard.
 *
 * <p>A shard's gradient is computed by {@link ShardComputer}, the very code of the one-node
 * trainer, so whichever worker computes a shard sends the same bytes. Computing blocks this
 * actor; it runs on a dispatcher of its own so that the node's heartbeats do not wait.
 */
public final class Worker extends AbstractBehavior<Command> {

  private record CoordinatorsListed(Receptionist.Listing listing) implements Internal {}

  private record CoordinatorLost(String runId) implements Internal {}

  /** Why a worker stopped: its run is over, or its coordinator was lost (the node should rejoin). */
  public enum Outcome { RUN_OVER, COORDINATOR_LOST }

  private final String workerId;
  private final MatrixKernel kernel;
  private final Function<DataSpec, Dataset> loader;
  private final java.util.function.Consumer<Outcome> onStop;
  private final Set<ActorRef<CoordinatorProtocol.Command>> registeredWith = new HashSet<>();
  private String runId;
  private ActorRef<CoordinatorProtocol.Command> coordinator;
  private ShardComputer computer;
  private Parameters shape;
  /** The direct connection to the coordinator for weights and gradients; null: over Artery. */
  private TensorLink link;
  /** Adds up this worker's shards of a folded step onto the prefix before them. */
  private ShardFold fold;
  /** A folded step computed and waiting for the prefix of the shards before its own. */
  private ComputeStep waiting;
  private long waitingNanos;
  /** A prefix that came before its step (a delayed step). */
  private FoldPrefix early;

  /**
   * @param workerId a name unique in the cluster
   * @param kernel   what multiplies the matrices; its identity is reported to the coordinator
   */
  public static Behavior<Command> create(String workerId, MatrixKernel kernel) {
    return create(workerId, kernel, Worker::loadTrainingData, outcome -> { });
  }

  /**
   * Like {@link #create(String, MatrixKernel)}, telling {@code onStop} why the worker stopped, and
   * with another way to find the training samples (tests).
   */
  public static Behavior<Command> create(String workerId, MatrixKernel kernel, Function<DataSpec, Dataset> loader,
      java.util.function.Consumer<Outcome> onStop) {
    return Behaviors.setup(ctx -> {
      ActorRef<Receptionist.Listing> listings = ctx.messageAdapter(Receptionist.Listing.class, CoordinatorsListed::new);
      ctx.getSystem().receptionist().tell(Receptionist.subscribe(CoordinatorProtocol.SERVICE_KEY, listings));
      return new Worker(ctx, workerId, kernel, loader, onStop);
    });
  }

  /** Like {@link #create(String, MatrixKernel)} with another way to find the training samples (tests). */
  public static Behavior<Command> create(String workerId, MatrixKernel kernel, Function<DataSpec, Dataset> loader) {
    return create(workerId, kernel, loader, outcome -> { });
  }

  private Worker(ActorContext<Command> ctx, String workerId, MatrixKernel kernel, Function<DataSpec, Dataset> loader,
      java.util.function.Consumer<Outcome> onStop) {
    super(ctx);
    this.workerId = workerId;
    this.kernel = kernel;
    this.loader = loader;
    this.onStop = onStop;
  }

  /** {@link #loadTrainingData} for the node assembly. */
  public static Dataset loadTrainingDataForNodes(DataSpec d) {
    return loadTrainingData(d);
  }

  /** The training samples of a data spec, as the coordinator loaded them (not yet normalised). */
  static Dataset loadTrainingData(DataSpec d) {
    return DataSources.load(d.data(), d.testData(), d.testFraction(), d.labelColumn(), d.seed()).train();
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(CoordinatorsListed.class, this::onCoordinatorsListed)
        .onMessage(StartRun.class, this::onStartRun)
        .onMessage(io.syncgrad.common.protocol.WorkerProtocol.DataChunk.class, this::onDataChunk)
        .onMessage(ComputeStep.class, this::onComputeStep)
        .onMessage(FoldPrefix.class, this::onFoldPrefix)
        .onMessage(StopRun.class, this::onStopRun)
        .onMessage(CoordinatorLost.class, this::onCoordinatorLost)
        .onSignal(PostStop.class, signal -> {
          closeLink();
          return this;
        })
        .build();
  }

  private Behavior<Command> onCoordinatorsListed(CoordinatorsListed msg) {
    for (ActorRef<CoordinatorProtocol.Command> c : msg.listing().getServiceInstances(CoordinatorProtocol.SERVICE_KEY)) {
      if (registeredWith.add(c)) {
        getContext().getLog().info("Worker [{}] registering with coordinator [{}]", workerId, c.path());
        c.tell(new RegisterWorker(workerId, getContext().getSelf(), kernel.identity(), 1));
      }
    }
    return this;
  }

  /** A run whose data is still arriving in chunks. */
  private StartRun shippedRun;
  private float[] shippedFeatures;
  private int[] shippedLabels;
  private int chunksReceived;

  private Behavior<Command> onStartRun(StartRun msg) {
    if (msg.shipped()) {
      // The coordinator ships the data: wait for every chunk, then check what arrived.
      shippedRun = msg;
      shippedFeatures = new float[(int) msg.config().trainExamples() * msg.model().inputSize()];
      shippedLabels = new int[(int) msg.config().trainExamples()];
      chunksReceived = 0;
      return this;
    }
    try {
      Dataset train = loader.apply(msg.data());
      String fingerprint = train.fingerprint();
      if (!fingerprint.equals(msg.config().dataFingerprint()) || train.size() != msg.config().trainExamples()) {
        throw new UserException(train.source() + " on worker " + workerId + ": not the coordinator's data ("
            + train.size() + " samples, fingerprint " + fingerprint + "; the run has " + msg.config().trainExamples()
            + " samples, fingerprint " + msg.config().dataFingerprint() + ")");
      }
      msg.normalization().applyInPlace(train);
      // A worker outlives its coordinator (see ready): when the coordinator's node is gone, this
      // node restarts and joins whichever coordinator comes back (a resumed one, typically).
      return ready(msg, train);
    } catch (UserException | IllegalArgumentException e) {
      getContext().getLog().error("Worker [{}] cannot take part in run [{}]: {}", workerId, msg.runId(), e.getMessage());
      msg.coordinator().tell(new WorkerFailed(msg.runId(), workerId, e.getMessage()));
    }
    return this;
  }

  private Behavior<Command> onDataChunk(io.syncgrad.common.protocol.WorkerProtocol.DataChunk chunk) {
    StartRun run = shippedRun;
    int width = run == null ? 0 : run.model().inputSize();
    if (run == null || !chunk.runId().equals(run.runId()) || chunk.width() != width || chunk.firstRow() < 0
        || chunk.firstRow() + chunk.labels().length > shippedLabels.length) {
      getContext().getLog().warn("Worker [{}] refuses a data chunk of run [{}] that does not fit", workerId,
          chunk.runId());
      return this;
    }
    System.arraycopy(chunk.features(), 0, shippedFeatures, chunk.firstRow() * width, chunk.features().length);
    System.arraycopy(chunk.labels(), 0, shippedLabels, chunk.firstRow(), chunk.labels().length);
    if (++chunksReceived < chunk.total()) {
      return this;
    }
    Dataset train = new Dataset("shipped by the coordinator", shippedFeatures, shippedLabels, shippedLabels.length,
        width, false);
    shippedRun = null;
    if (!train.fingerprint().equals(run.shippedFingerprint())) {
      run.coordinator().tell(new WorkerFailed(run.runId(), workerId, "the shipped data arrived damaged on worker "
          + workerId + " (fingerprint " + train.fingerprint() + ", sent " + run.shippedFingerprint() + ")"));
      return this;
    }
    // Shipped data is normalised already.
    return ready(run, train);
  }

  private Behavior<Command> ready(StartRun msg, Dataset train) {
    computer = new ShardComputer(msg.model(), msg.config(), train, kernel);
    shape = Parameters.zeros(msg.model());
    fold = new ShardFold(shape);
    runId = msg.runId();
    coordinator = msg.coordinator();
    getContext().watchWith(msg.coordinator(), new CoordinatorLost(msg.runId()));
    openLink(msg);
    getContext().getLog().info("Worker [{}] ready for run [{}]: {} samples", workerId, runId, train.size());
    msg.coordinator().tell(new WorkerReady(msg.runId(), workerId));
    return this;
  }

  /**
   * Opens the tensor link the coordinator offers. Without one (none offered, or it cannot be
   * reached) the weights and gradients go over Artery, only slower.
   */
  private void openLink(StartRun msg) {
    closeLink();
    if (msg.tensorLink().isEmpty()) {
      return;
    }
    LinkFrameProto hello = LinkFrameProto.newBuilder().setHello(LinkHelloProto.newBuilder().setRunId(msg.runId())
        .setWorkerId(workerId).setLinkToken(msg.linkToken())).build();
    try {
      TensorLinkSettings settings = TensorLinkSettings.fromConfig(getContext().getSystem().settings().config());
      TensorLink opened = TensorLink.connect(msg.tensorLink(), settings, hello);
      ActorRef<Command> self = getContext().getSelf();
      org.slf4j.Logger log = getContext().getLog();
      opened.start(frame -> {
        try {
          if (frame.hasCompute()) {
            self.tell(ProtocolSerializer.decode(frame.getCompute()));
          } else if (frame.hasFoldPrefix()) {
            self.tell(ProtocolSerializer.decodeFold(frame.getFoldPrefix()));
          }
        } catch (IllegalArgumentException e) {
          log.warn("Tensor link: bad step refused: {}", e.getMessage());
        }
      }, reason -> log.debug("Tensor link to {} closed: {}", opened.peer(), reason));
      link = opened;
      getContext().getLog().info("Worker [{}] opened its tensor link to {}", workerId, msg.tensorLink());
    } catch (IOException | IllegalArgumentException e) {
      getContext().getLog().warn("Worker [{}] cannot open a tensor link to {} ({}); weights and gradients go over "
          + "Artery", workerId, msg.tensorLink(), e.getMessage());
    }
  }

  private void closeLink() {
    if (link != null) {
      link.close();
      link = null;
    }
  }

  private Behavior<Command> onComputeStep(ComputeStep msg) {
    if (computer == null || !msg.runId().equals(runId)) {
      getContext().getLog().debug("Worker [{}] ignores a step of unknown run [{}]", workerId, msg.runId());
      return this;
    }
    if (!msg.weights().sameShape(shape)) {
      getContext().getLog().warn("Worker [{}] refuses step [{}]: weights {} do not fit the model {}", workerId,
          msg.step(), msg.weights().shapes(), shape.shapes());
      return this;
    }
    computer.prepare(msg.step());
    waiting = null;
    boolean folding = msg.fold() && consecutive(msg.shards());
    long total = 0;
    for (int shard : msg.shards()) {
      if (shard < 0 || shard >= computer.plan().shards()) {
        getContext().getLog().warn("Worker [{}] refuses shard [{}] of step [{}]: the run has {} shards", workerId,
            shard, msg.step(), computer.plan().shards());
        return this;
      }
      long t0 = System.nanoTime();
      computer.compute(msg.weights(), msg.step(), shard);
      long nanos = System.nanoTime() - t0;
      total += nanos;
      if (!folding) {
        sendShard(msg, shard, nanos);
      }
    }
    if (folding) {
      waiting = msg;
      waitingNanos = total;
      if (msg.shards().get(0) == 0) {
        foldAndSend(null);
      } else if (early != null && continues(early, msg)) {
        foldAndSend(early);
      }
    }
    return this;
  }

  private static boolean consecutive(java.util.List<Integer> shards) {
    for (int i = 1; i < shards.size(); i++) {
      if (shards.get(i) != shards.get(i - 1) + 1) {
        return false;
      }
    }
    return !shards.isEmpty();
  }

  private static boolean continues(FoldPrefix p, ComputeStep s) {
    return p.runId().equals(s.runId()) && p.generation() == s.generation() && p.step() == s.step()
        && p.through() + 1 == s.shards().get(0);
  }

  private void sendShard(ComputeStep msg, int shard, long nanos) {
    if (link != null && link.isOpen()) {
      // Encoding copies the gradient: the next shard may reuse the buffer at once.
      link.send(LinkFrameProto.newBuilder().setGradient(ProtocolSerializer.encode(new ShardComputed(runId,
          msg.generation(), msg.step(), shard, computer.gradient(shard), computer.samples(shard),
          computer.lossSum(shard), workerId, nanos))).build());
    } else {
      // A copy: the message may still be in flight when the next shard reuses the buffer.
      coordinator.tell(new ShardComputed(runId, msg.generation(), msg.step(), shard, computer.gradient(shard).copy(),
          computer.samples(shard), computer.lossSum(shard), workerId, nanos));
    }
  }

  private Behavior<Command> onFoldPrefix(FoldPrefix msg) {
    if (waiting != null && continues(msg, waiting)) {
      foldAndSend(msg);
    } else if (msg.runId().equals(runId)) {
      early = msg;
    }
    return this;
  }

  /**
   * Adds up the waiting step's shards onto {@code prefix} (nothing: they start at shard 0), in
   * shard order, and sends the longer prefix to the coordinator.
   */
  private void foldAndSend(FoldPrefix prefix) {
    ComputeStep msg = waiting;
    waiting = null;
    early = null;
    fold.reset();
    if (prefix != null) {
      if (!prefix.prefix().sameShape(shape)) {
        getContext().getLog().warn("Worker [{}] refuses a prefix of step [{}] that does not fit the model", workerId,
            prefix.step());
        return;
      }
      fold.resume(prefix.through(), prefix.prefix(), prefix.lossSum(), prefix.samples());
    }
    for (int shard : msg.shards()) {
      fold.add(shard, computer.gradient(shard), computer.lossSum(shard), computer.samples(shard));
    }
    int through = msg.shards().get(msg.shards().size() - 1);
    if (link != null && link.isOpen()) {
      link.send(LinkFrameProto.newBuilder().setGradient(ProtocolSerializer.encode(new PrefixComputed(runId,
          msg.generation(), msg.step(), through, fold.sum(), fold.lossSum(), fold.samples(), workerId,
          waitingNanos))).build());
    } else {
      coordinator.tell(new PrefixComputed(runId, msg.generation(), msg.step(), through, fold.sum().copy(),
          fold.lossSum(), fold.samples(), workerId, waitingNanos));
    }
  }

  private Behavior<Command> onStopRun(StopRun msg) {
    getContext().getLog().info("Worker [{}] stops: run [{}] {}", workerId, msg.runId(), msg.reason());
    onStop.accept(Outcome.RUN_OVER);
    return Behaviors.stopped();
  }

  private Behavior<Command> onCoordinatorLost(CoordinatorLost msg) {
    if (!msg.runId().equals(runId)) {
      return this;
    }
    getContext().getLog().warn("Worker [{}] lost the coordinator of run [{}]; rejoining", workerId, runId);
    onStop.accept(Outcome.COORDINATOR_LOST);
    return Behaviors.stopped();
  }
}
