package io.syncgrad.common.protocol;

import akka.actor.typed.ActorRef;
import io.syncgrad.common.data.Normalization;
import io.syncgrad.common.model.ModelSpec;
import io.syncgrad.common.run.TrainingConfig;
import io.syncgrad.common.transport.LinkFaults;
import java.util.List;

/**
 * What a worker is told by the coordinator: prepare for a run, form a generation, go on stepping,
 * stop. None of it carries tensors: the weights and gradients travel between the workers on their
 * peer links, and a worker's whole state on its link to the coordinator.
 *
 * <p>Every order after {@link StartRun} names the worker it is for ({@code workerId}): that
 * worker's key seals it on the wire ({@link MessageSeals}), so only the coordinator that started
 * the worker's run can give it orders, and the worker ignores an order for another worker.
 */
public final class WorkerProtocol {

  private WorkerProtocol() {}

  /** Every message a worker handles. */
  public sealed interface Command permits StartRun, DataChunk, Prepare, Go, Credit, StopRun, Internal {}

  /** The worker's own private messages (receptionist listings, link frames, timers). */
  public non-sealed interface Internal extends Command {}

  /**
   * Prepare for a run: load the data, normalise it as the coordinator did, open the link to the
   * coordinator and receive the state to start from on it. Answered with
   * {@link CoordinatorProtocol.WorkerReady} or {@link CoordinatorProtocol.WorkerFailed}.
   *
   * @param shippedFingerprint non-empty when the coordinator ships the data in {@link DataChunk}s
   * @param tensorLink         {@code host:port} of the coordinator's link server
   * @param linkToken          the key (hex) that this worker, and no other, proves that link with
   * @param totalSteps         the run ends after this step
   * @param faults             the message faults the worker's peer links inject
   * @param window             how many steps a worker may run ahead of the coordinator's record
   * @param auditFraction      the share of members' blocks a step whose results another member
   *                           computes again and compares bit for bit ({@code --audit-fraction})
   */
  public record StartRun(String runId, ModelSpec model, TrainingConfig config, Normalization normalization,
      DataSpec data, ActorRef<CoordinatorProtocol.Command> coordinator, String shippedFingerprint,
      String tensorLink, String linkToken, long totalSteps, LinkFaults faults, int window, double auditFraction)
      implements Command, WireMessage {

    /** Whether the coordinator ships the data in {@link DataChunk}s instead. */
    public boolean shipped() {
      return !shippedFingerprint.isEmpty();
    }
  }

  /**
   * Rows {@code [firstRow, firstRow + labels.length)} of the normalised training data, for a
   * worker that has no copy of its own ({@code --ship-data}).
   *
   * @param features rows×width values, row-major
   */
  public record DataChunk(String runId, int index, int total, int firstRow, int width, float[] features, int[] labels)
      implements Command, WireMessage {}

  /**
   * A new generation is being formed: stop stepping, drop what is under way, send again the
   * reports kept of the steps after {@code recordedStep} (the member that sent them may be gone),
   * and answer {@link CoordinatorProtocol.Prepared} with the steps applied so far.
   */
  public record Prepare(String runId, String workerId, long generation, long recordedStep)
      implements Command, BoundToWorker {}

  /**
   * One member of a generation.
   *
   * @param endpoint   its peer link server, {@code host:port}
   * @param firstShard its block of shards {@code [firstShard, endShard)}
   * @param pairKey    the key that the recipient of the {@link Go} and this member share
   */
  public record Member(String workerId, String endpoint, int firstShard, int endShard, long appliedStep,
      byte[] pairKey) {}

  /**
   * After step {@code afterStep}, worker {@code workerId} drops every peer frame for {@code millis}.
   */
  public record Partition(String workerId, long afterStep, long millis) {}

  /**
   * Worker {@code workerId} sends wrong partial sums for step {@code step}, NaN or (when
   * {@code finite}) finite garbage: an injected fault.
   */
  public record Corruption(String workerId, long step, boolean finite) {}

  /**
   * The generation is formed. Members that applied fewer than {@code startStep} steps receive the
   * state of {@code startStep} from {@code stateSource}; then every member steps on.
   *
   * @param members        in rank order: member c owns chunk c of the parameters
   * @param creditStep     steps up to this one may be applied
   * @param snapshotStep   the rank-0 member sends the coordinator its state when it applies this step
   * @param resendSnapshot the state source sends its state at {@code startStep} to the coordinator
   */
  public record Go(String runId, String workerId, long generation, List<Member> members, long startStep, String stateSource,
      long creditStep, long snapshotStep, boolean resendSnapshot, List<Partition> partitions,
      List<Corruption> corruptions) implements Command, BoundToWorker {
    public Go {
      members = List.copyOf(members);
      partitions = List.copyOf(partitions);
      corruptions = List.copyOf(corruptions);
    }
  }

  /** Steps up to {@code throughStep} may be applied; the state after {@code snapshotStep} is wanted. */
  public record Credit(String runId, String workerId, long generation, long throughStep, long snapshotStep)
      implements Command, BoundToWorker {}

  /** The run is over; the worker's node may leave the cluster. */
  public record StopRun(String runId, String workerId, String reason) implements Command, BoundToWorker {}
}
