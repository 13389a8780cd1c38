package io.syncgrad.common.run;

import io.syncgrad.common.model.Initializer;
import io.syncgrad.common.optim.LearningRateSchedule;
import io.syncgrad.common.optim.Optimizer;

/**
 * The hyper-parameters that decide the bytes of the weights. They travel with every checkpoint,
 * and a resumed run takes them from there, so it continues exactly the run that wrote it.
 *
 * @param seed            the run's seed: initial weights, data order, dropout masks
 * @param batchSize       samples per step, over all shards
 * @param shards          virtual shards per step: fixes the summation order
 * @param optimizer       the update rule
 * @param schedule        the learning rate per step
 * @param trainExamples   training samples, for the epoch length
 * @param dataFingerprint digest of the training data, to refuse resuming on other data
 */
public record TrainingConfig(
    long seed,
    int batchSize,
    int shards,
    Optimizer.Kind optimizer,
    double momentum,
    double beta1,
    double beta2,
    double epsilon,
    double l1,
    double l2,
    double clipNorm,
    LearningRateSchedule schedule,
    Initializer init,
    long trainExamples,
    String dataFingerprint) {

  /** Steps in one epoch: full batches only. */
  public long stepsPerEpoch() {
    return trainExamples / batchSize;
  }

  /** A fresh optimiser for parameters shaped like {@code shape}. */
  public Optimizer newOptimizer(io.syncgrad.common.model.Parameters shape) {
    return new Optimizer(optimizer, momentum, beta1, beta2, epsilon, shape);
  }
}
