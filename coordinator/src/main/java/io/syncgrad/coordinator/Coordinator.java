package io.syncgrad.coordinator;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.javadsl.TimerScheduler;
import akka.actor.typed.receptionist.Receptionist;
import akka.actor.typed.PostStop;
import io.syncgrad.common.codec.TensorCodec;
import io.syncgrad.common.error.UserException;
import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.protocol.CoordinatorProtocol.Command;
import io.syncgrad.common.protocol.CoordinatorProtocol.Internal;
import io.syncgrad.common.protocol.CoordinatorProtocol.PrefixComputed;
import io.syncgrad.common.protocol.CoordinatorProtocol.RegisterWorker;
import io.syncgrad.common.protocol.CoordinatorProtocol.ShardComputed;
import io.syncgrad.common.protocol.CoordinatorProtocol.StepResult;
import io.syncgrad.common.protocol.CoordinatorProtocol.WorkerFailed;
import io.syncgrad.common.protocol.CoordinatorProtocol.WorkerReady;
import io.syncgrad.common.protocol.CoordinatorProtocol;
import io.syncgrad.common.protocol.ProtocolSerializer;
import io.syncgrad.common.protocol.WorkerProtocol;
import io.syncgrad.common.train.RunSummary;
import io.syncgrad.common.train.StepAggregator;
import io.syncgrad.common.train.TrainingRun;
import io.syncgrad.common.train.TrainingState;
import io.syncgrad.common.transport.TensorLink;
import io.syncgrad.proto.LinkFrameProto;
import io.syncgrad.proto.LinkHelloProto;
import io.syncgrad.proto.TensorProto;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;

/**
 * The coordinator of a run: waits for its workers, assigns them the virtual shards, and drives
 * the steps. Each step it sends the weights to every worker, collects exactly one result per
 * shard (anything of another run, generation or step, or a second result for a shard, is
 * rejected and counted), adds the shard sums <em>in shard order</em> with the same
 * {@link StepAggregator} as the one-node trainer, and lets the {@link TrainingRun} record the
 * step. So the bytes are those of a one-node run, whatever the number of workers.
 *
 * <p>Workers get consecutive blocks of shards. With two or more shards each, a worker adds its
 * block onto the sum of the blocks before it, which this actor hands it ({@code FoldPrefix}),
 * and answers one running sum: one gradient per worker crosses the network instead of one per
 * shard, with the very additions of the one-node sum. Weights, gradients and sums travel on the
 * workers' tensor links ({@link WorkerLinks}) when they have one, else over Artery.
 *
 * <p>Every step has a deadline. A worker that misses it, or that the cluster loses, has the
 * shards it still owes given to the others under a new generation, within the same step; its
 * late results are then stale and rejected. Which worker computes a shard never changes the
 * shard's value, so the bytes stay those of a fault-free run.
 */
public final class Coordinator extends AbstractBehavior<Command> {

  private record WorkerLost(String workerId) implements Internal {}

  private record StepDeadline(long step, long generation) implements Internal {}

  /** Waited too long for workers. */
  private record WaitExpired(long since) implements Internal {}

  /** The end of an injected partition. */
  private record HealPartition(String workerId, akka.actor.Address worker) implements Internal {}

  /** A result held back by an injected delay; it skips the injector when it arrives. */
  private record DelayedResult(StepResult result) implements Internal {}

  /** A message to a worker held back by an injected delay. */
  private record DelayedSend(String worker, WorkerProtocol.Command msg) implements Internal {}

  /** A worker opened its tensor link and said who it is; not trusted until checked. */
  private record LinkOpened(LinkHelloProto hello, TensorLink link) implements Internal {}

  /** A worker's tensor link closed. */
  private record LinkClosed(String workerId, TensorLink link) implements Internal {}

  private enum Phase { WAITING, STARTING, TRAINING, PAUSED, DONE }

