package io.syncgrad.coordinator;

import io.syncgrad.common.protocol.DataSpec;
import java.time.Duration;

/**
 * How the coordinator runs a cluster.
 *
 * @param workers           workers to wait for before the run starts
 * @param data              where workers find the training data
 * @param allowMixedKernels accept workers whose kernel differs from the first one's (their
 *                          bytes differ, so the result is no longer reproducible)
 * @param stepTimeout       how long a step may wait for a worker's results before its missing
 *                          shards are given to the other workers
 */
public record CoordinatorSettings(int workers, DataSpec data, boolean allowMixedKernels, Duration stepTimeout) {

  /** The step deadline when none is given: generous for a laptop, short enough not to look hung. */
  public static final Duration DEFAULT_STEP_TIMEOUT = Duration.ofSeconds(30);

  /** Settings with the default step deadline. */
  public CoordinatorSettings(int workers, DataSpec data, boolean allowMixedKernels) {
    this(workers, data, allowMixedKernels, DEFAULT_STEP_TIMEOUT);
  }
}
