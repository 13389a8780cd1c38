package io.syncgrad.common.train;

/**
 * What {@code summary.json} says about a finished run. Field names become snake_case keys.
 *
 * @param weightsSha256    the weights hash: equal hashes, equal weights
 * @param epochs           epochs trained, fractional when the run stopped inside one
 * @param samplesPerSecond training samples per second of training time (evaluation excluded)
 * @param resumedFromStep  the checkpoint step this process started from; 0 for a fresh run
 * @param distributed      what a cluster run adds: per-worker times, the slowest worker, the
 *                         split of a step's time; absent for a one-node run
 * @param validation       with a validation set: its final loss and accuracy, the best step and
 *                         its loss (the model in {@code best.pb}), and whether the run stopped early
 * @param settings         every setting of the run, as the configuration keys name them
 * @param faults           faults injected and recoveries: {@code injected}, {@code workers_lost},
 *                         {@code shards_reassigned}, {@code stale_rejected},
 *                         {@code duplicates_rejected}, {@code resumes}
 */
public record RunSummary(
    String weightsSha256,
    double testAccuracy,
    double testLoss,
    long steps,
    double epochs,
    int workers,
    int shards,
    int batchSize,
    int threads,
    double samplesPerSecond,
    double wallSeconds,
    double trainSeconds,
    String kernel,
    long seed,
    String model,
    long parameters,
    String data,
    int trainExamples,
    int testExamples,
    long resumedFromStep,
    String runId,
    String out,
    @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_EMPTY)
    java.util.Map<String, Object> distributed,
    @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_EMPTY)
    java.util.Map<String, Object> validation,
    java.util.Map<String, Object> faults,
    java.util.Map<String, Object> settings) {}
