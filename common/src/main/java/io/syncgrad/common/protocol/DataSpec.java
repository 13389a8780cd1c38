package io.syncgrad.common.protocol;

import io.syncgrad.common.config.TrainSettings;
import io.syncgrad.common.data.DataSources;

/**
 * Where the training data is, as the coordinator loaded it: a worker loads the same samples from
 * shared storage by the same arguments, then checks their fingerprint against the run's.
 *
 * @param data               an IDX folder or CSV file; null for the default data
 * @param testData           the test set's path, or null
 * @param testFraction       the share of a CSV held out for testing
 * @param validationFraction the share of the training set held out for validation
 * @param labelColumn        the CSV label column
 * @param seed               decides the held-out samples
 */
public record DataSpec(String data, String testData, double testFraction, double validationFraction,
    String labelColumn, long seed) {

  /** Loads the data sets this names. */
  public DataSources.TrainTest load() {
    return DataSources.load(data, testData, testFraction, validationFraction, labelColumn, seed);
  }

  /** The data a run's settings name. */
  public static DataSpec of(TrainSettings s) {
    return new DataSpec(s.data(), s.testData(), s.testFraction(), s.validationFraction(), s.labelColumn(), s.seed());
  }
}
