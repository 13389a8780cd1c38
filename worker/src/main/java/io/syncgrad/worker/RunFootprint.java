package io.syncgrad.worker;

import io.syncgrad.common.data.ShardPlan;
import io.syncgrad.common.model.ModelSpec;
import io.syncgrad.common.protocol.WorkerProtocol.StartRun;
import io.syncgrad.common.run.TrainingConfig;

/**
 * The least memory a run takes on a worker, from what its {@link StartRun} claims: checked
 * against the heap before anything is allocated for the run, so that a run too large for this
 * node (or a message naming an absurd model) is refused with a reason instead of ending the node
 * with an OutOfMemoryError.
 *
 * <p>A lower bound, never an estimate that could refuse a run that fits: the weights, one
 * gradient, the optimiser's moments, one network's activations for a shard's rows, and the
 * training data when the coordinator ships it. Computed in doubles, so that no claim overflows.
 */
final class RunFootprint {

  private static final double MIB = 1 << 20;
  /** The longest array Java allocates. */
  private static final long MAX_ARRAY = Integer.MAX_VALUE - 8;

  private RunFootprint() {}

  /** The least bytes {@code run} takes on a worker. */
  static double minimumBytes(StartRun run) {
    ModelSpec m = run.model();
    TrainingConfig c = run.config();
    int moments = switch (c.optimizer()) {
      case SGD -> 0;
      case ADAM -> 2;
      default -> 1;
    };
    double tensors = (2.0 + moments) * parameters(m) * Float.BYTES;
    double units = 0;
    for (int l = 0; l < m.layerCount(); l++) {
      units += m.fanOut(l);
    }
    double rows = new ShardPlan(c.batchSize(), c.shards()).maxShardSize();
    // One network: its input rows, and each layer's outputs, derivatives and deltas.
    double activations = rows * (m.inputSize() + 3 * units) * Float.BYTES;
    double shipped = run.shipped() ? (double) c.trainExamples() * (m.inputSize() + 1.0) * Float.BYTES : 0;
    return tensors + activations + shipped;
  }

  /** {@link ModelSpec#parameterCount}, which a claimed model could overflow. */
  private static double parameters(ModelSpec m) {
    double n = 0;
    for (int l = 0; l < m.layerCount(); l++) {
      n += ((double) m.fanIn(l) + 1) * m.fanOut(l);
    }
    return n;
  }

  /**
   * Why {@code run} cannot be taken by a worker of {@code maxHeapBytes}, or null when it can.
   */
  static String problem(StartRun run, String workerId, long maxHeapBytes) {
    ModelSpec m = run.model();
    if (run.shipped() && (double) run.config().trainExamples() * m.inputSize() > MAX_ARRAY) {
      return "run " + run.runId() + " ships " + run.config().trainExamples() + " samples of " + m.inputSize()
          + " features to worker " + workerId + ", more than one array holds (" + MAX_ARRAY + " values)";
    }
    double need = minimumBytes(run);
    if (need <= maxHeapBytes) {
      return null;
    }
    return String.format(java.util.Locale.ROOT, "run %s needs at least %.0f MiB on worker %s (a model of %.0f "
        + "parameters, layers %s, with %s), more than its heap of %.0f MiB: give the worker more memory (-Xmx in "
        + "SYNCGRAD_JAVA_OPTS) or train a smaller model", run.runId(), need / MIB, workerId, parameters(m),
        m.layerSizes(), run.config().optimizer().label(), maxHeapBytes / MIB);
  }
}
