package io.syncgrad.coordinator;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.PostStop;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.BehaviorBuilder;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.TimerScheduler;
import akka.actor.typed.receptionist.Receptionist;
import io.syncgrad.common.checkpoint.StateParts;
import io.syncgrad.common.error.ClusterUnavailableException;
import io.syncgrad.common.error.UserException;
import io.syncgrad.common.metrics.ClusterMetrics;
import io.syncgrad.common.metrics.Telemetry;
import io.syncgrad.common.protocol.CoordinatorProtocol.Command;
import io.syncgrad.common.protocol.CoordinatorProtocol.Internal;
import io.syncgrad.common.protocol.CoordinatorProtocol.Prepared;
import io.syncgrad.common.protocol.CoordinatorProtocol.RegisterWorker;
import io.syncgrad.common.protocol.CoordinatorProtocol.StepReport;
import io.syncgrad.common.protocol.CoordinatorProtocol.WorkerFailed;
import io.syncgrad.common.protocol.CoordinatorProtocol.WorkerReady;
import io.syncgrad.common.protocol.CoordinatorProtocol;
import io.syncgrad.common.protocol.MessageSeals;
import io.syncgrad.common.protocol.ProtocolSerializer;
import io.syncgrad.common.protocol.WorkerProtocol;
import io.syncgrad.common.run.TrainingState;
import io.syncgrad.common.train.DivergedException;
import io.syncgrad.common.train.RunSummary;
import io.syncgrad.common.train.TrainingRun;
import io.syncgrad.common.transport.LinkFrames;
import io.syncgrad.common.transport.TensorLink;
import io.syncgrad.common.transport.Traffic;
import io.syncgrad.proto.LinkHelloProto;
import io.syncgrad.proto.StateProto;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

/**
 * The control plane of a run: it admits workers, forms generations (who takes part, which block
 * of shards and which chunk of the parameters each one owns), watches that steps keep coming,
 * and records them: metrics, checkpoints, evaluations, the summary. It carries no tensors on the
 * steps' path: the workers reduce the gradients among themselves ({@code RunMember}) and report
 * each step afterwards; the coordinator gets the weights only when it needs them, as a worker's
 * snapshot.
 *
 * <p>Phases, one behaviour each: {@link #waiting()} for the workers and their readiness;
 * {@link #forming()} a generation (every candidate stops and says how far it is); {@link
 * #training()} while the generation steps; {@link #paused()} below {@code --min-workers}. Every
 * failure takes the same path: a worker lost, a deadline missed, a worker joining or coming back
 * all form a new generation, which continues from the furthest step any member applied, members
 * behind it receiving that state from a peer. Which worker computes a shard never changes the
 * bytes, so the run ends with the weights of a fault-free one.
 */
public final class Coordinator {

  private record WorkerLost(String workerId) implements Internal {}

  /** No new step since {@code recorded} for a deadline. */
  private record StepDeadline(long generation, long recorded) implements Internal {}

  /** Forming {@code generation} took too long: it goes on with those that answered. */
  private record FormTimeout(long generation) implements Internal {}

  /** A registration from a node not yet up in this node's view of the cluster, taken again later. */
  private record RegisterAgain(RegisterWorker registration, int attempt) implements Internal {}

  /** Waited too long for workers. */
  private record WaitExpired() implements Internal {}

  private record JoinExpired() implements Internal {}

  /** The members' last reports did not all come within {@link #CLOSE_WAIT}. */
  private record CloseExpired() implements Internal {}

  /** The end of an injected partition. */
  private record HealPartition(String workerId, akka.actor.Address worker) implements Internal {}

  /** A worker opened its link and said who it is; not trusted until checked. */
  private record LinkOpened(LinkHelloProto hello, TensorLink link) implements Internal {}

  /** A worker's link closed. */
  private record LinkClosed(String workerId, TensorLink link) implements Internal {}

  /** A worker's whole state arrived on its link. */
  private record SnapshotArrived(String workerId, StateProto state) implements Internal {}

  /** Time to ask the ready workers again, none of whom answered for {@code generation} in time. */
  private record AskAgain(long generation) implements Internal {}