  private final TrainingRun run;
  private final CoordinatorSettings settings;
  private final CompletableFuture<RunSummary> result;
  private final TreeMap<String, ActorRef<WorkerProtocol.Command>> workers = new TreeMap<>();
  private final Map<String, List<Integer>> assignment = new LinkedHashMap<>();
  /** The workers at the start, in name order: what fault specs' worker indices refer to. */
  private final List<String> workerNames = new ArrayList<>();
  private final List<String> ready = new ArrayList<>();
  private final StepAggregator aggregator;
  private final ShardSlots slots;
  private final StepTimes times;
  private final TimerScheduler<Command> timers;
  /** Workers that missed a deadline: given no shards until they deliver again (even a stale result). */
  private final Set<String> suspended = new TreeSet<>();
  /**
   * The step from which a suspended worker is asked again even if it said nothing: its message
   * may have been lost with a broken connection, and a healthy worker must not sit out the rest
   * of the run. Each new suspension of the same worker doubles the wait.
   */
  private final Map<String, Long> askAgainAt = new java.util.HashMap<>();
  private final Map<String, Integer> suspensions = new java.util.HashMap<>();
  /** Steps a worker sits out after its first missed deadline. */
  static final int SIT_OUT_STEPS = 16;
  private long generation = 1;
  private long shardsReassigned;
  private final Set<String> lostWorkers = new TreeSet<>();
  private long faultsInjected;
  private boolean recoveredThisStep;
  private String kernel;
  private Phase phase = Phase.WAITING;
  private long rejectedStale;
  private long rejectedDuplicate;
  /** The workers' tensor links, for the weights and gradients. */
  private final WorkerLinks links;
  /** Workers cut off by an injected partition: their tensor links are cut too. */
  private final Set<String> partitioned = new TreeSet<>();

  /**
   * @param run      the prepared run (data loaded, state fresh or resumed)
   * @param settings how many workers, where they find the data
   * @param result   completed with the summary, or with the error that ended the run
   */
  public static Behavior<Command> create(TrainingRun run, CoordinatorSettings settings,
      CompletableFuture<RunSummary> result) {
    return Behaviors.setup(ctx -> {
      String tooLarge = frameProblem(ctx.getSystem().settings().config(), run.state().model().parameterCount());
      if (tooLarge != null) {
        result.completeExceptionally(new UserException(tooLarge));
        return Behaviors.stopped();
      }
      WorkerLinks links;
      try {
        ActorRef<Command> self = ctx.getSelf();
        links = WorkerLinks.open(ctx.getSystem().settings().config(),
            (hello, link) -> self.tell(new LinkOpened(hello, link)));
      } catch (IOException | IllegalArgumentException e) {
        result.completeExceptionally(new UserException("cannot open the tensor link port: " + e.getMessage()
            + " (syncgrad.tensor-link.port; syncgrad.tensor-link.enabled = off sends tensors over Artery)"));
        return Behaviors.stopped();
      }
      ctx.getSystem().receptionist().tell(Receptionist.register(CoordinatorProtocol.SERVICE_KEY, ctx.getSelf()));
      ctx.getLog().info("Coordinator of run [{}] waiting for {} workers{}", run.state().runId(), settings.workers(),
          links == WorkerLinks.NONE ? "" : "; tensor links on " + links.endpoint());
      return Behaviors.<Command>withTimers(timers -> new Coordinator(ctx, timers, run, settings, result, links));
    });
  }

  /** Room for a message's fields besides its tensors: ids, shapes, protobuf framing. */
  private static final long ENVELOPE_BYTES = 64 * 1024;

  /**
   * Artery drops a message larger than its frame with nothing but a log line, which would stall
   * the run: a model whose weights do not fit one frame is refused before the first step.
   *
   * @return null when the weights fit, else the message to stop with
   */
  static String frameProblem(com.typesafe.config.Config config, long parameters) {
    String key = "akka.remote.artery.advanced.maximum-frame-size";
    if (!config.hasPath(key) || !"cluster".equals(config.getString("akka.actor.provider"))) {
      return null;
    }
    long frame = config.getBytes(key);
    long needed = parameters * Float.BYTES + ENVELOPE_BYTES;
    if (needed <= frame) {
      return null;
    }
    return "the model's " + parameters + " parameters need messages of " + needed + " bytes, more than " + key + " = "
        + frame + "; raise it on every node (e.g. -D" + key + "=" + (needed / (1 << 20) + 2) + "MiB in SYNCGRAD_JAVA_OPTS)";
  }

