package io.syncgrad.common.protocol;

import akka.actor.typed.ActorRef;
import akka.actor.typed.receptionist.ServiceKey;
import io.syncgrad.common.model.Parameters;

/** What the coordinator hears from workers: registrations, readiness and shard results. */
public final class CoordinatorProtocol {

  private CoordinatorProtocol() {}

  /** How workers find the coordinator through the receptionist. */
  public static final ServiceKey<Command> SERVICE_KEY = ServiceKey.create(Command.class, "syncgrad-coordinator");

  /** Every message the coordinator handles. */
  public sealed interface Command permits RegisterWorker, WorkerReady, WorkerFailed, StepResult, Internal {}

  /** A worker's answer to a step: one shard's sum, or the sum of the shards up to one. */
  public sealed interface StepResult extends Command permits ShardComputed, PrefixComputed {
    String runId();

    long generation();

    long step();

    /** The last shard the result covers. */
    int lastShard();

    /** The gradient it carries. */
    Parameters sum();

    String workerId();

    long computeNanos();

    /** What it is, for messages. */
    default String describe() {
      return (this instanceof PrefixComputed ? "prefix through shard " : "gradient of shard ") + lastShard();
    }
  }

  /** The coordinator's own private messages (timers, adapters, DeathWatch). */
  public non-sealed interface Internal extends Command {}

  /**
   * A worker offers itself.
   *
   * @param kernel the worker's kernel identity: workers with other kernels would give other bytes
   */
  public record RegisterWorker(String workerId, ActorRef<WorkerProtocol.Command> worker, String kernel, int threads)
      implements Command, WireMessage {}

  /** The worker loaded and checked the data of {@code runId}. */
  public record WorkerReady(String runId, String workerId) implements Command, WireMessage {}

  /** The worker cannot take part in {@code runId}, and says why. */
  public record WorkerFailed(String runId, String workerId, String reason) implements Command, WireMessage {}

  /**
   * The gradient sum of one shard at one step, keyed by (run, generation, step, shard).
   *
   * @param gradient     a snapshot nobody modifies: it may still be in flight
   * @param computeNanos how long the worker computed this shard
   */
  public record ShardComputed(String runId, long generation, long step, int shard, Parameters gradient, int samples,
      double lossSum, String workerId, long computeNanos) implements StepResult, WireMessage {

    @Override
    public int lastShard() {
      return shard;
    }

    @Override
    public Parameters sum() {
      return gradient;
    }
  }

  /**
   * The sum of shards 0..{@code through} of a step, in shard order, from a worker that added up
   * its consecutive shards onto the prefix before them.
   */
  public record PrefixComputed(String runId, long generation, long step, int through, Parameters prefix,
      double lossSum, long samples, String workerId, long computeNanos) implements StepResult, WireMessage {

    @Override
    public int lastShard() {
      return through;
    }

    @Override
    public Parameters sum() {
      return prefix;
    }

    /** The same with a prefix of its own, for whoever takes over and modifies the prefix. */
    public PrefixComputed copy() {
      return new PrefixComputed(runId, generation, step, through, prefix.copy(), lossSum, samples, workerId,
          computeNanos);
    }
  }
}