  private static final String WAIT_TIMER = "wait-for-workers";
  private static final String JOIN_TIMER = "join-timeout";
  private static final String DEADLINE_TIMER = "step-deadline";
  private static final String FORM_TIMER = "form-generation";
  private static final String CLOSE_TIMER = "close";
  private static final String ASK_TIMER = "ask-again";
  /**
   * How long the end of a run waits for every member's report of the last step (each member sends
   * one there) so that the summary has every worker's traffic and times; the steps are recorded.
   */
  static final Duration CLOSE_WAIT = Duration.ofSeconds(2);
  /**
   * Steps a worker may run ahead of the record. Each report and credit costs every node on the
   * way a few thread hand-overs; with 2 ms steps on 2 cores a window of 4 (a report every 2 steps)
   * cost a third of the one-worker step, 32 (a report every 16) a tenth (deploy/bench/RESULTS.md).
   * The steps something is named for hold the workers whatever the window (RunProgress).
   */
  static final int WINDOW = 32;

  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final TrainingRun run;
  private final CoordinatorSettings settings;
  private final CompletableFuture<RunSummary> result;
  private final WorkerLinks links;
  private final Traffic traffic;
  private final Membership membership = new Membership();
  private final RunProgress progress;
  private final StallWatch stall;
  private final RunReport report = new RunReport();
  private final PairKeys keys = new PairKeys();
  private final Recomputation recomputation = new Recomputation();
  private final Telemetry telemetry;
  private final ClusterMetrics metrics;
  private boolean started;
  private final StartPolicy start;
  /** Whether a generation is being formed: between form() and go(). */
  private boolean forming;
  private long generation;
  /** The generation being formed: who was asked, and how far each one that answered is. */
  private List<String> asked = List.of();
  private final TreeMap<String, Long> answered = new TreeMap<>();
  /** Generations in a row that too few ready workers answered; reset when one forms. */
  private int unanswered;
  /** Whether the generation being formed asks again workers that sat out the last one (from paused). */
  private boolean askingAgain;
  /** Whether the run waits, paused, for enough workers, and when that wait ends ({@link System#nanoTime}). */
  private boolean waitingForWorkers;
  private long waitEnds;
  /** The members of the current generation, in rank order. */
  private List<String> members = List.of();
  /** A snapshot of the next snapshot step, once a worker sent it. */
  private TrainingState snapshot;
  /** The snapshots arriving, part by part, by worker. */
  private final Map<String, StateParts.Assembly> snapshots = new java.util.HashMap<>();

  /**
   * @param run      the prepared run (data loaded, state fresh or resumed)
   * @param settings how many workers, where they find the data
   * @param result   completed with the summary, or with the error that ended the run
   */
  public static Behavior<Command> create(TrainingRun run, CoordinatorSettings settings,
      CompletableFuture<RunSummary> result) {
    return Behaviors.setup(ctx -> {
      WorkerLinks links;
      try {
        ActorRef<Command> self = ctx.getSelf();
        links = WorkerLinks.open(ctx.getSystem().settings().config(), run.state().model(),
            (hello, link) -> self.tell(new LinkOpened(hello, link)));
      } catch (IOException | IllegalArgumentException e) {
        result.completeExceptionally(new UserException("cannot open the link port: " + e.getMessage()
            + " (syncgrad.tensor-link.port)"));
        return Behaviors.stopped();
      }
      ctx.getSystem().receptionist().tell(Receptionist.register(CoordinatorProtocol.SERVICE_KEY, ctx.getSelf()));
      ctx.getLog().info("Coordinator of run [{}] waiting for {} workers; links on {}", run.state().runId(),
          settings.workers(), links.endpoint());
      return Behaviors.withTimers(timers -> new Coordinator(ctx, timers, run, settings, result, links).waiting());
    });
  }

  private Coordinator(ActorContext<Command> ctx, TimerScheduler<Command> timers, TrainingRun run,
      CoordinatorSettings settings, CompletableFuture<RunSummary> result, WorkerLinks links) {
    this.ctx = ctx;
    this.timers = timers;
    this.run = run;
    this.settings = settings;
    this.result = result;
    this.links = links;
    this.traffic = ProtocolSerializer.of(ctx.getSystem()).traffic();
    this.telemetry = run.telemetry();
    this.metrics = telemetry.cluster();
    telemetry.ready(Telemetry.Role.COORDINATOR, true, "waiting for " + settings.workers() + " workers");
    TrainingState s = run.state();
    this.stall = new StallWatch(settings.waitTimeout());
    this.progress = new RunProgress(s.step(), run.totalSteps(), run.checkpointEvery(), s.config().stepsPerEpoch(),
        WINDOW, settings.faultSteps());
    timers.startSingleTimer(WAIT_TIMER, new WaitExpired(), settings.waitTimeout());
    timers.startSingleTimer(JOIN_TIMER, new JoinExpired(), settings.joinTimeout());
    this.start = new StartPolicy(settings.workers(), settings.minWorkers());
  }

  /** What every phase handles the same way. */
  private BehaviorBuilder<Command> common() {
    return Behaviors.receive(Command.class)
        .onMessage(RegisterWorker.class, m -> onRegisterWorker(m, 0))
        .onMessage(RegisterAgain.class, m -> onRegisterWorker(m.registration(), m.attempt()))
        .onMessage(WorkerFailed.class, this::onWorkerFailed)
        .onMessage(LinkOpened.class, this::onLinkOpened)
        .onMessage(LinkClosed.class, m -> {
          links.ended(m.workerId(), m.link());
          return Behaviors.same();
        })
        .onMessage(StepReport.class, this::onStepReport)
        .onMessage(CoordinatorProtocol.StepReports.class, m -> {
          Behavior<Command> next = Behaviors.same();
          for (StepReport r : m.reports()) {
            next = onStepReport(r);
            if (next != Behaviors.<Command>same()) {
              return next;
            }
          }
          return next;
        })
        .onMessage(SnapshotArrived.class, this::onSnapshot)
        .onMessage(HealPartition.class, this::onHealPartition)
        .onSignal(PostStop.class, signal -> stopped());
  }

  // ---- waiting: workers register, load the data and receive the state to start from ----