  private Coordinator(ActorContext<Command> ctx, TimerScheduler<Command> timers, TrainingRun run,
      CoordinatorSettings settings, CompletableFuture<RunSummary> result, WorkerLinks links) {
    super(ctx);
    this.links = links;
    this.timers = timers;
    this.run = run;
    this.settings = settings;
    this.result = result;
    TrainingState state = run.state();
    this.aggregator = new StepAggregator(state.config(), state.params());
    this.slots = new ShardSlots(state.config().shards());
    this.times = new StepTimes();
    timers.startSingleTimer(WAIT_TIMER, new WaitExpired(System.nanoTime()), settings.waitTimeout());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(RegisterWorker.class, this::onRegisterWorker)
        .onMessage(WorkerReady.class, this::onWorkerReady)
        .onMessage(WorkerFailed.class, this::onWorkerFailed)
        .onMessage(StepResult.class, this::onResult)
        .onMessage(WorkerLost.class, this::onWorkerLost)
        .onMessage(StepDeadline.class, this::onStepDeadline)
        .onMessage(DelayedResult.class, m -> accept(m.result()))
        .onMessage(DelayedSend.class, m -> {
          deliver(m.worker(), m.msg());
          return this;
        })
        .onMessage(LinkOpened.class, this::onLinkOpened)
        .onMessage(LinkClosed.class, this::onLinkClosed)
        .onSignal(PostStop.class, signal -> {
          links.close();
          return this;
        })
        .onMessage(WaitExpired.class, this::onWaitExpired)
        .onMessage(HealPartition.class, m -> {
          blackhole(m.worker(), false);
          partitioned.remove(m.workerId());
          getContext().getLog().warn("Fault healed: the partition from [{}] is over", m.worker());
          return this;
        })
        .build();
  }

  private Behavior<Command> onRegisterWorker(RegisterWorker msg) {
    if (phase == Phase.DONE || phase == Phase.STARTING) {
      getContext().getLog().info("Worker [{}] registered while the run is {}; not used", msg.workerId(), phase);
      return this;
    }
    if (kernel == null) {
      kernel = msg.kernel();
    } else if (!kernel.equals(msg.kernel()) && !settings.allowMixedKernels()) {
      String reason = "its kernel " + msg.kernel() + " differs from the cluster's " + kernel
          + " (the bytes would differ; --allow-mixed-kernels accepts it)";
      getContext().getLog().warn("Refusing worker [{}]: {}", msg.workerId(), reason);
      msg.worker().tell(new WorkerProtocol.StopRun(run.state().runId(), "refused: " + reason));
      return this;
    }
    if (workers.putIfAbsent(msg.workerId(), msg.worker()) == null) {
      getContext().watchWith(msg.worker(), new WorkerLost(msg.workerId()));
      getContext().getLog().info("Worker [{}] joined ({} of {})", msg.workerId(), workers.size(), settings.workers());
    }
    if (phase == Phase.TRAINING || phase == Phase.PAUSED) {
      // A worker joining a run under way: prepared now, given shards from the next step on.
      startRunOn(msg.worker());
      return this;
    }
    if (workers.size() == settings.workers()) {
      phase = Phase.STARTING;
      timers.cancel(WAIT_TIMER);
      for (ActorRef<WorkerProtocol.Command> w : workers.values()) {
        startRunOn(w);
      }
    }
    return this;
  }

  private void partitionIfScheduled(long step) {
    for (CoordinatorSettings.Partition p : settings.partitions()) {
      if (p.step() != step || p.worker() >= workerNames.size()) {
        continue;
      }
      ActorRef<WorkerProtocol.Command> ref = workers.get(workerNames.get(p.worker()));
      if (ref == null) {
        continue;
      }
      akka.actor.Address address = ref.path().address();
      getContext().getLog().warn("Fault injected: partition from worker [{}] at [{}] for {}",
          workerNames.get(p.worker()), address, p.duration());
      blackhole(address, true);
      partitioned.add(workerNames.get(p.worker()));
      injected("partition", workerNames.get(p.worker()) + " for " + p.duration().toMillis() + " ms");
      getContext().scheduleOnce(p.duration(), getContext().getSelf(),
          new HealPartition(workerNames.get(p.worker()), address));
    }
  }

  private void injected(String kind, String what) {
    faultsInjected++;
    run.event("fault", Map.of("kind", kind, "what", what));
  }

  private void recovered(String kind, String what) {
    run.event("recovery", Map.of("kind", kind, "what", what, "generation", generation));
  }

  /** Blackholes (or restores) all traffic with a node, in both directions, on this node's transport. */
  private void blackhole(akka.actor.Address node, boolean on) {
    akka.actor.ActorSystem classic = akka.actor.typed.javadsl.Adapter.toClassic(getContext().getSystem());
    akka.remote.RARP rarp = (akka.remote.RARP) akka.remote.RARP$.MODULE$.get(classic);
    akka.remote.transport.ThrottlerTransportAdapter$ mode = akka.remote.transport.ThrottlerTransportAdapter$.MODULE$;
    rarp.provider().transport().managementCommand(new akka.remote.transport.ThrottlerTransportAdapter.SetThrottle(
        node, mode.bothDirection(), on ? mode.blackholeThrottleMode() : mode.unthrottledThrottleMode()));
  }

