package io.syncgrad.worker;

import io.syncgrad.common.data.Dataset;
import io.syncgrad.common.data.Normalization;
import io.syncgrad.common.protocol.DataSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Where a worker gets the training samples of a run: loaded as the coordinator loaded them (for
 * the fingerprint check), then normalised with the run's statistics.
 *
 * <p>A worker process has its own copy and normalises it in place. The workers of one JVM (the
 * simulated cluster of {@code train --workers}) share one raw copy and one normalised copy, which
 * nobody writes after it is made: a simulation of eight workers on full Fashion-MNIST held nine
 * copies of its 188 MB of features, and the collector's pauses of over a second, with every node's
 * threads stopped, made the cluster's failure detector take nodes for dead.
 */
public interface TrainingSamples {

  /** The samples {@code spec} names, not yet normalised; a failure to read them is thrown. */
  Dataset load(DataSpec spec);

  /**
   * {@code raw} (as {@link #load} gave it) mapped by {@code normalization}: {@code raw}
   * itself, overwritten, or a copy that other workers share. Either way nobody writes the result's
   * features afterwards (the trainer copies the rows of each batch out of them).
   *
   * @throws IllegalArgumentException when the normalisation does not fit the data's width
   */
  Dataset normalized(Dataset raw, Normalization normalization);

  /** Each worker its own copy from {@code loader}, normalised in place. */
  static TrainingSamples ownCopy(Function<DataSpec, Dataset> loader) {
    return new TrainingSamples() {
      @Override
      public Dataset load(DataSpec spec) {
        return loader.apply(spec);
      }

      @Override
      public Dataset normalized(Dataset raw, Normalization normalization) {
        normalization.applyInPlace(raw);
        return raw;
      }
    };
  }

  /**
   * One copy from {@code loader} for all the workers of this JVM, and one normalised copy per set
   * of statistics, both shared by reference (a load that fails is not kept: each worker tries and
   * reports it).
   */
  static TrainingSamples sharedInProcess(Function<DataSpec, Dataset> loader) {
    return new Shared(loader);
  }

  /** The samples that the workers of one JVM share. */
  final class Shared implements TrainingSamples {
    private final Function<DataSpec, Dataset> loader;
    private final Map<DataSpec, Dataset> raw = new HashMap<>();
    private final List<Normalized> normalized = new ArrayList<>();

    private record Normalized(Dataset raw, Normalization normalization, Dataset data) {
      boolean of(Dataset r, Normalization n) {
        return raw == r && normalization.kind() == n.kind() && Arrays.equals(normalization.offset(), n.offset())
            && Arrays.equals(normalization.factor(), n.factor());
      }
    }

    private Shared(Function<DataSpec, Dataset> loader) {
      this.loader = loader;
    }

    @Override
    public synchronized Dataset load(DataSpec spec) {
      return raw.computeIfAbsent(spec, loader);
    }

    @Override
    public synchronized Dataset normalized(Dataset data, Normalization normalization) {
      // Refused before anything the size of the data is copied.
      normalization.checkFits(data.width());
      if (normalization.kind() == Normalization.Kind.NONE) {
        return data;
      }
      for (Normalized n : normalized) {
        if (n.of(data, normalization)) {
          return n.data();
        }
      }
      Dataset copy = new Dataset(data.source(), data.features().clone(), data.labels().clone(), data.size(),
          data.width(), data.byteValued());
      normalization.applyInPlace(copy);
      normalized.add(new Normalized(data, normalization, copy));
      return copy;
    }
  }
}