  private Behavior<Command> waiting() {
    return common()
        .onMessage(WorkerReady.class, this::onReadyWhileWaiting)
        .onMessage(WorkerLost.class, m -> {
          if (membership.lose(m.workerId())) {
            ctx.getLog().warn("Worker [{}] was lost before the run started", m.workerId());
            start.lostBeforeStart();
            observeWorkers();
          }
          return startIfReady();
        })
        .onMessage(JoinExpired.class, m -> {
          ctx.getLog().info("Join timeout ({}) up with {} of {} workers ready", settings.joinTimeout(),
              membership.readyCount(), settings.workers());
          start.joinTimeUp();
          return startIfReady();
        })
        .onMessage(WaitExpired.class, m -> fail(new ClusterUnavailableException("waited " + settings.waitTimeout()
            + " for workers (" + membership.readyCount() + " ready, " + settings.workers() + " needed); giving up")))
        .build();
  }

  /** Tries of a registration whose node is not up yet, 100 ms apart. */
  private static final int REGISTER_TRIES = 100;

  private Behavior<Command> onRegisterWorker(RegisterWorker msg, int attempt) {
    if (!nodeUp(msg.worker())) {
      // A node restarted at the address of a removed one (a pod's container restarted in place)
      // is a tombstone in this node's view until its new incarnation is up here: watching it
      // before then reports it dead at once, and the worker would never take part.
      if (attempt < REGISTER_TRIES) {
        ctx.scheduleOnce(Duration.ofMillis(100), ctx.getSelf(), new RegisterAgain(msg, attempt + 1));
      } else {
        ctx.getLog().warn("Worker [{}] registered from {}, which is not up in this node's view of the cluster; "
            + "ignored", msg.workerId(), msg.worker().path().address());
      }
      return Behaviors.same();
    }
    String problem = membership.kernelProblem(msg.kernel(), settings.allowMixedKernels());
    if (problem != null) {
      ctx.getLog().warn("Refusing worker [{}]: {}", msg.workerId(), problem);
      msg.worker().tell(new WorkerProtocol.StopRun(run.state().runId(), msg.workerId(), "refused: " + problem));
      return Behaviors.same();
    }
    if (!membership.register(new Membership.Worker(msg.workerId(), msg.worker(), msg.peerEndpoint()))) {
      return Behaviors.same();
    }
    ctx.watchWith(msg.worker(), new WorkerLost(msg.workerId()));
    observeWorkers();
    ctx.getLog().info("Worker [{}] joined ({} of {})", msg.workerId(), membership.size(), settings.workers());
    // Each worker loads the data and takes the state as soon as it is here: the run starts when
    // enough are ready (see StartPolicy); a worker joining a run under way takes part when ready.
    startRunOn(membership.get(msg.workerId()));
    return Behaviors.same();
  }

  /** Whether the node of {@code ref} is an up member in this node's view of the cluster (always, without a cluster). */
  private boolean nodeUp(ActorRef<?> ref) {
    akka.actor.Address address = ref.path().address();
    if (!address.hasGlobalScope()
        || !"cluster".equals(ctx.getSystem().settings().config().getString("akka.actor.provider"))) {
      return true;
    }
    akka.cluster.Cluster cluster = akka.cluster.Cluster.get(akka.actor.typed.javadsl.Adapter.toClassic(
        ctx.getSystem()));
    for (akka.cluster.Member m : cluster.state().getMembers()) {
      if (m.address().equals(address)) {
        return m.status() == akka.cluster.MemberStatus.up();
      }
    }
    return false;
  }

  private void startRunOn(Membership.Worker worker) {
    TrainingState s = run.state();
    ActorRef<WorkerProtocol.Command> w = worker.ref();
    // From here on, what this worker says and is told is sealed with its key (MessageSeals).
    MessageSeals.get(ctx.getSystem()).hold(worker.id(), links.keyOf(s.runId(), worker));
    w.tell(new WorkerProtocol.StartRun(s.runId(), s.model(), s.config(), s.normalization(), settings.data(),
        ctx.getSelf(), shippedFingerprint(), links.endpoint(), links.keyHexOf(s.runId(), worker), run.totalSteps(),
        settings.faults(), WINDOW, settings.auditFraction()));
    if (settings.shipData()) {
      DataShipping.ship(run, w);
    }
  }

  private String shippedFingerprint;

  private String shippedFingerprint() {
    if (shippedFingerprint == null) {
      shippedFingerprint = settings.shipData() ? run.train().fingerprint() : "";
    }
    return shippedFingerprint;
  }

  /**
   * A link said who it is: kept when it names a registered worker of this run and proves that
   * worker's own key (another worker's key opens no link but its own); it gets the state.
   */
  private Behavior<Command> onLinkOpened(LinkOpened msg) {
    LinkHelloProto hello = msg.hello();
    String worker = hello.getWorkerId();
    String runId = run.state().runId();
    if (!membership.known(worker) || !hello.getRunId().equals(runId)
        || !links.proves(runId, membership.get(worker), hello, msg.link())) {
      ctx.getLog().warn("Refused a link from {} claiming worker [{}] of run [{}]", msg.link().peer(), worker,
          hello.getRunId());
      msg.link().close();
      return Behaviors.same();
    }
    links.adopt(worker, msg.link(), ctx.getSelf(), state -> new SnapshotArrived(worker, state),
        new LinkClosed(worker, msg.link()), traffic);
    // The state to start from: the run's (fresh or resumed); a worker joining later catches up
    // from a peer when its generation forms. A ready worker that opens its link again (it closed
    // under it) has its state and takes none: nothing to send, however large the model.
    if (membership.isReady(worker)) {
      return Behaviors.same();
    }
    for (StateProto part : StateParts.split(run.state().runId(), 0, "", run.state())) {
      msg.link().send(LinkFrames.of(part));
    }
    return Behaviors.same();
  }