  private void startRunOn(ActorRef<WorkerProtocol.Command> w) {
    TrainingState s = run.state();
    w.tell(new WorkerProtocol.StartRun(s.runId(), s.model(), s.config(), s.normalization(), settings.data(),
        getContext().getSelf(), shippedFingerprint(), links.endpoint(), links.token()));
    if (settings.shipData()) {
      shipData(w);
    }
  }

  private String shippedFingerprint() {
    if (shippedFingerprint == null) {
      shippedFingerprint = settings.shipData() ? run.train().fingerprint() : "";
    }
    return shippedFingerprint;
  }

  private String shippedFingerprint;
  private static final String WAIT_TIMER = "wait-for-workers";

  private Behavior<Command> onWaitExpired(WaitExpired msg) {
    if (phase != Phase.PAUSED && phase != Phase.WAITING) {
      return this;
    }
    return fail(new UserException("waited " + settings.waitTimeout() + " for workers at step " + run.state().step()
        + " (" + ready.size() + " ready, " + settings.minWorkers() + " needed); giving up"));
  }

  /** Floats per data chunk: 4 MiB messages, well inside the frame. */
  private static final int CHUNK_FLOATS = 1 << 20;

  /** Sends the normalised training data to a worker in chunks ({@code --ship-data}). */
  private void shipData(ActorRef<WorkerProtocol.Command> worker) {
    io.syncgrad.common.data.Dataset train = run.train();
    int width = train.width();
    int rowsPerChunk = Math.max(1, CHUNK_FLOATS / width);
    int total = (train.size() + rowsPerChunk - 1) / rowsPerChunk;
    for (int i = 0; i < total; i++) {
      int from = i * rowsPerChunk;
      int to = Math.min(train.size(), from + rowsPerChunk);
      worker.tell(new WorkerProtocol.DataChunk(run.state().runId(), i, total, from, width,
          java.util.Arrays.copyOfRange(train.features(), from * width, to * width),
          java.util.Arrays.copyOfRange(train.labels(), from, to)));
    }
  }

  private Behavior<Command> onWorkerReady(WorkerReady msg) {
    if (!msg.runId().equals(run.state().runId()) || ready.contains(msg.workerId())
        || !workers.containsKey(msg.workerId())) {
      return this;
    }
    if (phase == Phase.TRAINING || phase == Phase.PAUSED) {
      ready.add(msg.workerId());
      getContext().getLog().info("Worker [{}] is ready; it gets shards from the next step", msg.workerId());
      if (phase == Phase.PAUSED && ready.size() >= settings.minWorkers()) {
        timers.cancel(WAIT_TIMER);
        getContext().getLog().info("{} workers ready again: continuing at step [{}]", ready.size(),
            run.state().step());
        phase = Phase.TRAINING;
        generation++;
        assignShards();
        return slots.filledAny() || aggregator.folded() > 0 ? reassignMissing() : sendStep();
      }
      return this;
    }
    if (phase != Phase.STARTING) {
      return this;
    }
    ready.add(msg.workerId());
    if (ready.size() < workers.size()) {
      return this;
    }
    assignShards();
    workerNames.addAll(workers.keySet());
    getContext().getLog().info("Training with {} workers, shards {}", workers.size(), assignment);
    phase = Phase.TRAINING;
    run.start();
    return run.done() ? finish() : sendStep();
  }

  private Behavior<Command> onWorkerFailed(WorkerFailed msg) {
    return fail(new UserException(msg.reason()));
  }

  /**
   * The active workers, in name order, get consecutive blocks of shards of (nearly) equal size.
   * Which worker computes a shard never changes its value, only who is asked.
   */
  private void assignShards() {
    assignment.clear();
    long next = run.state().step() + 1;
    suspended.removeIf(worker -> {
      boolean again = askAgainAt.getOrDefault(worker, Long.MAX_VALUE) <= next;
      if (again) {
        getContext().getLog().info("Worker [{}] said nothing since it was suspended: asked again from step [{}]",
            worker, next);
      }
      return again;
    });
    List<String> names = new ArrayList<>();
    for (String name : workers.keySet()) {
      if (ready.contains(name) && !suspended.contains(name)) {
        names.add(name);
      }
    }
    if (names.isEmpty()) {
      for (String name : workers.keySet()) {
        if (ready.contains(name)) {
          names.add(name);
        }
      }
      suspended.clear();
    }
    if (names.isEmpty()) {
      return;
    }
    int shards = run.state().config().shards();
    for (int i = 0; i < names.size(); i++) {
      List<Integer> block = new ArrayList<>();
      for (int s = i * shards / names.size(); s < (i + 1) * shards / names.size(); s++) {
        block.add(s);
      }
      assignment.put(names.get(i), block);
    }
  }

