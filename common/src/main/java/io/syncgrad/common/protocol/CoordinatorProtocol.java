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
  public sealed interface Command permits RegisterWorker, WorkerReady, WorkerFailed, ShardComputed, Internal {}

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
      double lossSum, String workerId, long computeNanos) implements Command, WireMessage {}
}
