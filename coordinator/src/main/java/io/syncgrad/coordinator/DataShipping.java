package io.syncgrad.coordinator;

import akka.actor.typed.ActorRef;
import io.syncgrad.common.data.Dataset;
import io.syncgrad.common.protocol.WorkerProtocol;
import io.syncgrad.common.train.TrainingRun;
import java.util.Arrays;

/** {@code --ship-data}: the coordinator sends a worker the normalised training data in chunks. */
final class DataShipping {

  /** Floats per data chunk: 4 MiB messages, well inside the frame. */
  private static final int CHUNK_FLOATS = 1 << 20;

  private DataShipping() {}

  static void ship(TrainingRun run, ActorRef<WorkerProtocol.Command> worker) {
    Dataset train = run.train();
    int width = train.width();
    int rowsPerChunk = Math.max(1, CHUNK_FLOATS / width);
    int total = (train.size() + rowsPerChunk - 1) / rowsPerChunk;
    for (int i = 0; i < total; i++) {
      int from = i * rowsPerChunk;
      int to = Math.min(train.size(), from + rowsPerChunk);
      worker.tell(new WorkerProtocol.DataChunk(run.state().runId(), i, total, from, width,
          Arrays.copyOfRange(train.features(), from * width, to * width), Arrays.copyOfRange(train.labels(), from, to)));
    }
  }
}