  private Behavior<Command> onReadyWhileWaiting(WorkerReady msg) {
    if (!msg.runId().equals(run.state().runId()) || !membership.known(msg.workerId())) {
      return Behaviors.same();
    }
    membership.ready(msg.workerId());
    observeWorkers();
    return startIfReady();
  }

  private Behavior<Command> startIfReady() {
    if (started || !start.mayStart(membership.readyCount())) {
      return Behaviors.same();
    }
    String reason = start.reason(membership.readyCount());
    timers.cancel(WAIT_TIMER);
    timers.cancel(JOIN_TIMER);
    started = true;
    membership.started();
    run.start();
    telemetry.ready(Telemetry.Role.COORDINATOR, true, "training");
    if (progress.done()) {
      return finish();
    }
    return form(reason);
  }

  private Behavior<Command> onWorkerFailed(WorkerFailed msg) {
    if (!msg.runId().equals(run.state().runId()) || !membership.known(msg.workerId())) {
      return Behaviors.same();
    }
    return fail(new UserException(msg.reason()));
  }

  // ---- forming: every candidate stops and says how far it is ----

  private Behavior<Command> form(String why) {
    timers.cancel(DEADLINE_TIMER);
    if (stall.stuck(progress.recorded(), System.nanoTime())) {
      return fail(new ClusterUnavailableException("no step recorded after step " + progress.recorded() + " for "
          + settings.waitTimeout() + " (--wait-timeout) while " + stall.generations() + " generations formed, the "
          + "last because " + why + "; giving up"));
    }
    forming = true;
    generation++;
    asked = membership.candidates(progress.recorded(), settings.minWorkers());
    answered.clear();
    if (asked.size() < settings.minWorkers() || asked.isEmpty()) {
      return paused();
    }
    ctx.getLog().info("Forming generation [{}] with {} ({}) at step [{}]", generation, asked, why,
        progress.recorded());
    for (String id : asked) {
      membership.get(id).ref().tell(new WorkerProtocol.Prepare(run.state().runId(), id, generation,
          progress.recorded()));
    }
    timers.startSingleTimer(FORM_TIMER, new FormTimeout(generation), formTimeout());
    return forming();
  }

  private Duration formTimeout() {
    Duration d = settings.stepTimeout() != null ? settings.stepTimeout() : progress.adaptiveDeadline();
    return d.compareTo(Duration.ofSeconds(1)) < 0 ? Duration.ofSeconds(1) : d;
  }

  private Behavior<Command> forming() {
    return common()
        .onMessage(Prepared.class, this::onPrepared)
        .onMessage(FormTimeout.class, m -> m.generation() == generation ? go() : Behaviors.same())
        .onMessage(WorkerReady.class, this::onReadyLater)
        .onMessage(WorkerLost.class, m -> {
          if (lost(m.workerId()) && asked.contains(m.workerId())) {
            asked = asked.stream().filter(id -> !id.equals(m.workerId())).toList();
            return answered.keySet().containsAll(asked) ? go() : Behaviors.same();
          }
          return Behaviors.same();
        })
        .onMessage(StepDeadline.class, m -> Behaviors.same())
        .build();
  }

  private Behavior<Command> onPrepared(Prepared msg) {
    if (msg.runId().equals(run.state().runId()) && msg.generation() == generation && asked.contains(msg.workerId())) {
      answered.put(msg.workerId(), msg.appliedStep());
      if (answered.keySet().containsAll(asked)) {
        return go();
      }
    }
    return Behaviors.same();
  }

