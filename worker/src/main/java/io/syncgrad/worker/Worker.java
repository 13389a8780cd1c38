package io.syncgrad.worker;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.PostStop;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.receptionist.Receptionist;
import io.syncgrad.common.data.Dataset;
import io.syncgrad.common.error.UserException;
import io.syncgrad.common.math.MatrixKernel;
import io.syncgrad.common.metrics.Telemetry;
import io.syncgrad.common.protocol.CoordinatorProtocol.RegisterWorker;
import io.syncgrad.common.protocol.CoordinatorProtocol.WorkerFailed;
import io.syncgrad.common.protocol.CoordinatorProtocol;
import io.syncgrad.common.protocol.DataSpec;
import io.syncgrad.common.protocol.MessageSeals;
import io.syncgrad.common.protocol.ProtocolSerializer;
import io.syncgrad.common.protocol.WorkerProtocol.Command;
import io.syncgrad.common.protocol.WorkerProtocol.DataChunk;
import io.syncgrad.common.protocol.WorkerProtocol.Internal;
import io.syncgrad.common.protocol.WorkerProtocol.StartRun;
import io.syncgrad.common.protocol.WorkerProtocol.StopRun;
import io.syncgrad.common.transport.TensorLink;
import io.syncgrad.common.transport.TensorLinkServer;
import io.syncgrad.common.transport.TensorLinkSettings;
import io.syncgrad.proto.LinkHelloProto;
import java.io.IOException;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * A worker, until its run starts: it finds the coordinator through the receptionist and
 * registers with the first it hears of, then takes a run from that one only. A {@link StartRun}
 * is checked (the coordinator's key, the heap it needs, where the data may be read), the data is
 * loaded or arrives in chunks ({@link ShippedData}) and is checked against the run's fingerprint;
 * then the worker becomes a {@link RunMember}, which steps with its peers. A run it cannot take
 * part in (too large for its heap, data outside its roots or not the coordinator's, shipped data
 * damaged) is refused with the reason, and the worker waits for the next. Once it is a member it
 * belongs to that run until the run ends or its coordinator is lost.
 *
 * <p>The peer link server opens before registering, so that the coordinator can tell the other
 * members where this worker is.
 */
public final class Worker extends AbstractBehavior<Command> {

  /** The coordinators the receptionist knows: in this phase and in the run's. */
  record CoordinatorsListed(Receptionist.Listing listing) implements Internal {}

  /** No coordinator started a run on this worker within the join timeout. */
  record JoinExpired() implements Internal {}

  /** The coordinator this worker registered with is gone, before its run started here. */
  record RegisteredCoordinatorLost(ActorRef<CoordinatorProtocol.Command> coordinator) implements Internal {}

  /** A peer opened a link and said who it is; not trusted until checked (by the run's {@link PeerLinks}). */
  record PeerHello(LinkHelloProto hello, TensorLink link) implements Internal {}

  /**
   * Why a worker stopped: its run is over, its coordinator was lost (the node should rejoin), no
   * coordinator gave it a run within the join timeout (the node should give up), or it threw (a
   * bug: its node reports it and ends, so that whoever started it sees a failure).
   */
  public enum Outcome { RUN_OVER, COORDINATOR_LOST, NO_COORDINATOR, FAILED }

  /** How long a worker waits for a coordinator to start a run on it, unless told otherwise. */
  public static final Duration DEFAULT_JOIN_TIMEOUT = Duration.ofMinutes(10);

  private final WorkerSetup setup;
  private final String workerId;
  private final MatrixKernel kernel;
  private final TrainingSamples samples;
  private final Duration joinTimeout;
  private final akka.actor.Cancellable joinTimer;
  private final TensorLinkSettings linkSettings;
  /** Where this worker reads training data a StartRun names. */
  private final DataRoots dataRoots;
  /** The one coordinator this worker registered with: the only one it takes a run from. */
  private ActorRef<CoordinatorProtocol.Command> registeredWith;
  private final Set<ActorRef<CoordinatorProtocol.Command>> ignoredCoordinators = new HashSet<>();
  private TensorLinkServer peerServer;
  /** A run whose data is still arriving in chunks; null otherwise. */
  private ShippedData shipped;

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
      Consumer<Outcome> onStop) {
    return create(workerId, kernel, loader, onStop, Telemetry.unserved(), DEFAULT_JOIN_TIMEOUT);
  }

  /**
   * The full form: {@code telemetry} hears of this worker's readiness and steps, and the worker
   * stops with {@link Outcome#NO_COORDINATOR} when no coordinator started a run on it within
   * {@code joinTimeout} of its start.
   */
  public static Behavior<Command> create(String workerId, MatrixKernel kernel, Function<DataSpec, Dataset> loader,
      Consumer<Outcome> onStop, Telemetry telemetry, Duration joinTimeout) {
    return create(workerId, kernel, TrainingSamples.ownCopy(loader), onStop, telemetry, joinTimeout);
  }

  /** Like the form above, with the samples perhaps shared with the other workers of this JVM. */
  public static Behavior<Command> create(String workerId, MatrixKernel kernel, TrainingSamples samples,
      Consumer<Outcome> onStop, Telemetry telemetry, Duration joinTimeout) {
    return Behaviors.setup(ctx -> {
      ActorRef<Receptionist.Listing> listings = ctx.messageAdapter(Receptionist.Listing.class, CoordinatorsListed::new);
      ctx.getSystem().receptionist().tell(Receptionist.subscribe(CoordinatorProtocol.SERVICE_KEY, listings));
      return new Worker(ctx, workerId, kernel, samples, onStop, telemetry, joinTimeout);
    });
  }

  /** Like {@link #create(String, MatrixKernel)} with another way to find the training samples (tests). */
  public static Behavior<Command> create(String workerId, MatrixKernel kernel, Function<DataSpec, Dataset> loader) {
    return create(workerId, kernel, loader, outcome -> { });
  }

  private Worker(ActorContext<Command> ctx, String workerId, MatrixKernel kernel, TrainingSamples samples,
      Consumer<Outcome> onStop, Telemetry telemetry, Duration joinTimeout) {
    super(ctx);
    this.linkSettings = TensorLinkSettings.fromConfig(ctx.getSystem().settings().config());
    this.setup = new WorkerSetup(workerId, kernel, onStop, telemetry, telemetry.worker().of(workerId),
        ProtocolSerializer.of(ctx.getSystem()).traffic(), linkSettings);
    this.joinTimeout = joinTimeout;
    setup.notReady("waiting for a coordinator");
    this.joinTimer = ctx.scheduleOnce(joinTimeout, ctx.getSelf(), new JoinExpired());
    this.workerId = workerId;
    this.kernel = kernel;
    this.samples = samples;
    this.dataRoots = DataRoots.fromConfig(ctx.getSystem().settings().config());
    ctx.getLog().info("Worker [{}] reads training data only under {} (and the default data)", workerId, dataRoots);
  }

  /** {@link #loadTrainingData} for the node assembly. */
  public static Dataset loadTrainingDataForNodes(DataSpec d) {
    return loadTrainingData(d);
  }

  /** The training samples of a data spec, as the coordinator loaded them (not yet normalised). */
  static Dataset loadTrainingData(DataSpec d) {
    return d.load().train();
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(CoordinatorsListed.class, this::onCoordinatorsListed)
        .onMessage(StartRun.class, this::onStartRun)
        .onMessage(DataChunk.class, this::onDataChunk)
        .onMessage(PeerHello.class, m -> {
          // No run yet: nobody is a peer.
          m.link().close();
          return this;
        })
        .onMessage(StopRun.class, this::onStopRun)
        .onMessage(JoinExpired.class, this::onJoinExpired)
        .onMessage(RegisteredCoordinatorLost.class, this::onRegisteredCoordinatorLost)
        .onSignal(PostStop.class, signal -> {
          if (peerServer != null) {
            peerServer.close();
          }
          return this;
        })
        .build();
  }

  /**
   * A worker registers with one coordinator, the first it hears of, and takes a run from that
   * one only: another coordinator in the cluster (a second run, or a node posing as one) gets
   * nothing from it.
   */
  private Behavior<Command> onCoordinatorsListed(CoordinatorsListed msg) {
    for (ActorRef<CoordinatorProtocol.Command> c : msg.listing().getServiceInstances(CoordinatorProtocol.SERVICE_KEY)) {
      if (registeredWith == null) {
        registeredWith = c;
        getContext().getLog().info("Worker [{}] registering with coordinator [{}]", workerId, c.path());
        c.tell(new RegisterWorker(workerId, getContext().getSelf(), kernel.identity(), peerEndpoint()));
        getContext().watchWith(c, new RegisteredCoordinatorLost(c));
      } else if (!registeredWith.equals(c) && ignoredCoordinators.add(c)) {
        getContext().getLog().warn("Worker [{}] is registered with coordinator [{}]; ignores coordinator [{}]",
            workerId, registeredWith.path(), c.path());
      }
    }
    return this;
  }

  /**
   * The peer link server is opened before registering, so that the coordinator can tell the
   * other members where this worker is. The run's {@link PeerLinks} take it over once the run's data is in.
   */
  private String peerEndpoint() {
    if (peerServer == null) {
      try {
        ActorRef<Command> self = getContext().getSelf();
        peerServer = TensorLinkServer.open(linkSettings,
            (hello, l) -> self.tell(new PeerHello(hello, l)));
      } catch (IOException e) {
        getContext().getLog().error("Worker [{}] cannot open its peer link port: {}", workerId, e.getMessage());
        return "";
      }
    }
    return peerServer.endpoint();
  }

  private Behavior<Command> onStartRun(StartRun msg) {
    if (shipped != null) {
      getContext().getLog().warn("Worker [{}] is in run [{}]; ignores a start of run [{}]", workerId,
          shipped.run().runId(), msg.runId());
      return this;
    }
    if (!msg.coordinator().equals(registeredWith)) {
      getContext().getLog().warn("Worker [{}] ignores a start of run [{}] for coordinator [{}]: it registered with "
          + "[{}]", workerId, msg.runId(), msg.coordinator().path(), registeredWith == null ? "none"
          : registeredWith.path());
      return this;
    }
    // From here on, what this worker says and is told is sealed with its key (MessageSeals).
    try {
      MessageSeals.get(getContext().getSystem()).hold(workerId, java.util.HexFormat.of().parseHex(msg.linkToken()));
    } catch (IllegalArgumentException e) {
      getContext().getLog().warn("Worker [{}] ignores a start of run [{}] without a key", workerId, msg.runId());
      return this;
    }
    String tooLarge = RunFootprint.problem(msg, workerId, Runtime.getRuntime().maxMemory());
    if (tooLarge != null) {
      return cannotTakePart(msg, tooLarge, tooLarge);
    }
    if (msg.shipped()) {
      // The coordinator ships the data: wait for every chunk, then check what arrived.
      shipped = new ShippedData(msg);
      return this;
    }
    Dataset data;
    try {
      dataRoots.check(msg.data(), workerId);
    } catch (UserException e) {
      return cannotTakePart(msg, e.getMessage(), e.getMessage());
    }
    try {
      data = samples.load(msg.data());
    } catch (RuntimeException e) {
      // The message may quote the file (a field, a header, its first bytes): it stays in this
      // node's log. Whoever sent the StartRun hears the path and the kind of problem only.
      return cannotTakePart(msg, e.getMessage(), "worker " + workerId + " cannot load the training data "
          + describe(msg.data()) + ": " + (e instanceof UserException ? "not valid training data" : "a failure while "
          + "reading it (" + e.getClass().getSimpleName() + ")") + "; the worker's log has the details");
    }
    String fingerprint = data.fingerprint();
    if (!fingerprint.equals(msg.config().dataFingerprint()) || data.size() != msg.config().trainExamples()) {
      String why = describe(msg.data()) + " on worker " + workerId + ": not the coordinator's data (" + data.size()
          + " samples, fingerprint " + fingerprint + "; the run has " + msg.config().trainExamples()
          + " samples, fingerprint " + msg.config().dataFingerprint() + ")";
      return cannotTakePart(msg, why, why);
    }
    try {
      data = samples.normalized(data, msg.normalization());
    } catch (IllegalArgumentException e) {
      return cannotTakePart(msg, e.getMessage(), e.getMessage());
    }
    return join(msg, data);
  }

  /** Tells the coordinator this worker cannot take part: {@code reply} to it, {@code detail} in the log. */
  private Behavior<Command> cannotTakePart(StartRun msg, String detail, String reply) {
    getContext().getLog().error("Worker [{}] cannot take part in run [{}]: {}", workerId, msg.runId(), detail);
    msg.coordinator().tell(new WorkerFailed(msg.runId(), workerId, reply));
    return this;
  }

  /** The data a spec names, for messages: its paths only. */
  private static String describe(DataSpec d) {
    if (d.data() == null) {
      return "(the default data)";
    }
    return d.data() + (d.testData() == null ? "" : " with test data " + d.testData());
  }

  private Behavior<Command> onDataChunk(DataChunk chunk) {
    if (shipped == null || !shipped.fits(chunk)) {
      getContext().getLog().warn("Worker [{}] refuses a data chunk of run [{}] that does not fit", workerId,
          chunk.runId());
      return this;
    }
    if (!shipped.offer(chunk)) {
      return this;
    }
    StartRun r = shipped.run();
    Dataset data = shipped.dataset();
    boolean intact = shipped.intact(data);
    shipped = null;
    if (!intact) {
      r.coordinator().tell(new WorkerFailed(r.runId(), workerId, "the shipped data arrived damaged on worker "
          + workerId + " (fingerprint " + data.fingerprint() + ", sent " + r.shippedFingerprint() + ")"));
      return this;
    }
    // Shipped data is normalised already.
    return join(r, data);
  }

  /** The data is here and checked: the worker becomes a member of the run. */
  private Behavior<Command> join(StartRun msg, Dataset data) {
    joinTimer.cancel();
    // The run watches its coordinator from here on, with a message of its own.
    getContext().unwatch(registeredWith);
    return RunMember.join(getContext(), setup, registeredWith, ignoredCoordinators, peerServer, msg, data);
  }

  private Behavior<Command> onStopRun(StopRun msg) {
    if (!msg.workerId().equals(workerId)) {
      return this;
    }
    getContext().getLog().info("Worker [{}] stops: run [{}] {}", workerId, msg.runId(), msg.reason());
    setup.notReady("run over");
    setup.onStop().accept(Outcome.RUN_OVER);
    return Behaviors.stopped();
  }

  /**
   * The coordinator this worker registered with is gone before its run started here (killed while
   * it shipped the data or before it sent the run): the node starts afresh and registers with
   * whichever coordinator comes back, as a member of a run does, instead of ignoring that one until
   * its join timeout.
   */
  private Behavior<Command> onRegisteredCoordinatorLost(RegisteredCoordinatorLost msg) {
    if (!msg.coordinator().equals(registeredWith)) {
      return this;
    }
    getContext().getLog().warn("Worker [{}] lost coordinator [{}] before its run started; rejoining", workerId,
        registeredWith.path());
    setup.notReady("coordinator lost");
    setup.onStop().accept(Outcome.COORDINATOR_LOST);
    return Behaviors.stopped();
  }

  private Behavior<Command> onJoinExpired(JoinExpired msg) {
    getContext().getLog().error("Worker [{}]: no coordinator started a run on it within {}; giving up", workerId,
        joinTimeout);
    setup.notReady("no coordinator");
    setup.onStop().accept(Outcome.NO_COORDINATOR);
    return Behaviors.stopped();
  }
}
