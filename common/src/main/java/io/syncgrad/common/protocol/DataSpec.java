package io.syncgrad.common.protocol;

/**
 * Where the training data is, as the coordinator loaded it: a worker loads the same samples from
 * shared storage by the same arguments, then checks their fingerprint against the run's.
 *
 * @param data         an IDX folder or CSV file; null for the default data
 * @param testData     the test set's path, or null
 * @param testFraction the share of a CSV held out for testing
 * @param labelColumn  the CSV label column
 * @param seed         decides a held-out fraction
 */
public record DataSpec(String data, String testData, double testFraction, String labelColumn, long seed) {}
