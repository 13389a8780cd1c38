package io.syncgrad.common.protocol;

import akka.actor.typed.ActorRef;
import akka.actor.typed.receptionist.ServiceKey;
import java.util.List;

/**
 * What the coordinator hears from workers: registrations, readiness, how far each one is when a
 * generation forms, and a report of every step applied. Nothing here carries tensors.
 *
 * <p>Everything but {@link RegisterWorker} is sealed with the key of the worker it names
 * ({@link MessageSeals}): the coordinator hears a worker's readiness, failures and reports from
 * that worker only.
 */
public final class CoordinatorProtocol {

  private CoordinatorProtocol() {}

  /** How workers find the coordinator through the receptionist. */
  public static final ServiceKey<Command> SERVICE_KEY = ServiceKey.create(Command.class, "syncgrad-coordinator");

  /** Every message the coordinator handles. */
  public sealed interface Command permits RegisterWorker, WorkerReady, WorkerFailed, Prepared, StepReport,
      StepReports, Internal {}

  /** The coordinator's own private messages (timers, adapters, DeathWatch, link frames). */
  public non-sealed interface Internal extends Command {}

  /**
   * A worker offers itself.
   *
   * @param kernel       the worker's kernel identity: workers with other kernels would give other bytes
   * @param peerEndpoint where its peers open their links to it, {@code host:port}
   */
  public record RegisterWorker(String workerId, ActorRef<WorkerProtocol.Command> worker, String kernel,
      String peerEndpoint) implements Command, WireMessage {}

  /** The worker loaded and checked the data of {@code runId} and holds the state to start from. */
  public record WorkerReady(String runId, String workerId, long appliedStep) implements Command, BoundToWorker {}

  /** The worker cannot take part in {@code runId}, and says why. */
  public record WorkerFailed(String runId, String workerId, String reason) implements Command, BoundToWorker {}

  /** The worker stopped for {@code generation}, having applied {@code appliedStep} steps. */
  public record Prepared(String runId, long generation, String workerId, long appliedStep)
      implements Command, BoundToWorker {}

  /**
   * A step the worker applied, with what it gave and the worker's cumulative counters.
   *
   * @param lossSum     over every shard of the step, in shard order (every worker knows them all)
   * @param diverged    non-empty: the step's gradient was not finite and nothing was applied
   * @param faultEvents the faults its links injected since its last report
   * @param suspect     with {@code diverged}: the worker whose result first brought non-finite
   *                    values in, as this worker saw it (itself, or a peer); empty when every
   *                    input was finite and the sum or the update overflowed
   */
  public record StepReport(String runId, long generation, long step, String workerId, double lossSum, long samples,
      double gradientNorm, long computeNanos, long stepNanos, long sentBytes, long receivedBytes,
      long faultsInjected, long duplicatesRejected, long staleRejected, long retries, List<String> faultEvents,
      String diverged, String suspect) implements Command, BoundToWorker {
    public StepReport {
      faultEvents = List.copyOf(faultEvents);
    }
  }

  /**
   * Several steps' reports at once, oldest first: a worker sends one message every few steps
   * instead of one a step, which a busy node feels.
   */
  public record StepReports(List<StepReport> reports) implements Command, BoundToWorker {
    /** @throws IllegalArgumentException when there are none, or they are of several workers */
    public StepReports {
      reports = List.copyOf(reports);
      if (reports.isEmpty()) {
        throw new IllegalArgumentException("no reports");
      }
      String worker = reports.get(0).workerId();
      for (StepReport r : reports) {
        if (!r.workerId().equals(worker)) {
          throw new IllegalArgumentException("reports of workers " + worker + " and " + r.workerId()
              + " in one message");
        }
      }
    }

    /** The one worker whose reports these are. */
    @Override
    public String workerId() {
      return reports.get(0).workerId();
    }
  }
}