  /** The generation goes on with those that answered; the others sit out. */
  private Behavior<Command> go() {
    timers.cancel(FORM_TIMER);
    forming = false;
    boolean retry = askingAgain;
    askingAgain = false;
    for (String id : asked) {
      // Asked again after sitting out, it is still out: its sit-out does not grow for that.
      if (!answered.containsKey(id) && membership.known(id) && !retry) {
        membership.suspend(id, progress.recorded());
        ctx.getLog().warn("Worker [{}] did not answer for generation [{}]: it sits out", id, generation);
        run.event("recovery", Map.of("kind", "worker_suspended", "what", id, "generation", generation));
      }
    }
    GenerationPlan plan = GenerationPlan.of(answered, run.state().config().shards());
    if (plan == null || plan.members().size() < settings.minWorkers()) {
      return paused();
    }
    // Enough workers: the wait for them, however many tries it took, is over.
    timers.cancel(WAIT_TIMER);
    timers.cancel(ASK_TIMER);
    unanswered = 0;
    waitingForWorkers = false;
    List<String> ids = plan.members();
    long start = plan.start();
    String source = plan.source();
    Map<String, List<Integer>> assignment = plan.assignment();
    members = ids;
    // Every answer came after its sender's reports (Artery keeps a sender's order): a step up to
    // the start that no report covers now never will, its reporter gone. Recorded without its
    // figures, so that the record goes on.
    for (long n = progress.recorded() + 1; n <= start; n++) {
      if (!progress.has(n) && !progress.snapshotDue(n)) {
        ctx.getLog().warn("No report of step [{}] survived; it is recorded without its loss", n);
        progress.offer(new StepReport(run.state().runId(), generation, n, "", Double.NaN, 1, Double.NaN, 0, 0, 0, 0,
            0, 0, 0, 0, List.of(), "", ""));
      }
    }
    progress.generationStarted();
    long credit = progress.credit();
    long snapshotStep = progress.snapshotStep();
    List<WorkerProtocol.Partition> partitions = new ArrayList<>();
    for (CoordinatorSettings.Partition p : settings.partitions()) {
      String id = membership.atStart(p.worker());
      if (id != null && p.step() >= progress.recorded()) {
        partitions.add(new WorkerProtocol.Partition(id, p.step(), p.duration().toMillis()));
      }
    }
    List<WorkerProtocol.Corruption> corruptions = new ArrayList<>();
    for (CoordinatorSettings.Corruption c : settings.corruptions()) {
      String id = membership.atStart(c.worker());
      if (id != null && c.step() >= progress.recorded()) {
        corruptions.add(new WorkerProtocol.Corruption(id, c.step(), c.finite()));
      }
    }
    for (String to : ids) {
      List<WorkerProtocol.Member> list = new ArrayList<>();
      for (int i = 0; i < ids.size(); i++) {
        String id = ids.get(i);
        list.add(new WorkerProtocol.Member(id, membership.get(id).peerEndpoint(), plan.firsts()[i], plan.ends()[i],
            answered.get(id), id.equals(to) ? new byte[0] : keys.of(run.state().runId(), to, id)));
      }
      membership.get(to).ref().tell(new WorkerProtocol.Go(run.state().runId(), to, generation, list, start, source,
          credit, snapshotStep, start == snapshotStep, partitions, corruptions));
    }
    report.generation(assignment);
    metrics.generation(generation);
    observeWorkers();
    telemetry.ready(Telemetry.Role.COORDINATOR, true, "training in generation " + generation);
    metrics.totals(report.shardsReassigned(), 0, 0, 0, 0);
    if (generation > 1) {
      run.event("recovery", Map.of("kind", "generation_formed", "what", assignment.toString(), "generation",
          generation));
    }
    ctx.getLog().info("Generation [{}]: {} from step [{}] (state from [{}])", generation, assignment, start, source);
    startDeadline();
    Behavior<Command> next = record();
    return next == Behaviors.<Command>same() ? training() : next;
  }

  // ---- training: the generation steps; the coordinator records ----

  private Behavior<Command> training() {
    return common()
        .onMessage(StepDeadline.class, this::onStepDeadline)
        .onMessage(WorkerReady.class, this::onReadyLater)
        .onMessage(WorkerLost.class, m -> lost(m.workerId()) && members.contains(m.workerId())
            ? form("worker " + m.workerId() + " lost") : Behaviors.same())
        .onMessage(Prepared.class, m -> Behaviors.same())
        .onMessage(FormTimeout.class, m -> Behaviors.same())
        .build();
  }

  private void startDeadline() {
    timers.startSingleTimer(DEADLINE_TIMER, new StepDeadline(generation, progress.recorded()), deadline());
  }

  private Duration deadline() {
    return settings.stepTimeout() != null ? settings.stepTimeout() : progress.adaptiveDeadline();
  }

  private Behavior<Command> onStepDeadline(StepDeadline msg) {
    if (msg.generation() != generation || msg.recorded() != progress.recorded() || progress.done()) {
      return Behaviors.same();
    }
    ctx.getLog().warn("No step for {} ms after step [{}]: forming a new generation",
        deadline().toMillis(), msg.recorded());
    run.event("recovery", Map.of("kind", "deadline_missed", "what", "no step for " + deadline().toMillis() + " ms",
        "generation", generation));
    metrics.deadlineMissed();
    return form("a deadline was missed");
  }

  private Behavior<Command> onReadyLater(WorkerReady msg) {
    if (!msg.runId().equals(run.state().runId()) || !membership.known(msg.workerId())
        || membership.isReady(msg.workerId())) {
      return Behaviors.same();
    }
    membership.ready(msg.workerId());
    observeWorkers();
    ctx.getLog().info("Worker [{}] is ready; it joins with the next generation", msg.workerId());
    return Behaviors.same();
  }

  /**
   * The others computed the step that {@code id}'s result spoiled (not finite, or not what its
   * auditor computed), and theirs was finite: {@code id} sent what its shards do not give. It
   * takes no further part in the run.
   */
  private void quarantine(String id, long step) {
    membership.quarantine(id);
    ctx.getLog().error("Worker [{}] sent a result at step [{}] that the other workers' computation did not "
        + "reproduce: quarantined for the rest of the run", id, step);
    run.event("fault", Map.of("kind", "quarantined", "what", "worker " + id + ": a result at step " + step
        + " that others did not reproduce", "worker", id));
    Membership.Worker w = membership.get(id);
    if (w != null) {
      w.ref().tell(new WorkerProtocol.StopRun(run.state().runId(), id, "quarantined: its result at step " + step
          + " was not what other workers computed"));
    }
    observeWorkers();
  }