  private Behavior<Command> sendStep() {
    TrainingState s = run.state();
    // One snapshot for every worker: the weights change only after all results are in, but a
    // message may still be in flight then.
    snapshot = s.params().copy();
    snapshotTensors = null;
    slots.clear();
    aggregator.begin();
    times.stepSent();
    // With two shards or more each, the workers add up their blocks and pass the sum along
    // (one message each instead of one per shard); with fewer, a chain of prefixes is slower
    // than sending every shard.
    folding = !assignment.isEmpty() && s.config().shards() / assignment.size() >= 2;
    for (Map.Entry<String, List<Integer>> e : assignment.entrySet()) {
      if (!e.getValue().isEmpty()) {
        send(e.getKey(), new WorkerProtocol.ComputeStep(s.runId(), generation, s.step(), e.getValue(), snapshot,
            folding));
      }
    }
    timers.startSingleTimer(DEADLINE_TIMER, new StepDeadline(s.step(), generation), deadline());
    return this;
  }

  private java.time.Duration deadline() {
    return settings.stepTimeout() != null ? settings.stepTimeout() : times.adaptiveDeadline();
  }

  /** Sends a step to a worker, through the injected network faults. */
  private void send(String worker, WorkerProtocol.ComputeStep msg) {
    send(worker, msg, 0, msg.step(), msg.generation(), workers.headMap(worker).size(), "weights to " + worker);
  }

  /**
   * Sends through the injected network faults, whose decision is a pure function of the seed,
   * {@code direction}, the step, the generation and {@code key}.
   */
  private void send(String worker, WorkerProtocol.Command msg, int direction, long step, long gen, long key,
      String what) {
    MessageFaults.Decision d = settings.faults().decide(direction, step, gen, key);
    if (d instanceof MessageFaults.Drop) {
      injected("drop", what);
    } else if (d instanceof MessageFaults.Duplicate) {
      injected("duplicate", what);
      deliver(worker, msg);
      deliver(worker, msg);
    } else if (d instanceof MessageFaults.Delay delay) {
      injected("delay", what + " by " + delay.by().toMillis() + " ms");
      getContext().scheduleOnce(delay.by(), getContext().getSelf(), new DelayedSend(worker, stable(msg)));
    } else {
      deliver(worker, msg);
    }
  }

  /**
   * A message that stays as it is until it is serialised: a prefix is the running sum, which goes
   * on changing here, so it leaves as a copy unless it is encoded at once.
   */
  private static WorkerProtocol.Command stable(WorkerProtocol.Command msg) {
    return msg instanceof WorkerProtocol.FoldPrefix p ? new WorkerProtocol.FoldPrefix(p.runId(), p.generation(),
        p.step(), p.through(), p.prefix().copy(), p.lossSum(), p.samples()) : msg;
  }

  /** Sends over the worker's tensor link when it has one (encoded, so copied, at once), else over Artery. */
  private void deliver(String worker, WorkerProtocol.Command msg) {
    ActorRef<WorkerProtocol.Command> ref = workers.get(worker);
    if (ref == null || partitioned.contains(worker)) {
      return;
    }
    TensorLink link = links.of(worker);
    if (link == null) {
      ref.tell(stable(msg));
    } else if (msg instanceof WorkerProtocol.ComputeStep step) {
      link.send(LinkFrameProto.newBuilder().setCompute(ProtocolSerializer.encode(step, tensors(step.weights())))
          .build());
    } else if (msg instanceof WorkerProtocol.FoldPrefix prefix) {
      link.send(LinkFrameProto.newBuilder().setFoldPrefix(ProtocolSerializer.encode(prefix)).build());
    } else {
      ref.tell(msg);
    }
  }

  /** The weights encoded; those of the step under way once a step, shared by every worker's message. */
  private List<TensorProto> tensors(Parameters weights) {
    if (weights != snapshot) {
      return TensorCodec.encode(weights);
    }
    if (snapshotTensors == null) {
      snapshotTensors = TensorCodec.encode(snapshot);
    }
    return snapshotTensors;
  }

