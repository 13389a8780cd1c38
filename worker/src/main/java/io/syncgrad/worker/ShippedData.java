package io.syncgrad.worker;

import io.syncgrad.common.data.Dataset;
import io.syncgrad.common.protocol.WorkerProtocol.DataChunk;
import io.syncgrad.common.protocol.WorkerProtocol.StartRun;

/**
 * The training data of a run whose coordinator ships it (the worker's node has no copy), as it
 * arrives in chunks: each chunk is checked to fit the run's rows before it is copied in, and the
 * whole is checked against the fingerprint the coordinator sent once the last chunk is in.
 */
final class ShippedData {
  private final StartRun run;
  private final int width;
  private final float[] features;
  private final int[] labels;
  private int chunksReceived;

  /** Space for {@code run}'s samples; its size was checked against the heap before. */
  ShippedData(StartRun run) {
    this.run = run;
    this.width = run.model().inputSize();
    this.features = new float[(int) run.config().trainExamples() * width];
    this.labels = new int[(int) run.config().trainExamples()];
  }

  /** The run the data is for. */
  StartRun run() {
    return run;
  }

  /** Whether {@code chunk} belongs to this run and lies inside its rows. */
  boolean fits(DataChunk chunk) {
    return chunk.runId().equals(run.runId()) && chunk.width() == width && chunk.firstRow() >= 0
        && (long) chunk.firstRow() + chunk.labels().length <= labels.length;
  }

  /**
   * Copies in a chunk that {@linkplain #fits fits}.
   *
   * @return whether every chunk is in
   */
  boolean offer(DataChunk chunk) {
    System.arraycopy(chunk.features(), 0, features, chunk.firstRow() * width, chunk.features().length);
    System.arraycopy(chunk.labels(), 0, labels, chunk.firstRow(), chunk.labels().length);
    return ++chunksReceived >= chunk.total();
  }

  /** The samples, once every chunk is in. */
  Dataset dataset() {
    return new Dataset("shipped by the coordinator", features, labels, labels.length, width, false);
  }

  /** Whether the samples are those the coordinator sent: their fingerprint is the one it announced. */
  boolean intact(Dataset data) {
    return data.fingerprint().equals(run.shippedFingerprint());
  }
}