  /** @return whether the worker was one of the run's */
  private boolean lost(String id) {
    links.drop(id);
    if (!membership.lose(id)) {
      return false;
    }
    ctx.getLog().warn("Worker [{}] lost at step [{}]", id, progress.recorded());
    metrics.workerLost();
    observeWorkers();
    if (started) {
      run.event("recovery", Map.of("kind", "worker_lost", "what", id, "generation", generation));
    }
    return true;
  }

  /** Steps between the lines of each worker's compute time in {@code metrics.jsonl}. */
  private static final int WORKER_LINE_EVERY = 10;

  private Behavior<Command> onStepReport(StepReport r) {
    // Only a worker of the run reports: a lost one's late reports are not needed (the survivors
    // send theirs again when a generation forms), a stranger's are refused.
    if (!r.runId().equals(run.state().runId()) || !membership.known(r.workerId())) {
      ctx.getLog().debug("Refused a report of step [{}] from [{}]", r.step(), r.workerId());
      return Behaviors.same();
    }
    report.report(r);
    metrics.computed(r.workerId(), r.computeNanos());
    for (String e : r.faultEvents()) {
      int colon = e.indexOf(':');
      run.event("fault", Map.of("kind", colon > 0 ? e.substring(0, colon) : e, "what",
          colon > 0 ? e.substring(colon + 2) : e, "worker", r.workerId()));
    }
    if (!r.diverged().isEmpty()) {
      return onDiverged(r);
    }
    long batch = run.state().config().batchSize();
    if (r.samples() != batch || !Double.isFinite(r.lossSum())) {
      // Every member knows the whole step: a report that disagrees with the shard plan is not one.
      ctx.getLog().warn("Refused the report of step [{}] from worker [{}]: {} samples and loss {}, the step has {} "
          + "samples", r.step(), r.workerId(), r.samples(), r.lossSum(), batch);
      return Behaviors.same();
    }
    progress.offer(r);
    return record();
  }

  /**
   * A member could not apply a step: its sum was not finite. The result that brought the
   * non-finite values in is computed again by the others before anyone is blamed (see
   * {@link Recomputation}); a report of an earlier generation is old news.
   */
  private Behavior<Command> onDiverged(StepReport r) {
    if (r.generation() != generation || forming) {
      return Behaviors.same();
    }
    String suspect = membership.known(r.suspect()) ? r.suspect() : "";
    int eligible = membership.eligibleCount() - (suspect.isEmpty() || !membership.isReady(suspect) ? 0 : 1);
    String again = recomputation.sameOutcome();
    switch (recomputation.diverged(r.step(), suspect, r.workerId(), eligible, settings.minWorkers())) {
      case RECOMPUTE:
        ctx.getLog().warn("Worker [{}] found the result of worker [{}] at step [{}] wrong ({}); computing it again "
            + "without [{}]", r.workerId(), suspect, r.step() - 1, r.diverged(), suspect);
        run.event("recovery", Map.of("kind", "recompute", "what", "step " + (r.step() - 1) + " without " + suspect,
            "worker", suspect, "generation", generation));
        membership.hold(suspect);
        return form("the result of " + suspect + " is computed again");
      default:
        return fail(DivergedException.reported(r.diverged() + again + (suspect.isEmpty() || !again.isEmpty() ? ""
            : " (the non-finite values came from worker " + suspect + ", and no other worker could compute them "
                + "again)")));
    }
  }

  private Behavior<Command> onSnapshot(SnapshotArrived msg) {
    TrainingState s;
    try {
      s = snapshots.computeIfAbsent(msg.workerId(), w -> new StateParts.Assembly(run.state().model()))
          .offer(msg.state());
    } catch (IllegalArgumentException e) {
      ctx.getLog().warn("Refused the snapshot of worker [{}]: {}", msg.workerId(), e.getMessage());
      return Behaviors.same();
    }
    if (s == null) {
      return Behaviors.same();
    }
    if (s.step() == progress.snapshotStep() && s.step() > progress.recorded()) {
      snapshot = s;
    }
    return record();
  }

  /** Records every step whose report (and, at a snapshot step, snapshot) is in, then credits the workers. */
  private Behavior<Command> record() {
    boolean moved = false;
    while (started && !progress.done()) {
      StepReport next = progress.next();
      if (next == null) {
        break;
      }
      boolean evaluate = progress.snapshotDue(next.step());
      if (evaluate) {
        if (snapshot == null || snapshot.step() != next.step()) {
          break;
        }
        run.adoptSnapshot(snapshot);
        snapshot = null;
      }
      progress.recorded(next);
      String quarantined = recomputation.recorded(next.step());
      if (quarantined != null) {
        quarantine(quarantined, next.step() - 1);
      }
      if (evaluate) {
        // The workers go on while this node writes the checkpoint and evaluates.
        credit();
      }
      try {
        run.stepApplied(next.lossSum() / next.samples(), next.gradientNorm(), next.stepNanos(), next.computeNanos(),
            Map.of("worker", next.workerId()));
        if (next.step() % WORKER_LINE_EVERY == 0) {
          run.event("workers", Map.of("compute_ms", report.computeWindow()));
        }
      } catch (IOException | RuntimeException e) {
        return fail(e);
      }
      moved = true;
      afterStep(next.step());
      if (run.done()) {
        // Early stopping ends the run at an evaluation, where this node holds the step's state.
        return closing();
      }
    }
    if (progress.done()) {
      return closing();
    }
    if (moved) {
      observeFaults();
      credit();
      startDeadline();
      if (!forming && !members.isEmpty() && (membership.dueAgain(progress.recorded()) || readyOutside())) {
        return form("workers join or come back");
      }
    }
    return Behaviors.same();
  }