  /**
   * In a folded step, the worker whose shards start where the sum stops gets the sum so far. Each
   * prefix moves the sum on by one worker's shards, so each worker is handed one prefix a step.
   */
  private void relayPrefix() {
    int next = aggregator.folded();
    if (!folding || next == 0 || next >= run.state().config().shards()) {
      return;
    }
    for (Map.Entry<String, List<Integer>> e : assignment.entrySet()) {
      if (!e.getValue().isEmpty() && e.getValue().get(0) == next) {
        TrainingState s = run.state();
        send(e.getKey(), new WorkerProtocol.FoldPrefix(s.runId(), generation, s.step(), next - 1, aggregator.prefix(),
            aggregator.prefixLoss(), aggregator.prefixSamples()), 2, s.step(), generation, next - 1,
            "prefix through shard " + (next - 1) + " to " + e.getKey());
        return;
      }
    }
  }

  /** A tensor link said who it is: kept when it names a worker of this run and knows the secret. */
  private Behavior<Command> onLinkOpened(LinkOpened msg) {
    LinkHelloProto hello = msg.hello();
    String worker = hello.getWorkerId();
    if (phase == Phase.DONE || !workers.containsKey(worker) || !hello.getRunId().equals(run.state().runId())
        || !links.knowsSecret(hello)) {
      getContext().getLog().warn("Refused a tensor link from {} claiming worker [{}] of run [{}]", msg.link().peer(),
          worker, hello.getRunId());
      msg.link().close();
      return this;
    }
    links.adopt(worker, msg.link(), getContext().getSelf(), new LinkClosed(worker, msg.link()),
        getContext().getLog());
    getContext().getLog().info("Worker [{}] opened its tensor link from {}", worker, msg.link().peer());
    return this;
  }

  private Behavior<Command> onLinkClosed(LinkClosed msg) {
    if (links.ended(msg.workerId(), msg.link())) {
      getContext().getLog().info("Tensor link of worker [{}] closed; its tensors go over Artery", msg.workerId());
    }
    return this;
  }

  private static final String DEADLINE_TIMER = "step-deadline";
  private Parameters snapshot;
  /** Whether this generation's workers add up their blocks ({@link WorkerProtocol.ComputeStep#fold}). */
  private boolean folding;
  /** {@link #snapshot} encoded, once a step, when a tensor link needs it. */
  private List<TensorProto> snapshotTensors;

  /**
   * The step's results are late: the workers that still owe shards are suspended, and their
   * shards go to the others under a new generation, in the same step. Results already in stay:
   * a shard's value does not depend on who computed it.
   */
  private Behavior<Command> onStepDeadline(StepDeadline msg) {
    if (phase != Phase.TRAINING || msg.step() != run.state().step() || msg.generation() != generation) {
      return this;
    }
    List<String> late = new ArrayList<>();
    for (Map.Entry<String, List<Integer>> e : assignment.entrySet()) {
      for (int shard : e.getValue()) {
        // Folding, only the worker the sum waits for is late: the ones after it wait for it.
        boolean owed = folding ? shard == aggregator.folded() : missing(shard);
        if (owed && !late.contains(e.getKey())) {
          late.add(e.getKey());
        }
      }
    }
    getContext().getLog().warn("Step [{}] missed its deadline of {}: workers {} are late", msg.step(), deadline(),
        late);
    recoveredThisStep = true;
    for (String worker : late) {
      if (suspended.add(worker)) {
        int times = suspensions.merge(worker, 1, Integer::sum);
        askAgainAt.put(worker, msg.step() + ((long) SIT_OUT_STEPS << Math.min(times - 1, 10)));
      }
    }
    lostWorkers.addAll(late);
    recovered("deadline_missed", late + " after " + deadline().toMillis() + " ms");
    if (suspended.size() >= workers.size()) {
      // Nobody else to ask: ask everyone again, under a new generation.
      suspended.clear();
    }
    return reassignMissing();
  }

  /** Whether the step still needs shard {@code s}: neither added up nor in. */
  private boolean missing(int s) {
    return s >= aggregator.folded() && !slots.has(s);
  }

