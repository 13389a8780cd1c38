package io.syncgrad.coordinator;

import io.syncgrad.common.protocol.DataSpec;

/**
 * How the coordinator runs a cluster.
 *
 * @param workers           workers to wait for before the run starts
 * @param data              where workers find the training data
 * @param allowMixedKernels accept workers whose kernel differs from the first one's (their
 *                          bytes differ, so the result is no longer reproducible)
 */
public record CoordinatorSettings(int workers, DataSpec data, boolean allowMixedKernels) {}
