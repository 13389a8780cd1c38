package io.syncgrad.common.protocol;

import akka.actor.typed.ActorRef;
import io.syncgrad.common.data.Normalization;
import io.syncgrad.common.model.ModelSpec;
import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.train.TrainingConfig;
import java.util.List;

/** What a worker is told: prepare for a run, compute shards of a step, stop. */
public final class WorkerProtocol {

  private WorkerProtocol() {}

  /** Every message a worker handles. */
  public sealed interface Command permits StartRun, DataChunk, ComputeStep, FoldPrefix, StopRun, Internal {}

  /** The worker's own private messages (receptionist listings, timers). */
  public non-sealed interface Internal extends Command {}

  /**
   * Prepare for a run: load the data, normalise it as the coordinator did, build the model.
   * Answered with {@link CoordinatorProtocol.WorkerReady} or {@link CoordinatorProtocol.WorkerFailed}.
   *
   * @param shippedFingerprint non-empty when the coordinator ships the data in {@link DataChunk}s
   * @param tensorLink         {@code host:port} where the worker opens its tensor link for the
   *                           weights and gradients; empty to receive and send them over Artery
   * @param linkToken          the run's secret that the worker presents on its tensor link
   */
  public record StartRun(String runId, ModelSpec model, TrainingConfig config, Normalization normalization,
      DataSpec data, ActorRef<CoordinatorProtocol.Command> coordinator, String shippedFingerprint,
      String tensorLink, String linkToken) implements Command, WireMessage {

    /** A run whose workers read the data themselves, with tensors over Artery. */
    public StartRun(String runId, ModelSpec model, TrainingConfig config, Normalization normalization, DataSpec data,
        ActorRef<CoordinatorProtocol.Command> coordinator) {
      this(runId, model, config, normalization, data, coordinator, "");
    }

    /** A run with tensors over Artery. */
    public StartRun(String runId, ModelSpec model, TrainingConfig config, Normalization normalization, DataSpec data,
        ActorRef<CoordinatorProtocol.Command> coordinator, String shippedFingerprint) {
      this(runId, model, config, normalization, data, coordinator, shippedFingerprint, "", "");
    }

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
   * Compute {@code shards} of {@code step} with {@code weights}: one
   * {@link CoordinatorProtocol.ShardComputed} per shard, or, with {@code fold}, one
   * {@link CoordinatorProtocol.PrefixComputed} for them all.
   *
   * @param weights a snapshot nobody modifies: it may still be in flight
   * @param fold    the shards are consecutive; add them up, continuing the prefix of the shards
   *                before them ({@link FoldPrefix}) unless they start at shard 0
   */
  public record ComputeStep(String runId, long generation, long step, List<Integer> shards, Parameters weights,
      boolean fold) implements Command, WireMessage {
    public ComputeStep {
      shards = List.copyOf(shards);
    }

    /** One result per shard. */
    public ComputeStep(String runId, long generation, long step, List<Integer> shards, Parameters weights) {
      this(runId, generation, step, shards, weights, false);
    }
  }

  /**
   * The sum of shards 0..{@code through} of a step, in shard order, for the worker whose folded
   * shards come next: it adds its own and sends the longer prefix on.
   *
   * @param prefix nobody modifies it: it may still be in flight
   */
  public record FoldPrefix(String runId, long generation, long step, int through, Parameters prefix, double lossSum,
      long samples) implements Command, WireMessage {}

  /** The run is over; the worker's node may leave the cluster. */
  public record StopRun(String runId, String reason) implements Command, WireMessage {}
}