  /**
   * Gives every shard of the current step without a result to the active workers (new
   * generation), one result per shard: the sum so far stays.
   */
  private Behavior<Command> reassignMissing() {
    generation++;
    folding = false;
    assignShards();
    if (assignment.isEmpty()) {
      return pause();
    }
    List<String> names = new ArrayList<>(assignment.keySet());
    Map<String, List<Integer>> missing = new LinkedHashMap<>();
    int i = 0;
    for (int shard = 0; shard < run.state().config().shards(); shard++) {
      if (missing(shard)) {
        missing.computeIfAbsent(names.get(i++ % names.size()), k -> new ArrayList<>()).add(shard);
      }
    }
    TrainingState s = run.state();
    for (Map.Entry<String, List<Integer>> e : missing.entrySet()) {
      shardsReassigned += e.getValue().size();
      send(e.getKey(), new WorkerProtocol.ComputeStep(s.runId(), generation, s.step(), e.getValue(), snapshot));
    }
    getContext().getLog().info("Step [{}] generation [{}]: shards {} reassigned", s.step(), generation, missing);
    recovered("shards_reassigned", missing.toString());
    timers.startSingleTimer(DEADLINE_TIMER, new StepDeadline(s.step(), generation), deadline());
    return this;
  }

  /** A step result arrives: through the injected network faults first, keyed by its last shard. */
  private Behavior<Command> onResult(StepResult msg) {
    if (partitioned.contains(msg.workerId())) {
      return this;
    }
    MessageFaults.Decision d = settings.faults().decide(1, msg.step(), msg.generation(), msg.lastShard());
    if (d instanceof MessageFaults.Drop) {
      injected("drop", msg.describe());
      return this;
    }
    if (d instanceof MessageFaults.Duplicate) {
      injected("duplicate", msg.describe());
      // A prefix is taken over by the sum: the second copy needs its own.
      StepResult twin = msg instanceof PrefixComputed p ? p.copy() : msg;
      Behavior<Command> next = accept(msg);
      return next == this ? accept(twin) : next;
    }
    if (d instanceof MessageFaults.Delay delay) {
      injected("delay", msg.describe() + " by " + delay.by().toMillis() + " ms");
      getContext().scheduleOnce(delay.by(), getContext().getSelf(), new DelayedResult(msg));
      return this;
    }
    return accept(msg);
  }

  private Behavior<Command> accept(StepResult msg) {
    TrainingState s = run.state();
    if (phase == Phase.TRAINING && msg.runId().equals(s.runId()) && suspended.remove(msg.workerId())) {
      getContext().getLog().info("Worker [{}] answers again", msg.workerId());
    }
    if (phase != Phase.TRAINING || !msg.runId().equals(s.runId()) || msg.generation() != generation
        || msg.step() != s.step() || msg.lastShard() < 0 || msg.lastShard() >= s.config().shards()
        || !msg.sum().sameShape(s.params())) {
      rejectedStale++;
      if (phase == Phase.TRAINING) {
        recovered("stale_rejected", msg.describe() + " of step " + msg.step() + " generation " + msg.generation()
            + " from " + msg.workerId());
      }
      getContext().getLog().debug("Rejected {} of run [{}] generation [{}] step [{}]", msg.describe(), msg.runId(),
          msg.generation(), msg.step());
      return this;
    }
    boolean fresh = msg instanceof PrefixComputed p
        ? aggregator.offerPrefix(p.through(), p.prefix(), p.lossSum(), p.samples())
        : msg.lastShard() >= aggregator.folded() && slots.put((ShardComputed) msg);
    if (!fresh) {
      rejectedDuplicate++;
      recovered("duplicate_rejected", "second " + msg.describe() + " from " + msg.workerId());
      getContext().getLog().debug("Rejected a second {} of step [{}]", msg.describe(), msg.step());
      return this;
    }
    times.resultArrived(msg.workerId(), msg.computeNanos());
    return progressed();
  }

  /**
   * More of the step is in: add up what can be added, hand the prefix to the worker that
   * continues it, and apply the step once everything is in.
   */
  private Behavior<Command> progressed() {
    TrainingState s = run.state();
    aggregator.offer(slots, slots::has);
    if (!aggregator.complete(slots::has)) {
      relayPrefix();
      return this;
    }
    timers.cancel(DEADLINE_TIMER);
    // The next step's assignment: without the workers still suspended, with those that came back
    // or joined.
    assignShards();
    try {
      times.allArrived();
      aggregator.finish(s.step(), slots, slots::has, s.params(), s.optimizer());
      times.applied(recoveredThisStep);
      recoveredThisStep = false;
      run.stepApplied(aggregator.meanLoss(), aggregator.gradientNorm(), times.lastStepNanos(), times.lastStepMetrics());
      partitionIfScheduled(run.state().step());
      if (settings.scriptedFaultSteps().contains(run.state().step())) {
        run.event("fault", Map.of("kind", "scripted", "what", "a node fault scripted after this step"));
      }
    } catch (Exception e) {
      return fail(e);
    }
    if (run.done()) {
      return finish();
    }
    return ready.size() < settings.minWorkers() || assignment.isEmpty() ? pause() : sendStep();
  }