  /** The membership gauges, after a change. */
  private void observeWorkers() {
    metrics.workers(membership.size(), membership.readyCount(), members.size());
  }

  /** The fault and recovery counters, from the workers' cumulative reports. */
  private void observeFaults() {
    Map<String, Object> f = report.faults(settings.scriptedFaultSteps().stream()
        .filter(step -> step <= progress.recorded()).count(), membership.lostCount());
    metrics.totals((Long) f.get("shards_reassigned"), (Long) f.get("stale_rejected"),
        (Long) f.get("duplicates_rejected"), (Long) f.get("retransmitted"), (Long) f.get("injected"));
  }

  /** Tells the members how far they may go now, when that moved on. */
  private void credit() {
    long credit = progress.grant();
    if (credit > 0) {
      for (String id : members) {
        Membership.Worker w = membership.get(id);
        if (w != null) {
          w.ref().tell(new WorkerProtocol.Credit(run.state().runId(), w.id(), generation, credit,
              progress.snapshotStep()));
        }
      }
    }
  }

  /** Whether a ready worker is not in the generation (a joiner) and not suspended. */
  private boolean readyOutside() {
    for (Membership.Worker w : membership.all()) {
      if (membership.isReady(w.id()) && !members.contains(w.id()) && !membership.suspended(w.id())
          && members.size() < run.state().config().shards()) {
        return true;
      }
    }
    return false;
  }

  private void afterStep(long step) {
    for (CoordinatorSettings.Partition p : settings.partitions()) {
      String id = membership.atStart(p.worker());
      Membership.Worker w = id == null ? null : membership.get(id);
      if (p.step() != step || w == null) {
        continue;
      }
      akka.actor.Address address = w.ref().path().address();
      ctx.getLog().warn("Fault injected: partition from worker [{}] at [{}] for {}", id, address, p.duration());
      blackhole(address, true);
      report.coordinatorFault();
      run.event("fault", Map.of("kind", "partition", "what", id + " for " + p.duration().toMillis() + " ms"));
      ctx.scheduleOnce(p.duration(), ctx.getSelf(), new HealPartition(id, address));
    }
    if (settings.scriptedFaultSteps().contains(step)) {
      run.event("fault", Map.of("kind", "scripted", "what", "a node fault scripted after this step"));
    }
  }

  private Behavior<Command> onHealPartition(HealPartition m) {
    blackhole(m.worker(), false);
    ctx.getLog().warn("Fault healed: the partition from [{}] is over", m.worker());
    return Behaviors.same();
  }

  /** Blackholes (or restores) all traffic with a node, in both directions, on this node's transport. */
  private void blackhole(akka.actor.Address node, boolean on) {
    akka.actor.ActorSystem classic = akka.actor.typed.javadsl.Adapter.toClassic(ctx.getSystem());
    akka.remote.RARP rarp = (akka.remote.RARP) akka.remote.RARP$.MODULE$.get(classic);
    akka.remote.transport.ThrottlerTransportAdapter$ mode = akka.remote.transport.ThrottlerTransportAdapter$.MODULE$;
    rarp.provider().transport().managementCommand(new akka.remote.transport.ThrottlerTransportAdapter.SetThrottle(
        node, mode.bothDirection(), on ? mode.blackholeThrottleMode() : mode.unthrottledThrottleMode()));
  }

  // ---- paused: too few workers ----

  private Behavior<Command> paused() {
    timers.cancel(DEADLINE_TIMER);
    askingAgain = false;
    int needed = Math.max(1, settings.minWorkers());
    // One bound for the whole wait, however many generations fail to form in it.
    long now = System.nanoTime();
    if (!waitingForWorkers) {
      waitingForWorkers = true;
      waitEnds = now + settings.waitTimeout().toNanos();
    }
    if (now - waitEnds >= 0) {
      return waitedTooLong();
    }
    timers.startSingleTimer(WAIT_TIMER, new WaitExpired(), Duration.ofNanos(waitEnds - now));
    if (membership.eligibleCount() >= needed) {
      // Enough workers are ready, yet too few answered: stopped at once for a while (a pause, a
      // long collection, a busy host), or gone before the cluster noticed. No readiness message
      // will come from them, so they are asked again, less often each time.
      Duration again = Membership.askAgainAfter(formTimeout(), unanswered++);
      ctx.getLog().warn("Too few workers answered for generation [{}] ({} ready, {} needed): asking again in {} ms "
          + "at step [{}] (waiting at most {} in all)", generation, membership.eligibleCount(), needed,
          again.toMillis(), progress.recorded(), settings.waitTimeout());
      timers.startSingleTimer(ASK_TIMER, new AskAgain(generation), again);
    } else {
      ctx.getLog().warn("Only {} workers ready, {} needed: waiting at step [{}] (at most {} in all)",
          membership.eligibleCount(), needed, progress.recorded(), settings.waitTimeout());
    }
    members = List.of();
    forming = false;
    observeWorkers();
    telemetry.ready(Telemetry.Role.COORDINATOR, true, "waiting for workers at step " + progress.recorded());
    return common()
        .onMessage(WorkerReady.class, m -> {
          onReadyLater(m);
          if (membership.eligibleCount() >= Math.max(1, settings.minWorkers())) {
            timers.cancel(ASK_TIMER);
            askingAgain = true;
            return form("enough workers again");
          }
          return Behaviors.same();
        })
        .onMessage(AskAgain.class, m -> {
          if (m.generation() != generation) {
            return Behaviors.same();
          }
          askingAgain = true;
          return form("asking the ready workers again");
        })
        .onMessage(WorkerLost.class, m -> {
          lost(m.workerId());
          return Behaviors.same();
        })
        .onMessage(WaitExpired.class, m -> waitedTooLong())
        .onMessage(Prepared.class, m -> {
          // A late answer to a generation that could not form: its sender is back; ask at once.
          if (m.runId().equals(run.state().runId()) && m.generation() == generation && asked.contains(m.workerId())
              && membership.isReady(m.workerId()) && timers.isTimerActive(ASK_TIMER)) {
            timers.cancel(ASK_TIMER);
            askingAgain = true;
            return form("worker " + m.workerId() + " answered late");
          }
          return Behaviors.same();
        })
        .onMessage(FormTimeout.class, m -> Behaviors.same())
        .onMessage(StepDeadline.class, m -> Behaviors.same())
        .build();
  }

