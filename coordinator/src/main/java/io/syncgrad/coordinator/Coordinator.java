package io.syncgrad.coordinator;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.receptionist.Receptionist;
import io.syncgrad.common.error.UserException;
import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.protocol.CoordinatorProtocol.Command;
import io.syncgrad.common.protocol.CoordinatorProtocol.Internal;
import io.syncgrad.common.protocol.CoordinatorProtocol.RegisterWorker;
import io.syncgrad.common.protocol.CoordinatorProtocol.ShardComputed;
import io.syncgrad.common.protocol.CoordinatorProtocol.WorkerFailed;
import io.syncgrad.common.protocol.CoordinatorProtocol.WorkerReady;
import io.syncgrad.common.protocol.CoordinatorProtocol;
import io.syncgrad.common.protocol.WorkerProtocol;
import io.syncgrad.common.train.RunSummary;
import io.syncgrad.common.train.StepAggregator;
import io.syncgrad.common.train.TrainingRun;
import io.syncgrad.common.train.TrainingState;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

/**
 * The coordinator of a run: waits for its workers, assigns them the virtual shards, and drives
 * the steps. Each step it sends the weights to every worker, collects exactly one result per
 * shard (anything of another run, generation or step, or a second result for a shard, is
 * rejected and counted), adds the shard sums <em>in shard order</em> with the same
 * {@link StepAggregator} as the one-node trainer, and lets the {@link TrainingRun} record the
 * step. So the bytes are those of a one-node run, whatever the number of workers.
 */
public final class Coordinator extends AbstractBehavior<Command> {

  private record WorkerLost(String workerId) implements Internal {}

  private enum Phase { WAITING, STARTING, TRAINING, DONE }

  private final TrainingRun run;
  private final CoordinatorSettings settings;
  private final CompletableFuture<RunSummary> result;
  private final TreeMap<String, ActorRef<WorkerProtocol.Command>> workers = new TreeMap<>();
  private final Map<String, List<Integer>> assignment = new LinkedHashMap<>();
  private final List<String> ready = new ArrayList<>();
  private final StepAggregator aggregator;
  private final ShardSlots slots;
  private final StepTimes times;
  private final long generation = 1;
  private String kernel;
  private Phase phase = Phase.WAITING;
  private long rejectedStale;
  private long rejectedDuplicate;

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
      ctx.getSystem().receptionist().tell(Receptionist.register(CoordinatorProtocol.SERVICE_KEY, ctx.getSelf()));
      ctx.getLog().info("Coordinator of run [{}] waiting for {} workers", run.state().runId(), settings.workers());
      return new Coordinator(ctx, run, settings, result);
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

  private Coordinator(ActorContext<Command> ctx, TrainingRun run, CoordinatorSettings settings,
      CompletableFuture<RunSummary> result) {
    super(ctx);
    this.run = run;
    this.settings = settings;
    this.result = result;
    TrainingState state = run.state();
    this.aggregator = new StepAggregator(state.config(), state.params());
    this.slots = new ShardSlots(state.config().shards());
    this.times = new StepTimes();
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(RegisterWorker.class, this::onRegisterWorker)
        .onMessage(WorkerReady.class, this::onWorkerReady)
        .onMessage(WorkerFailed.class, this::onWorkerFailed)
        .onMessage(ShardComputed.class, this::onShardComputed)
        .onMessage(WorkerLost.class, this::onWorkerLost)
        .build();
  }

