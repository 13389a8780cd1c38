package io.syncgrad.worker;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.PostStop;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.BehaviorBuilder;
import akka.actor.typed.javadsl.Behaviors;
import io.syncgrad.common.checkpoint.StateParts;
import io.syncgrad.common.data.Dataset;
import io.syncgrad.common.error.UserException;
import io.syncgrad.common.metrics.Telemetry;
import io.syncgrad.common.metrics.WorkerMetrics;
import io.syncgrad.common.protocol.CoordinatorProtocol.StepReport;
import io.syncgrad.common.protocol.CoordinatorProtocol.WorkerFailed;
import io.syncgrad.common.protocol.CoordinatorProtocol.WorkerReady;
import io.syncgrad.common.protocol.CoordinatorProtocol;
import io.syncgrad.common.protocol.WorkerProtocol.Command;
import io.syncgrad.common.protocol.WorkerProtocol.Credit;
import io.syncgrad.common.protocol.WorkerProtocol.DataChunk;
import io.syncgrad.common.protocol.WorkerProtocol.Go;
import io.syncgrad.common.protocol.WorkerProtocol.Internal;
import io.syncgrad.common.protocol.WorkerProtocol.Member;
import io.syncgrad.common.protocol.WorkerProtocol.Prepare;
import io.syncgrad.common.protocol.WorkerProtocol.StartRun;
import io.syncgrad.common.protocol.WorkerProtocol.StopRun;
import io.syncgrad.common.run.TrainingState;
import io.syncgrad.common.train.ShardComputer;
import io.syncgrad.common.train.StepAggregator;
import io.syncgrad.common.train.StepUpdate;
import io.syncgrad.common.transport.LinkFrames;
import io.syncgrad.common.transport.LinkProof;
import io.syncgrad.common.transport.TensorLink;
import io.syncgrad.common.transport.TensorLinkServer;
import io.syncgrad.common.transport.Traffic;
import io.syncgrad.proto.LinkFrameProto;
import io.syncgrad.proto.LinkHelloProto;
import io.syncgrad.proto.StateProto;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A worker in a run: from the moment its data is loaded until the run is over or its
 * coordinator is lost. One behaviour per phase: {@link #awaitingState} (its links open, until the
 * coordinator's state has arrived whole and checked), {@link #betweenGenerations} (ready, answering
 * {@link Prepare}, until a {@link Go} names it; also after a step it could not apply) and
 * {@link #stepping}.
 *
 * <p>Each step it computes the shards of its block with {@link ShardComputer} (the one-node
 * trainer's code), adds them up along the reduction tree, sends each chunk of those sums to the
 * chunk's owner, reduces its own chunk from everyone's, sends that to everyone, and applies the
 * whole reduced sum with {@link StepUpdate}: every member ends the step with the same weights.
 * The coordinator is told of the steps afterwards, a few at a time ({@link StepReporting}), and is
 * never waited for, except that a worker runs at most a window of steps ahead of what the
 * coordinator has recorded and never past a step something is named for ({@link Credit}), so that
 * evaluations, checkpoints and faults land on the step they name.
 *
 * <p>A {@link Prepare} stops the steps at once, whatever is under way, for a new generation
 * (members lost, late, or joining); the {@link Go} that follows says who is in it and from which
 * step it goes on. Computing blocks this actor; it runs on a dispatcher of its own so that the
 * node's heartbeats do not wait.
 */
final class RunMember {

  private record CoordinatorLost(String runId) implements Internal {}

  /** A frame on the link to the coordinator: the state to start from. */
  private record CoordinatorFrame(LinkFrameProto frame) implements Internal {}

  /** A frame from an authenticated peer. */
  private record PeerFrame(String peer, LinkFrameProto frame) implements Internal {}

  /** The link to the coordinator closed: this worker's current one unless it closed or replaced it. */
  private record CoordinatorLinkClosed(TensorLink link, String reason) implements Internal {}

  /** Time to open the link to the coordinator again; {@code attempt} counts from 1. */
  private record ReopenCoordinatorLink(int attempt) implements Internal {}

  /** A peer link closed. */
  private record PeerClosed() implements Internal {}

  /** Every chunk of {@code step} is in, the last one this worker's own, reduced on a reader thread. */
  private record Gathered(long generation, long step) implements Internal {}

  /** Go on with the next step, if the credit allows: a message so that others come in between. */
  private record NextStep(long generation) implements Internal {}

  private final ActorContext<Command> ctx;
  private final WorkerSetup setup;
  private final String workerId;
  private final WorkerMetrics.Of metrics;
  private final Telemetry telemetry;
  private final Traffic traffic;
  /** The one coordinator this worker registered with, and others it heard of and ignores. */
  private final ActorRef<CoordinatorProtocol.Command> registeredWith;
  private final Set<ActorRef<CoordinatorProtocol.Command>> ignoredCoordinators;
  private final StartRun run;
  private final String runId;
  private final ActorRef<CoordinatorProtocol.Command> coordinator;
  private final ShardComputer computer;
  /** Which step reports go to the coordinator, and when; kept reports for a new generation. */
  private final StepReporting reporting;
  /** The state from the coordinator, arriving in parts. */
  private final StateParts.Assembly fromCoordinator;
  /** States from peers, arriving in parts. */
  private final Map<String, StateParts.Assembly> fromPeers = new HashMap<>();
  /** The server peers open their links to: opened before registering, closed with the run. */
  private final TensorLinkServer peerServer;
  /** The weights and optimiser state, after {@code state.step()} steps; null until the coordinator's arrives. */
  private TrainingState state;
  /** The update of a step gathered from several members; made at the first such step. */
  private StepUpdate update;
  /** The one-node step, for a generation of this worker alone; made at the first such step. */
  private StepAggregator alone;
  /** The link to the coordinator: the state to start from, and snapshots for checkpoints. */
  private TensorLink link;
  /** Why the link to the coordinator last closed under this worker, for the log. */
  private String lostLinkReason = "";
  /** How long a closed link to the coordinator waits before it is opened again. */
  private static final java.time.Duration REOPEN_FIRST_WAIT = java.time.Duration.ofMillis(500);
  private PeerLinks peers;
  /** The generation this worker steps in; null between generations. */
  private StepExchange exchange;
  /** The generation being formed: this worker answered its Prepare. */
  private long preparing;
  /** The member whose state a member that is behind takes in this generation, and its step. */
  private String stateSource = "";
  private long startStep;
  private long credit;
  private long snapshotStep;
  private boolean waitingForState;
  /** Whether this worker computed its shards of the step under way. */
  private boolean computed;
  private boolean reducedSent;
  /** The last step whose clearance this worker, as an auditor, sent. */
  private long clearedSent = -1;
  private long stepStarted;
  /** When the last step was applied (or the generation went), for the wall-clock period of a step. */
  private long lastApplied;
  /** Since when the worker waits at a snapshot step for the coordinator's credit; 0 when it does not. */
  private long heldSince;
  /** Time held at snapshot steps since the last step: the coordinator's checkpoints and evaluations. */
  private long heldNanos;
  private long computeNanos;
  private double[] ownLosses;
  /** The faults the generation's Go scripts for this worker. */
  private ScriptedFaults faults = new ScriptedFaults();
  private long duplicatesRejected;
  private long staleRejected;
  /** Frames of a generation whose Go has not come yet. */
  private final List<PeerFrame> early = new ArrayList<>();
  /** A few steps' frames from every peer: more is not a peer that is merely ahead. */
  private static final int MAX_EARLY_FRAMES = 256;
  /**
   * Held by whoever touches the step under way: this actor, and a peer link's reader thread that
   * takes a partial sum at once (see {@link #takePartial}).
   */
  private final ReentrantLock stepLock = new ReentrantLock();
  /** This actor, for the reader threads (which may not touch the actor's context). */
  private final ActorRef<Command> selfRef;

  /**
   * The run's data is loaded and checked: the worker joins the run. It watches the coordinator,
   * opens its links and waits for the state to start from, which the coordinator sends on its
   * link once the link is open. When a link cannot open, the coordinator hears why
   * ({@link WorkerFailed}) and the member waits for the run's end.
   *
   * @param registeredWith      the coordinator this worker registered with, which sent {@code msg}
   * @param ignoredCoordinators other coordinators it heard of, which it keeps ignoring
   * @param peerServer          the server its peers open their links to
   */
  static Behavior<Command> join(ActorContext<Command> ctx, WorkerSetup setup,
      ActorRef<CoordinatorProtocol.Command> registeredWith, Set<ActorRef<CoordinatorProtocol.Command>> ignoredCoordinators,
      TensorLinkServer peerServer, StartRun msg, Dataset data) {
    RunMember member = new RunMember(ctx, setup, registeredWith, ignoredCoordinators, peerServer, msg, data);
    member.openLinks(data.size());
    return member.awaitingState();
  }

  private RunMember(ActorContext<Command> ctx, WorkerSetup setup, ActorRef<CoordinatorProtocol.Command> registeredWith,
      Set<ActorRef<CoordinatorProtocol.Command>> ignoredCoordinators, TensorLinkServer peerServer, StartRun msg,
      Dataset data) {
    this.ctx = ctx;
    this.setup = setup;
    this.workerId = setup.workerId();
    this.metrics = setup.metrics();
    this.telemetry = setup.telemetry();
    this.traffic = setup.traffic();
    this.registeredWith = registeredWith;
    this.ignoredCoordinators = ignoredCoordinators;
    this.peerServer = peerServer;
    this.selfRef = ctx.getSelf();
    this.run = msg;
    this.runId = msg.runId();
    this.coordinator = msg.coordinator();
    this.reporting = new StepReporting(msg.window(), System.nanoTime());
    this.fromCoordinator = new StateParts.Assembly(msg.model());
    this.computer = new ShardComputer(msg.model(), msg.config(), data, setup.kernel());
    // From here on the coordinator is watched: its loss ends the wait, not a timer.
    ctx.watchWith(msg.coordinator(), new CoordinatorLost(msg.runId()));
  }

  private void openLinks(int samples) {
    ActorRef<Command> self = selfRef;
    try {
      peers = PeerLinks.adopt(workerId, runId, setup.linkSettings(), peerServer, traffic, run.faults(),
          StepExchange.maxFrameBytes(run.model(), run.config().shards()), (peer, frame) -> {
        boolean taken = frame.hasPartial() ? takePartial(peer, frame.getPartial())
            : frame.hasReduced() && takeReduced(peer, frame.getReduced());
        if (!taken) {
          self.tell(new PeerFrame(peer, frame));
        }
      }, () -> self.tell(new PeerClosed()));
      link = connectCoordinator();
    } catch (IOException | RuntimeException e) {
      String reason = "worker " + workerId + " cannot open its link to the coordinator at " + run.tensorLink() + ": "
          + e.getMessage();
      ctx.getLog().error(reason);
      coordinator.tell(new WorkerFailed(runId, workerId, reason));
      return;
    }
    ctx.getLog().info("Worker [{}] loaded run [{}]: {} samples; waiting for its state", workerId, runId,
        samples);
  }

  /** Opens the link to the coordinator and starts reading it. */
  private TensorLink connectCoordinator() throws IOException {
    byte[] key = java.util.HexFormat.of().parseHex(run.linkToken());
    TensorLink opened = TensorLink.connect(run.tensorLink(), setup.linkSettings(), challenge -> LinkProof.hello(key,
        challenge, LinkHelloProto.newBuilder().setRunId(runId).setWorkerId(workerId)));
    opened.countInto(traffic);
    opened.limitFrames(StateParts.maxFrameBytes(run.model()));
    ActorRef<Command> self = selfRef;
    opened.start(frame -> self.tell(new CoordinatorFrame(frame)),
        reason -> self.tell(new CoordinatorLinkClosed(opened, reason)));
    return opened;
  }

  /**
   * The link to the coordinator closed under this worker (a reset connection, a firewall's idle
   * timeout, a reader that failed): opened again. Without it the states it carries at snapshot
   * steps would never reach the coordinator, and every generation would miss its deadline alike.
   * The coordinator's own loss is seen by the cluster ({@link CoordinatorLost}), not here.
   */
  private Behavior<Command> onCoordinatorLinkClosed(CoordinatorLinkClosed msg) {
    if (msg.link() != link) {
      return Behaviors.same();
    }
    link = null;
    lostLinkReason = msg.reason();
    // Not at once: at a run's end the coordinator closes its links as it sends the StopRun, and
    // that usually comes within milliseconds; a worker stopped by then has nothing to reopen.
    ctx.getLog().debug("Worker [{}]: the link to the coordinator closed ({})", workerId, msg.reason());
    ctx.scheduleOnce(REOPEN_FIRST_WAIT, ctx.getSelf(), new ReopenCoordinatorLink(1));
    return Behaviors.same();
  }

  private Behavior<Command> onReopenCoordinatorLink(ReopenCoordinatorLink msg) {
    if (link != null || peers == null) {
      return Behaviors.same();
    }
    try {
      link = connectCoordinator();
      ctx.getLog().warn("Worker [{}] opened its link to the coordinator again after it closed ({})", workerId,
          lostLinkReason);
    } catch (IOException | RuntimeException e) {
      // Each attempt is bounded by the connect timeout; the run's own deadlines bound the rest.
      java.time.Duration wait = java.time.Duration.ofMillis(Math.min(30_000L, 500L << Math.min(6, msg.attempt())));
      ctx.getLog().warn("Worker [{}] cannot open its link to the coordinator again ({}); trying in {} ms", workerId,
          e.getMessage(), wait.toMillis());
      ctx.scheduleOnce(wait, ctx.getSelf(), new ReopenCoordinatorLink(msg.attempt() + 1));
    }
    return Behaviors.same();
  }

  /** Sends {@code frames} to the coordinator; dropped while its link is opened again (a new generation asks again). */
  private void sendToCoordinator(List<LinkFrameProto> frames) {
    if (link != null) {
      frames.forEach(link::send);
    }
  }

  /** What every phase of the run handles the same way. */
  private BehaviorBuilder<Command> common() {
    return Behaviors.receive(Command.class)
        .onMessage(Worker.CoordinatorsListed.class, this::onCoordinatorsListed)
        .onMessage(StartRun.class, this::onStartRun)
        .onMessage(DataChunk.class, this::onDataChunk)
        .onMessage(Worker.PeerHello.class, m -> {
          if (peers != null) {
            peers.hello(m.hello(), m.link());
          } else {
            m.link().close();
          }
          return Behaviors.same();
        })
        .onMessage(CoordinatorLinkClosed.class, this::onCoordinatorLinkClosed)
        .onMessage(ReopenCoordinatorLink.class, this::onReopenCoordinatorLink)
        .onMessage(PeerClosed.class, m -> {
          if (peers != null) {
            peers.forgetClosed();
          }
          return Behaviors.same();
        })
        .onMessage(StopRun.class, this::onStopRun)
        .onMessage(CoordinatorLost.class, this::onCoordinatorLost)
        .onMessage(Worker.JoinExpired.class, m -> Behaviors.same())
        .onSignal(PostStop.class, signal -> {
          closeLinks();
          return Behaviors.same();
        });
  }

  // ---- awaiting the state: the coordinator sends the state to start from on its link ----

  private Behavior<Command> awaitingState() {
    return common()
        .onMessage(CoordinatorFrame.class, m -> locked(() -> onCoordinatorFrame(m)))
        .build();
  }

  // ---- between generations: ready, answering Prepare, until a Go names this worker ----

  private Behavior<Command> betweenGenerations() {
    return common()
        .onMessage(Prepare.class, m -> locked(() -> onPrepare(m)))
        .onMessage(Go.class, m -> locked(() -> onGo(m)))
        // Frames of the generation to come, from peers whose Go came first.
        .onMessage(PeerFrame.class, m -> locked(() -> onPeerFrame(m)))
        // Left over from the generation that ended: nothing to do until the next Go.
        .onMessage(NextStep.class, m -> Behaviors.same())
        .onMessage(Credit.class, m -> Behaviors.same())
        .onMessage(Gathered.class, m -> Behaviors.same())
        .build();
  }

  // ---- stepping: credited steps with the generation's members, until a Prepare or a diverged step ----

  private Behavior<Command> stepping() {
    return common()
        .onMessage(Prepare.class, m -> locked(() -> onPrepare(m)))
        .onMessage(Go.class, m -> locked(() -> onGo(m)))
        .onMessage(Credit.class, this::onCredit)
        .onMessage(NextStep.class, this::onNextStep)
        .onMessage(PeerFrame.class, m -> locked(() -> onPeerFrame(m)))
        .onMessage(Gathered.class, m -> locked(() -> exchange != null && m.generation() == exchange.generation
            && m.step() == state.step() ? progressed(m.step()) : Behaviors.<Command>same()))
        .build();
  }

  /** A coordinator other than the one this worker registered with gets nothing from it, as before its run. */
  private Behavior<Command> onCoordinatorsListed(Worker.CoordinatorsListed msg) {
    for (ActorRef<CoordinatorProtocol.Command> c : msg.listing().getServiceInstances(CoordinatorProtocol.SERVICE_KEY)) {
      if (!registeredWith.equals(c) && ignoredCoordinators.add(c)) {
        ctx.getLog().warn("Worker [{}] is registered with coordinator [{}]; ignores coordinator [{}]",
            workerId, registeredWith.path(), c.path());
      }
    }
    return Behaviors.same();
  }

  private Behavior<Command> onStartRun(StartRun msg) {
    ctx.getLog().warn("Worker [{}] is in run [{}]; ignores a start of run [{}]", workerId, runId,
        msg.runId());
    return Behaviors.same();
  }

  private Behavior<Command> onDataChunk(DataChunk chunk) {
    ctx.getLog().warn("Worker [{}] refuses a data chunk of run [{}] that does not fit", workerId,
        chunk.runId());
    return Behaviors.same();
  }

  /** The state to start from, on the link to the coordinator. */
  private Behavior<Command> onCoordinatorFrame(CoordinatorFrame msg) {
    if (!msg.frame().hasState()) {
      return Behaviors.same();
    }
    String problem = adoptState(msg.frame().getState(), fromCoordinator);
    if ("".equals(problem)) {
      return Behaviors.same();
    }
    if (problem != null) {
      ctx.getLog().error("Worker [{}] refuses the coordinator's state: {}", workerId, problem);
      coordinator.tell(new WorkerFailed(runId, workerId, "the state sent to worker " + workerId + " " + problem));
      return Behaviors.same();
    }
    ctx.getLog().info("Worker [{}] ready for run [{}] at step [{}]", workerId, runId, state.step());
    coordinator.tell(new WorkerReady(runId, workerId, state.step()));
    metrics.ready(true);
    telemetry.ready(Telemetry.Role.WORKER, true, "prepared for run " + runId);
    return betweenGenerations();
  }

  /**
   * Takes a part of a whole state (weights, optimiser, step), and the state once every part is
   * in, checked against the run.
   *
   * @return null when the state was taken, "" while parts are missing, else what is wrong
   */
  private String adoptState(StateProto p, StateParts.Assembly parts) {
    if (!p.getRunId().equals(runId)) {
      return "is of run " + p.getRunId();
    }
    TrainingState s;
    try {
      s = parts.offer(p);
    } catch (IllegalArgumentException e) {
      return "is malformed: " + e.getMessage();
    }
    if (s == null) {
      return "";
    }
    if (!s.model().equals(run.model()) || !s.config().equals(run.config())) {
      return "is of another model or configuration";
    }
    state = s;
    update = null;
    alone = null;
    return null;
  }

  private Behavior<Command> onPrepare(Prepare msg) {
    if (!msg.runId().equals(runId) || !msg.workerId().equals(workerId) || msg.generation() <= preparing) {
      return Behaviors.same();
    }
    // Whatever is under way is dropped: the new generation starts from a whole step.
    exchange = null;
    computed = false;
    reducedSent = false;
    waitingForState = false;
    preparing = msg.generation();
    // Frames kept for a generation that never got its Go here: no use in the next one.
    early.clear();
    // The member that would have reported the last steps may be gone: this one's go again.
    flushReports();
    List<StepReport> again = reporting.keptAfter(msg.recordedStep());
    if (!again.isEmpty()) {
      coordinator.tell(new CoordinatorProtocol.StepReports(again));
    }
    coordinator.tell(new CoordinatorProtocol.Prepared(runId, msg.generation(), workerId, state.step()));
    return betweenGenerations();
  }

  private Behavior<Command> onGo(Go msg) {
    if (!msg.runId().equals(runId) || !msg.workerId().equals(workerId) || msg.generation() != preparing) {
      return Behaviors.same();
    }
    String problem = GoCheck.problem(msg, state.config().shards());
    if (problem != null) {
      ctx.getLog().warn("Worker [{}] refuses the Go of generation [{}]: {}", workerId, msg.generation(),
          problem);
      return Behaviors.same();
    }
    Map<String, byte[]> keys = new HashMap<>();
    Map<String, String> endpoints = new HashMap<>();
    boolean member = false;
    for (Member m : msg.members()) {
      if (m.workerId().equals(workerId)) {
        member = true;
      } else {
        keys.put(m.workerId(), m.pairKey());
        endpoints.put(m.workerId(), m.endpoint());
      }
    }
    if (!member) {
      return Behaviors.same();
    }
    exchange = new StepExchange(runId, workerId, msg.generation(), msg.members(), state.params(),
        state.config().shards(), run.auditFraction(), state.config().seed());
    metrics.generation(msg.generation());
    credit = msg.creditStep();
    snapshotStep = msg.snapshotStep();
    faults = ScriptedFaults.of(msg, workerId);
    peers.members(keys, endpoints);
    // The block's scratch space and its bit-for-bit checks are the generation's setup, as in the
    // one-node trainer, not its first step's time.
    computer.planBlock(exchange.me().firstShard(), exchange.me().endShard());
    computed = false;
    clearedSent = -1;
    lastApplied = System.nanoTime();
    heldSince = 0;
    heldNanos = 0;
    waitingForState = state.step() < msg.startStep();
    stateSource = msg.stateSource();
    startStep = msg.startStep();
    fromPeers.clear();
    if (state.step() > msg.startStep()) {
      ctx.getLog().warn("Worker [{}] is at step [{}], past the generation's start [{}]", workerId,
          state.step(), msg.startStep());
    }
    if (msg.stateSource().equals(workerId)) {
      List<LinkFrameProto> frames = stateFrames();
      for (Member m : msg.members()) {
        if (m.appliedStep() < msg.startStep() && !m.workerId().equals(workerId)) {
          for (int i = 0; i < frames.size(); i++) {
            peers.send(m.workerId(), frames.get(i), 2, msg.generation(), state.step(), route(workerId, m.workerId()),
                i, "state of step " + state.step() + " part " + i + " to " + m.workerId());
          }
        }
      }
      if (msg.resendSnapshot()) {
        sendToCoordinator(frames);
      }
    }
    ctx.getLog().info("Worker [{}] in generation [{}] with {} members, shards [{}, {}), from step [{}]",
        workerId, msg.generation(), msg.members().size(), exchange.me().firstShard(), exchange.me().endShard(),
        msg.startStep());
    ctx.getSelf().tell(new NextStep(msg.generation()));
    // Frames peers sent in this generation before its Go came here, after the first step starts.
    replayEarlyFrames();
    return stepping();
  }

  /** Hands the frames kept for later to this actor again, after what it has been told already. */
  private void replayEarlyFrames() {
    List<PeerFrame> replay = new ArrayList<>(early);
    early.clear();
    replay.forEach(ctx.getSelf()::tell);
  }

  /** This worker's whole state, in parts. */
  private List<LinkFrameProto> stateFrames() {
    return LinkFrames.ofStates(StateParts.split(runId, exchange == null ? 0 : exchange.generation, workerId, state));
  }

  private static long route(String from, String to) {
    return ((long) from.hashCode() << 32) ^ to.hashCode();
  }

  private Behavior<Command> onCredit(Credit msg) {
    if (exchange != null && msg.runId().equals(runId) && msg.workerId().equals(workerId)
        && msg.generation() == exchange.generation
        && msg.throughStep() > credit) {
      credit = msg.throughStep();
      snapshotStep = msg.snapshotStep();
      ctx.getSelf().tell(new NextStep(msg.generation()));
    }
    return Behaviors.same();
  }

  /** Starts the next step when nothing holds it: in a generation, credited, not under way. */
  private Behavior<Command> onNextStep(NextStep msg) {
    if (exchange == null || msg.generation() != exchange.generation || waitingForState || computed
        || state.step() >= run.totalSteps()) {
      return Behaviors.same();
    }
    if (state.step() + 1 > credit) {
      if (state.step() == snapshotStep && heldSince == 0) {
        heldSince = System.nanoTime();
      }
      return Behaviors.same();
    }
    long step = state.step();
    stepStarted = System.nanoTime();
    if (heldSince != 0) {
      heldNanos += stepStarted - heldSince;
      heldSince = 0;
    }
    computer.prepare(step);
    var me = exchange.me();
    if (ownLosses == null || ownLosses.length != me.endShard() - me.firstShard()) {
      ownLosses = new double[me.endShard() - me.firstShard()];
    }
    computer.computeBlock(state.params(), step, me.firstShard(), me.endShard());
    for (int s = me.firstShard(); s < me.endShard(); s++) {
      ownLosses[s - me.firstShard()] = computer.lossSum(s);
    }
    int audited = exchange.audit.auditsAt(step);
    if (audited >= 0) {
      // This worker audits the previous member's block: it computes those shards too.
      Member p = exchange.members.get(audited);
      double[] losses = new double[p.endShard() - p.firstShard()];
      computer.computeBlock(state.params(), step, p.firstShard(), p.endShard());
      for (int s = p.firstShard(); s < p.endShard(); s++) {
        losses[s - p.firstShard()] = computer.lossSum(s);
      }
      // Under the step's lock: the reader threads note the audited member's partial sums in the same state.
      stepLock.lock();
      try {
        exchange.audit.recompute(step, computer, losses);
      } finally {
        stepLock.unlock();
      }
    }
    computeNanos = System.nanoTime() - stepStarted;
    if (exchange.alone()) {
      computed = true;
      reducedSent = false;
      return applyAlone(step);
    }
    return locked(() -> exchangeOwn(step));
  }

  /** This worker's shards are computed: hand their sums to the chunks' owners, and take its own. */
  private Behavior<Command> exchangeOwn(long step) {
    if (exchange == null || state.step() != step) {
      return Behaviors.same();
    }
    computed = true;
    reducedSent = false;
    exchange.sumOwn(computer);
    Boolean finite = faults.takeCorruption(step);
    if (finite != null) {
      ctx.getLog().warn("Fault injected: worker [{}] sends {} partial sums for step [{}]", workerId,
          finite ? "wrong" : "NaN", step);
      exchange.corruptOwn(finite);
    }
    for (int c = 0; c < exchange.members.size(); c++) {
      if (c != exchange.rank) {
        String to = exchange.members.get(c).workerId();
        LinkFrameProto partial = exchange.partialFor(c, step, ownLosses);
        peers.send(to, partial, 0, exchange.generation, step, route(workerId, to), c,
            "partial sum of step " + step + " chunk " + c + " to " + to);
        int auditor = exchange.audit.copyTo(step, c);
        if (auditor >= 0 && auditor != exchange.rank) {
          // Chunk c's owner is audited: its auditor reduces the chunk again.
          String copyTo = exchange.members.get(auditor).workerId();
          peers.send(copyTo, partial, 0, exchange.generation, step, route(workerId, copyTo), c,
              "partial sum of step " + step + " chunk " + c + " to its auditor " + copyTo);
        }
      }
    }
    int audited = exchange.audit.auditsAt(step);
    if (audited >= 0) {
      exchange.audit.offerOwnCopy(step, exchange.ownChunk(audited), ownLosses);
    }
    exchange.offerOwn(step, ownLosses);
    return progressed(step);
  }

  /** The generation is this worker alone: the one-node trainer's step, nothing to exchange. */
  private Behavior<Command> applyAlone(long step) {
    double loss = 0;
    for (double l : ownLosses) {
      loss += l;
    }
    try {
      if (alone == null) {
        // Only a generation of one member needs it: made once, at its first step.
        alone = new StepAggregator(state.config(), state.params());
      }
      alone.apply(step, computer, state.params(), state.optimizer());
    } catch (UserException e) {
      return diverged(step, e.getMessage(), workerId);
    }
    return applied(step, loss, alone.gradientNorm());
  }

  /** Runs {@code body} holding the step's lock. */
  private Behavior<Command> locked(java.util.function.Supplier<Behavior<Command>> body) {
    stepLock.lock();
    try {
      return body.get();
    } finally {
      stepLock.unlock();
    }
  }

  /**
   * A partial sum taken on the reader thread of its peer link, without waiting for this actor:
   * when it completes this worker's chunk, the chunk is reduced and sent at once, saving a
   * hand-over to the actor's thread, which on a busy machine waits for a core. Anything but a
   * partial sum of the step under way in this generation goes through the actor.
   *
   * @return whether the frame was dealt with here
   */
  private boolean takePartial(String peer, io.syncgrad.proto.PartialSumProto p) {
    stepLock.lock();
    try {
      StepExchange ex = exchange;
      if (ex == null || state == null || waitingForState || p.getGeneration() != ex.generation
          || !p.getFromWorker().equals(peer) || p.getChunk() != ex.rank) {
        return false;
      }
      StepExchange.Outcome outcome = ex.offerPartial(p, state.step());
      switch (outcome) {
        case TAKEN:
          sendDigest(ex, p);
          sendReducedIfReady(state.step());
          if ((reducedSent && ex.complete(state.step()))
              || (computed && ex.reducible(state.step()) && ex.nonFinitePartial(state.step()) != null)) {
            // The other chunks came first, or a partial sum is not finite: the actor takes it on.
            selfRef.tell(new Gathered(ex.generation, state.step()));
          }
          return true;
        default:
          return counted(outcome);
      }
    } finally {
      stepLock.unlock();
    }
  }

  /**
   * A reduced chunk taken on the reader thread of its peer link, as partial sums are: the actor
   * hears of it only when it completes the step, one hand-over a step instead of one a chunk.
   *
   * @return whether the frame was dealt with here
   */
  private boolean takeReduced(String peer, io.syncgrad.proto.ReducedChunkProto r) {
    stepLock.lock();
    try {
      StepExchange ex = exchange;
      if (ex == null || state == null || waitingForState || r.getGeneration() != ex.generation
          || !r.getFromWorker().equals(peer)) {
        return false;
      }
      StepExchange.Outcome outcome = ex.offerReduced(r, state.step());
      switch (outcome) {
        case TAKEN:
          if (ex.complete(state.step())) {
            selfRef.tell(new Gathered(ex.generation, state.step()));
          }
          return true;
        default:
          return counted(outcome);
      }
    } finally {
      stepLock.unlock();
    }
  }

  /** Counts a duplicate or stale frame, which is then dealt with; anything else is the actor's. */
  private boolean counted(StepExchange.Outcome outcome) {
    if (outcome == StepExchange.Outcome.DUPLICATE) {
      duplicatesRejected++;
      return true;
    }
    if (outcome == StepExchange.Outcome.STALE) {
      staleRejected++;
      return true;
    }
    return false;
  }

  /** Tells the auditor of {@code p}'s sender, when its block is audited, the digest of what arrived here. */
  private void sendDigest(StepExchange ex, io.syncgrad.proto.PartialSumProto p) {
    int member = ex.rankOf(p.getFromWorker());
    io.syncgrad.proto.AuditProto d = member < 0 ? null : ex.audit.digestFor(member, p);
    if (d != null) {
      String to = ex.members.get(ex.audit.auditorOf(member)).workerId();
      peers.send(to, LinkFrames.of(d), 3, ex.generation, p.getStep(),
          route(workerId, to), member, "digest of " + p.getFromWorker() + "'s partial sum of step " + p.getStep()
          + " to its auditor " + to);
    }
  }

  /** Reduces this worker's chunk and sends it to every member, once its own shards and every partial sum are in. */
  private void sendReducedIfReady(long step) {
    if (!computed || reducedSent || !exchange.reducible(step) || exchange.nonFinitePartial(step) != null) {
      return;
    }
    reducedSent = true;
    LinkFrameProto frame = exchange.reducedFrame(step);
    for (int c = 0; c < exchange.members.size(); c++) {
      if (c != exchange.rank) {
        String to = exchange.members.get(c).workerId();
        peers.send(to, frame, 1, exchange.generation, step, route(workerId, to), exchange.rank,
            "reduced chunk " + exchange.rank + " of step " + step + " to " + to);
      }
    }
  }

  /** Moves the step on as far as what is in allows: reduce this worker's chunk, apply the step. */
  private Behavior<Command> progressed(long step) {
    if (!computed) {
      return Behaviors.same();
    }
    String partialFrom = exchange.reducible(step) ? exchange.nonFinitePartial(step) : null;
    if (partialFrom != null) {
      return diverged(step, "training diverged at step " + step + ": the partial sum of " + partialFrom + " for chunk "
          + exchange.rank + " is not finite; lower --lr or set --clip-norm; the last checkpoint is kept", partialFrom);
    }
    sendReducedIfReady(step);
    if (!exchange.complete(step)) {
      return Behaviors.same();
    }
    String reducedFrom = exchange.nonFiniteReduced();
    if (reducedFrom != null) {
      return diverged(step, "training diverged at step " + step + ": the reduced chunk of " + reducedFrom
          + " is not finite; lower --lr or set --clip-norm; the last checkpoint is kept", reducedFrom);
    }
    double[] losses = exchange.shardLosses(step);
    double loss = 0;
    for (int s = 0; s < losses.length; s++) {
      loss += losses[s];
      if (!Double.isFinite(losses[s])) {
        return diverged(step, "training diverged at step " + step + ": shard " + s + " has loss " + losses[s]
            + "; lower --lr or set --clip-norm; the last checkpoint is kept", exchange.ownerOfShard(s));
      }
    }
    int audited = exchange.audit.auditsAt(step);
    if (audited >= 0) {
      String verdict = exchange.audit.verdict(step, exchange.gathered());
      if (verdict == null) {
        return Behaviors.same();
      }
      if (!verdict.isEmpty()) {
        return diverged(step, "the audit of step " + step + " found that " + verdict,
            exchange.members.get(audited).workerId());
      }
      if (clearedSent != step) {
        clearedSent = step;
        LinkFrameProto cleared = LinkFrames.of(exchange.audit.clearance(step));
        for (int c = 0; c < exchange.members.size(); c++) {
          if (c != exchange.rank) {
            String to = exchange.members.get(c).workerId();
            peers.send(to, cleared, 4, exchange.generation, step, route(workerId, to), audited,
                "clearance of " + exchange.audit.auditedWorker() + " at step " + step + " to " + to);
          }
        }
      }
    }
    if (!exchange.audit.cleared(step)) {
      return Behaviors.same();
    }
    if (update == null) {
      // Only a generation of several members needs it: made once, at its first step.
      update = new StepUpdate(state.config(), state.params());
    }
    if (!update.apply(step, exchange.gathered(), state.config().batchSize(), state.params(), state.optimizer())) {
      return diverged(step, io.syncgrad.common.train.DivergedException.overflowed(step).getMessage(), "");
    }
    return applied(step, loss, update.gradientNorm());
  }

  private Behavior<Command> applied(long step, double loss, double norm) {
    state = state.atStep(step + 1);
    computed = false;
    reducedSent = false;
    long applied = state.step();
    // The step's wall-clock period, less the time held for the coordinator's checkpoints and
    // evaluations, which the one-node trainer does not count either.
    long now = System.nanoTime();
    long period = now - lastApplied - heldNanos;
    lastApplied = now;
    heldNanos = 0;
    StepReport report = new StepReport(runId, exchange.generation, applied, workerId, loss,
        state.config().batchSize(), norm, computeNanos, period, traffic.sentBytes(), traffic.receivedBytes(),
        peers.injected(), duplicatesRejected, staleRejected, peers.retries(), List.of(), "", "");
    metrics.applied(applied, computeNanos, period, report.sentBytes(), report.receivedBytes());
    send(reporting.applied(report, exchange.rank == 0, snapshotStep, credit, run.totalSteps(), now));
    if (applied == snapshotStep && exchange.rank == 0) {
      sendToCoordinator(stateFrames());
    }
    Long cut = faults.takePartition(applied);
    if (cut != null) {
      ctx.getLog().warn("Fault injected: worker [{}] cut off from its peers for {} ms", workerId, cut);
      peers.partition(cut);
    }
    ctx.getSelf().tell(new NextStep(exchange.generation));
    return Behaviors.same();
  }

  /** Sends the reports not sent yet. */
  private void flushReports() {
    send(reporting.takePending());
  }

  /** Sends {@code reports}, the faults injected since the last ones with the newest. */
  private void send(List<StepReport> reports) {
    if (reports.isEmpty()) {
      return;
    }
    List<String> events = peers.takeEvents();
    if (!events.isEmpty()) {
      reports = new java.util.ArrayList<>(reports);
      StepReport r = reports.remove(reports.size() - 1);
      reports.add(new StepReport(r.runId(), r.generation(), r.step(), r.workerId(), r.lossSum(), r.samples(),
          r.gradientNorm(), r.computeNanos(), r.stepNanos(), r.sentBytes(), r.receivedBytes(), r.faultsInjected(),
          r.duplicatesRejected(), r.staleRejected(), r.retries(), events, r.diverged(), r.suspect()));
    }
    coordinator.tell(reports.size() == 1 ? reports.get(0) : new CoordinatorProtocol.StepReports(reports));
  }

  /**
   * The step is not applied: its sum is not finite. The coordinator hears why and from whose
   * result the non-finite values came ({@code suspect}; empty when every input was finite), so
   * that it can have that result computed again by another worker.
   */
  private Behavior<Command> diverged(long step, String why, String suspect) {
    // The coordinator decides whether the run diverged: here the step is only not applied.
    int advice = why.indexOf(';');
    ctx.getLog().warn("Worker [{}] does not apply step [{}]: {}", workerId, step,
        advice > 0 ? why.substring(0, advice) : why);
    flushReports();
    coordinator.tell(new StepReport(runId, exchange.generation, step + 1, workerId, Double.NaN, 0, Double.NaN,
        computeNanos, 0, traffic.sentBytes(), traffic.receivedBytes(), peers.injected(), duplicatesRejected,
        staleRejected, peers.retries(), peers.takeEvents(), why, suspect));
    exchange = null;
    computed = false;
    return betweenGenerations();
  }

  private Behavior<Command> onPeerFrame(PeerFrame msg) {
    LinkFrameProto f = msg.frame();
    long frameGeneration = LinkFrames.generationOf(f);
    if (state != null && frameGeneration > (exchange == null ? 0 : exchange.generation)
        && frameGeneration == preparing) {
      // A peer got the Go of a generation before this worker did: kept until this one's comes.
      // Only of the generation this worker answered the Prepare of: the coordinator sends no Go
      // before every member has answered, so a frame of a later one is not a peer ahead but a
      // frame nobody can use, and keeping it would crowd out those of this generation.
      if (early.size() < MAX_EARLY_FRAMES) {
        early.add(msg);
      }
      return Behaviors.same();
    }
    if (f.hasState()) {
      return onPeerState(msg.peer(), f.getState());
    }
    if (exchange == null || state == null) {
      return Behaviors.same();
    }
    if (waitingForState && frameGeneration == exchange.generation) {
      // The members that are not behind step from the generation's start at once; this one does
      // once the state is in. Their frames of those steps would be refused against this worker's
      // old step, and nobody sends them again: kept until then.
      if (early.size() < MAX_EARLY_FRAMES) {
        early.add(msg);
      }
      return Behaviors.same();
    }
    long current = state.step();
    StepExchange.Outcome outcome;
    String from;
    if (f.hasAudit() || (f.hasPartial() && f.getPartial().getChunk() != exchange.rank)) {
      return onAuditFrame(msg.peer(), f, current);
    }
    if (f.hasPartial()) {
      from = f.getPartial().getFromWorker();
      outcome = from.equals(msg.peer()) ? exchange.offerPartial(f.getPartial(), current) : StepExchange.Outcome.INVALID;
      if (outcome == StepExchange.Outcome.TAKEN) {
        sendDigest(exchange, f.getPartial());
      }
    } else if (f.hasReduced()) {
      from = f.getReduced().getFromWorker();
      outcome = from.equals(msg.peer()) ? exchange.offerReduced(f.getReduced(), current)
          : StepExchange.Outcome.INVALID;
    } else {
      return Behaviors.same();
    }
    ctx.getLog().debug("Worker [{}] step [{}]: {} from [{}] {}", workerId, current, f.getBodyCase(),
        msg.peer(), outcome);
    switch (outcome) {
      case TAKEN:
        return progressed(current);
      case DUPLICATE:
        duplicatesRejected++;
        return Behaviors.same();
      case STALE:
        staleRejected++;
        return Behaviors.same();
      default:
        ctx.getLog().warn("Worker [{}] refused a frame of peer [{}]: {}", workerId, msg.peer(),
            exchange.problem() == null ? "sent as another worker" : exchange.problem());
        return Behaviors.same();
    }
  }

  /** A frame of an audit: a copy of a partial sum for the chunk this worker reduces again, a digest, a clearance. */
  private Behavior<Command> onAuditFrame(String peer, LinkFrameProto f, long current) {
    String from = f.hasAudit() ? f.getAudit().getFromWorker() : f.getPartial().getFromWorker();
    long generation = f.hasAudit() ? f.getAudit().getGeneration() : f.getPartial().getGeneration();
    long step = f.hasAudit() ? f.getAudit().getStep() : f.getPartial().getStep();
    if (generation < exchange.generation || step < current) {
      staleRejected++;
      return Behaviors.same();
    }
    int member = exchange.rankOf(from);
    String problem = !from.equals(peer) || member < 0 || generation != exchange.generation ? "sent as another worker"
        : f.hasAudit() ? exchange.audit.offer(member, f.getAudit(), current)
        : exchange.audit.offerCopy(member, f.getPartial(), current);
    if (problem != null) {
      ctx.getLog().warn("Worker [{}] refused an audit frame of peer [{}]: {}", workerId, peer, problem);
      return Behaviors.same();
    }
    return progressed(current);
  }

  /** The state of the generation's start, from its state source, for a member that was behind. */
  private Behavior<Command> onPeerState(String peer, StateProto p) {
    // Only the Go's state source sends it, and only the generation's start step: another member's
    // state, valid as it may be, would put this worker at a step or on weights the others are not.
    if (exchange == null || !waitingForState || p.getGeneration() != exchange.generation
        || !p.getFromWorker().equals(peer) || !peer.equals(stateSource) || p.getStep() != startStep) {
      return Behaviors.same();
    }
    long before = state.step();
    String problem = adoptState(p, fromPeers.computeIfAbsent(peer, k -> new StateParts.Assembly(run.model())));
    if ("".equals(problem)) {
      return Behaviors.same();
    }
    if (problem != null) {
      ctx.getLog().warn("Worker [{}] refuses the state of peer [{}]: {}", workerId, peer, problem);
      return Behaviors.same();
    }
    waitingForState = false;
    ctx.getLog().info("Worker [{}] caught up from step [{}] to [{}] with the state of [{}]", workerId, before,
        state.step(), peer);
    ctx.getSelf().tell(new NextStep(exchange.generation));
    replayEarlyFrames();
    return Behaviors.same();
  }

  private void closeLinks() {
    if (link != null) {
      link.close();
      link = null;
    }
    if (peers != null) {
      peers.close();
      peers = null;
    } else if (peerServer != null) {
      peerServer.close();
    }
  }

  private Behavior<Command> onStopRun(StopRun msg) {
    if (!msg.workerId().equals(workerId) || !msg.runId().equals(runId)) {
      return Behaviors.same();
    }
    ctx.getLog().info("Worker [{}] stops: run [{}] {}", workerId, msg.runId(), msg.reason());
    setup.notReady("run over");
    setup.onStop().accept(Worker.Outcome.RUN_OVER);
    return Behaviors.stopped();
  }

  private Behavior<Command> onCoordinatorLost(CoordinatorLost msg) {
    if (!msg.runId().equals(runId)) {
      return Behaviors.same();
    }
    ctx.getLog().warn("Worker [{}] lost the coordinator of run [{}]; rejoining", workerId, runId);
    setup.notReady("coordinator lost");
    setup.onStop().accept(Worker.Outcome.COORDINATOR_LOST);
    return Behaviors.stopped();
  }
}