  /** --wait-timeout is up without a generation of enough workers (its timer may have fired while one was formed). */
  private Behavior<Command> waitedTooLong() {
    return fail(new ClusterUnavailableException("waited " + settings.waitTimeout() + " for workers at step "
        + progress.recorded() + " (" + membership.eligibleCount() + " ready, " + Math.max(1, settings.minWorkers())
        + " needed); giving up"));
  }

  // ---- the end ----

  private Behavior<Command> stopped() {
    links.close();
    if (!result.isDone()) {
      // Stopped from outside (its node shut down, or a stop it did not choose): whoever
      // waits for the run's result hears of it instead of waiting for ever.
      telemetry.ready(Telemetry.Role.COORDINATOR, false, "stopped");
      result.completeExceptionally(new ClusterUnavailableException("the coordinator stopped at step "
          + progress.recorded() + " before the run ended; start it again with --resume to continue"));
    }
    return Behaviors.same();
  }

  // ---- closing: every step is recorded; the members' last reports come in ----

  /**
   * The run's last step is recorded. Members other than the first report every few steps and at
   * the last one: their last reports may still be on the way, and the summary waits for them, at
   * most {@link #CLOSE_WAIT}.
   */
  private Behavior<Command> closing() {
    if (report.reportedThrough(members, progress.recorded())) {
      return finish();
    }
    timers.startSingleTimer(CLOSE_TIMER, new CloseExpired(), CLOSE_WAIT);
    return Behaviors.receive(Command.class)
        .onMessage(StepReport.class, r -> closingReport(List.of(r)))
        .onMessage(CoordinatorProtocol.StepReports.class, m -> closingReport(m.reports()))
        .onMessage(CloseExpired.class, m -> {
          ctx.getLog().info("The run ends without the last reports of some of {}: their figures in the summary "
              + "stop earlier", members);
          return finish();
        })
        .onMessage(WorkerLost.class, m -> {
          members = members.stream().filter(id -> !id.equals(m.workerId())).toList();
          return closingReport(List.of());
        })
        .onAnyMessage(m -> Behaviors.same())
        .onSignal(PostStop.class, signal -> stopped())
        .build();
  }

  private Behavior<Command> closingReport(List<StepReport> reports) {
    for (StepReport r : reports) {
      if (r.runId().equals(run.state().runId()) && membership.known(r.workerId())) {
        report.report(r);
      }
    }
    if (!report.reportedThrough(members, progress.recorded())) {
      return Behaviors.same();
    }
    timers.cancel(CLOSE_TIMER);
    return finish();
  }

  private Behavior<Command> finish() {
    try {
      long steps = Math.max(1, progress.recorded() - run.resumedFrom());
      Map<String, Object> distributed = report.distributed(steps, run.resumedFrom(), generation,
          traffic.sentBytes(), traffic.receivedBytes());
      distributed.put("links_opened", links.accepted());
      distributed.put("quarantined", recomputation.quarantined());
      long scripted = settings.scriptedFaultSteps().stream().filter(step -> step <= progress.recorded()).count();
      RunSummary summary = run.finish(membership.size(), 1, distributed,
          report.faults(scripted, membership.lostCount()));
      stopWorkers("finished");
      telemetry.ready(Telemetry.Role.COORDINATOR, false, "finished");
      result.complete(summary);
    } catch (Exception e) {
      return fail(e);
    }
    return Behaviors.stopped();
  }

  private Behavior<Command> fail(Exception e) {
    ctx.getLog().error("Run [{}] failed at step [{}]: {}", run.state().runId(), progress.recorded(), e.getMessage());
    stopWorkers("failed: " + e.getMessage());
    telemetry.ready(Telemetry.Role.COORDINATOR, false, "failed: " + e.getMessage());
    result.completeExceptionally(e);
    return Behaviors.stopped();
  }

  private void stopWorkers(String reason) {
    for (Membership.Worker w : membership.all()) {
      w.ref().tell(new WorkerProtocol.StopRun(run.state().runId(), w.id(), reason));
    }
  }
}