  private Behavior<Command> onRegisterWorker(RegisterWorker msg) {
    if (phase != Phase.WAITING) {
      getContext().getLog().info("Worker [{}] registered after the run started; it is not used", msg.workerId());
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
    if (workers.size() == settings.workers()) {
      phase = Phase.STARTING;
      TrainingState s = run.state();
      for (ActorRef<WorkerProtocol.Command> w : workers.values()) {
        w.tell(new WorkerProtocol.StartRun(s.runId(), s.model(), s.config(), s.normalization(), settings.data(),
            getContext().getSelf()));
      }
    }
    return this;
  }

  private Behavior<Command> onWorkerReady(WorkerReady msg) {
    if (phase != Phase.STARTING || !msg.runId().equals(run.state().runId()) || ready.contains(msg.workerId())) {
      return this;
    }
    ready.add(msg.workerId());
    if (ready.size() < workers.size()) {
      return this;
    }
    // Shard s goes to the (s mod W)-th worker in name order: fixed, so reproducible to read.
    List<String> names = new ArrayList<>(workers.keySet());
    for (String name : names) {
      assignment.put(name, new ArrayList<>());
    }
    for (int s = 0; s < run.state().config().shards(); s++) {
      assignment.get(names.get(s % names.size())).add(s);
    }
    getContext().getLog().info("Training with {} workers, shards {}", names.size(), assignment);
    phase = Phase.TRAINING;
    run.start();
    return run.done() ? finish() : sendStep();
  }

  private Behavior<Command> onWorkerFailed(WorkerFailed msg) {
    return fail(new UserException(msg.reason()));
  }

  private Behavior<Command> sendStep() {
    TrainingState s = run.state();
    // One snapshot for every worker: the weights change only after all results are in, but a
    // message may still be in flight then.
    Parameters snapshot = s.params().copy();
    slots.clear();
    times.stepSent();
    for (Map.Entry<String, List<Integer>> e : assignment.entrySet()) {
      workers.get(e.getKey()).tell(new WorkerProtocol.ComputeStep(s.runId(), generation, s.step(), e.getValue(),
          snapshot));
    }
    return this;
  }

  private Behavior<Command> onShardComputed(ShardComputed msg) {
    TrainingState s = run.state();
    if (phase != Phase.TRAINING || !msg.runId().equals(s.runId()) || msg.generation() != generation
        || msg.step() != s.step() || msg.shard() < 0 || msg.shard() >= s.config().shards()
        || !msg.gradient().sameShape(s.params())) {
      rejectedStale++;
      getContext().getLog().debug("Rejected result of run [{}] generation [{}] step [{}] shard [{}]", msg.runId(),
          msg.generation(), msg.step(), msg.shard());
      return this;
    }
    if (!slots.put(msg)) {
      rejectedDuplicate++;
      getContext().getLog().debug("Rejected a second result for step [{}] shard [{}]", msg.step(), msg.shard());
      return this;
    }
    times.resultArrived(msg.workerId(), msg.computeNanos());
    if (!slots.complete()) {
      return this;
    }
    try {
      times.allArrived();
      aggregator.apply(s.step(), slots, s.params(), s.optimizer());
      times.applied();
      run.stepApplied(aggregator.meanLoss(), aggregator.gradientNorm(), times.lastStepNanos(), times.lastStepMetrics());
    } catch (Exception e) {
      return fail(e);
    }
    return run.done() ? finish() : sendStep();
  }

  private Behavior<Command> onWorkerLost(WorkerLost msg) {
    if (phase == Phase.WAITING) {
      workers.remove(msg.workerId());
      getContext().getLog().info("Worker [{}] left before the run started", msg.workerId());
      return this;
    }
    if (phase == Phase.DONE) {
      return this;
    }
    return fail(new UserException("worker " + msg.workerId() + " left the cluster at step " + run.state().step()
        + "; this build stops the run rather than continue without it"));
  }

  private Behavior<Command> finish() {
    phase = Phase.DONE;
    try {
      Map<String, Object> distributed = times.summary();
      distributed.put("rejected_stale", rejectedStale);
      distributed.put("rejected_duplicate", rejectedDuplicate);
      distributed.put("shard_assignment", assignment);
      RunSummary summary = run.finish(workers.size(), 1, distributed);
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

    boolean complete() {
      return filled == results.length;
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