  private Behavior<Command> onWorkerLost(WorkerLost msg) {
    if (phase == Phase.WAITING) {
      workers.remove(msg.workerId());
      getContext().getLog().info("Worker [{}] left before the run started", msg.workerId());
      return this;
    }
    if (phase == Phase.DONE || workers.remove(msg.workerId()) == null) {
      return this;
    }
    lostWorkers.add(msg.workerId());
    suspended.remove(msg.workerId());
    links.drop(msg.workerId());
    ready.remove(msg.workerId());
    recoveredThisStep = true;
    getContext().getLog().warn("Worker [{}] lost at step [{}]; {} workers left", msg.workerId(), run.state().step(),
        workers.size());
    if (phase == Phase.TRAINING || phase == Phase.PAUSED) {
      recovered("worker_lost", msg.workerId());
    }
    if (phase == Phase.STARTING) {
      ready.remove(msg.workerId());
      return fail(new UserException("worker " + msg.workerId() + " left the cluster while the run was starting"));
    }
    if (ready.size() < settings.minWorkers()) {
      return pause();
    }
    return reassignMissing();
  }

  /** Too few workers: wait (bounded) for enough to be ready again, then finish this step. */
  private Behavior<Command> pause() {
    phase = Phase.PAUSED;
    timers.cancel(DEADLINE_TIMER);
    getContext().getLog().warn("Only {} workers ready, {} needed: waiting at step [{}] (at most {})", ready.size(),
        settings.minWorkers(), run.state().step(), settings.waitTimeout());
    timers.startSingleTimer(WAIT_TIMER, new WaitExpired(System.nanoTime()), settings.waitTimeout());
    return this;
  }

  private Behavior<Command> finish() {
    phase = Phase.DONE;
    try {
      Map<String, Object> distributed = times.summary();
      distributed.put("final_generation", generation);
      distributed.put("shard_assignment", assignment);
      distributed.put("tensor_links_opened", links.accepted());
      Map<String, Object> faults = new LinkedHashMap<>();
      long scripted = settings.scriptedFaultSteps().stream().filter(step -> step <= run.state().step()).count();
      faults.put("injected", faultsInjected + scripted);
      faults.put("workers_lost", (long) lostWorkers.size());
      faults.put("shards_reassigned", shardsReassigned);
      faults.put("stale_rejected", rejectedStale);
      faults.put("duplicates_rejected", rejectedDuplicate);
      RunSummary summary = run.finish(workers.size(), 1, distributed, faults);
      stopWorkers("finished");
      result.complete(summary);
    } catch (Exception e) {
      return fail(e);
    }
    return Behaviors.stopped();
  }

  private Behavior<Command> fail(Exception e) {
    phase = Phase.DONE;
    getContext().getLog().error("Run [{}] failed at step [{}]: {}", run.state().runId(), run.state().step(),
        e.getMessage());
    stopWorkers("failed: " + e.getMessage());
    result.completeExceptionally(e);
    return Behaviors.stopped();
  }

  private void stopWorkers(String reason) {
    for (ActorRef<WorkerProtocol.Command> w : workers.values()) {
      w.tell(new WorkerProtocol.StopRun(run.state().runId(), reason));
    }
  }

  /** The results of one step, one slot per shard, read back in shard order. */
  private static final class ShardSlots implements StepAggregator.ShardResults {
    private final ShardComputed[] results;
    private int filled;

    ShardSlots(int shards) {
      this.results = new ShardComputed[shards];
    }

    void clear() {
      java.util.Arrays.fill(results, null);
      filled = 0;
    }

    /** False when the shard already has a result. */
    boolean put(ShardComputed r) {
      if (results[r.shard()] != null) {
        return false;
      }
      results[r.shard()] = r;
      filled++;
      return true;
    }

    boolean has(int shard) {
      return results[shard] != null;
    }

    boolean filledAny() {
      return filled > 0;
    }

    @Override
    public Parameters gradient(int s) {
      return results[s].gradient();
    }

    @Override
    public double lossSum(int s) {
      return results[s].lossSum();
    }

    @Override
    public int samples(int s) {
      return results[s].samples();
    }
  }
}
