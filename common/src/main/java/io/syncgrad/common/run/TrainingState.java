package io.syncgrad.common.run;

import io.syncgrad.common.data.Normalization;
import io.syncgrad.common.model.ModelSpec;
import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.optim.Optimizer;

/**
 * Everything the next step needs: what a checkpoint holds. The epoch and the position inside it
 * follow from {@code step}, because the data order is a pure function of (seed, epoch).
 *
 * @param step   steps applied so far; the next step to compute
 * @param kernel identity of the kernel that produced the weights
 */
public record TrainingState(
    String runId,
    ModelSpec model,
    Normalization normalization,
    TrainingConfig config,
    Parameters params,
    Optimizer optimizer,
    long step,
    String kernel) {

  /** The epoch of the next step. */
  public long epoch() {
    return step / config.stepsPerEpoch();
  }

  /** The batch of the next step inside its epoch. */
  public long dataCursor() {
    return step % config.stepsPerEpoch();
  }

  /** The same state after more steps. */
  public TrainingState atStep(long newStep) {
    return new TrainingState(runId, model, normalization, config, params, optimizer, newStep, kernel);
  }
}
