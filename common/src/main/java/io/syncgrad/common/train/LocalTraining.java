package io.syncgrad.common.train;

import io.syncgrad.common.config.TrainSettings;
import io.syncgrad.common.data.Dataset;
import io.syncgrad.common.error.UserException;
import io.syncgrad.common.math.MatrixKernel;
import io.syncgrad.common.metrics.Telemetry;
import io.syncgrad.common.run.TrainingState;
import java.io.IOException;
import java.util.Map;
import java.util.Set;
import java.util.function.IntConsumer;

/**
 * The one-node trainer: every step of a run in one process.
 *
 * <p>It does the arithmetic of a distributed run: the batch is split into the same virtual
 * shards, each shard's gradient sum is computed on its own (on several threads, one shard per
 * thread at a time), and the sums are added in the reduction tree's order. So it produces the
 * same bytes as a cluster of any size, and the same bytes whatever {@code --threads} is.
 */
public final class LocalTraining {

  private LocalTraining() {}

  /**
   * Runs {@code syncgrad train} on this node.
   *
   * @param settings     validated settings
   * @param explicitKeys the settings the user gave (flags or file), to refuse changing them on resume
   * @param kernel       what multiplies the matrices
   * @param listener     progress reporting
   * @return what {@code summary.json} holds
   * @throws UserException for bad data, a bad checkpoint or conflicting settings
   */
  public static RunSummary run(TrainSettings settings, Set<String> explicitKeys, MatrixKernel kernel,
      TrainingListener listener) throws IOException {
    return run(settings, explicitKeys, kernel, listener, Telemetry.unserved());
  }

  /** Like {@link #run(TrainSettings, Set, MatrixKernel, TrainingListener)}, reporting to {@code telemetry}. */
  public static RunSummary run(TrainSettings settings, Set<String> explicitKeys, MatrixKernel kernel,
      TrainingListener listener, Telemetry telemetry) throws IOException {
    try (TrainingRun run = TrainingRun.prepare(settings, explicitKeys, kernel, listener, telemetry)) {
      TrainingState state = run.state();
      int threads = Math.min(state.config().shards(),
          settings.threads() > 0 ? settings.threads() : Runtime.getRuntime().availableProcessors());
      run.start();
      telemetry.ready(Telemetry.Role.TRAINER, true, "training");
      try (StepRunner runner = new StepRunner(state, run.train(), kernel, threads)) {
        while (!run.done()) {
          long t0 = System.nanoTime();
          long shards = runner.step(run.state().step());
          run.stepApplied(runner.meanLoss(), runner.gradientNorm(), System.nanoTime() - t0, shards, Map.of());
        }
      }
      RunSummary summary = run.finish(1, threads, Map.of());
      telemetry.ready(Telemetry.Role.TRAINER, false, "finished");
      return summary;
    } catch (RuntimeException | IOException e) {
      telemetry.ready(Telemetry.Role.TRAINER, false, "failed");
      throw e;
    }
  }

  /**
   * Computes the shards of a step on a fixed crew of threads, each thread a fixed block of
   * consecutive shards (computed together, see {@link ShardComputer#computeBlock}), then adds them
   * up in tree order and updates, the update's element-wise passes cut among the same threads.
   */
  private static final class StepRunner implements AutoCloseable, StepParts {
    private final TrainingState state;
    private final ShardComputer computer;
    private final StepAggregator aggregator;
    /** The calling thread and its helpers; null with one thread. */
    private final ThreadCrew crew;
    private final int[] firsts;
    private final int[] ends;
    private long current;
    private final IntConsumer block;

    StepRunner(TrainingState state, Dataset train, MatrixKernel kernel, int threads) {
      this.state = state;
      this.computer = new ShardComputer(state.model(), state.config(), train, kernel);
      this.aggregator = new StepAggregator(state.config(), state.params());
      int shards = state.config().shards();
      this.crew = threads > 1 ? new ThreadCrew(threads - 1, "shard-compute") : null;
      this.firsts = new int[threads];
      this.ends = new int[threads];
      for (int t = 0; t < threads; t++) {
        firsts[t] = t * shards / threads;
        ends[t] = (t + 1) * shards / threads;
        computer.planBlock(firsts[t], ends[t]);
      }
      this.block = t -> computer.computeBlock(state.params(), current, firsts[t], ends[t]);
    }

    @Override
    public int count() {
      return firsts.length;
    }

    /** Part 0 on the calling thread, the others on the helpers, as the shards' blocks. */
    @Override
    public void run(IntConsumer part) {
      if (crew == null) {
        part.accept(0);
        return;
      }
      crew.run(part, "the update", current);
    }

    /** Computes and applies {@code step}; returns the time spent computing the shards. */
    long step(long step) {
      long t0 = System.nanoTime();
      current = step;
      computer.prepare(step);
      if (crew == null) {
        computer.computeBlock(state.params(), step, 0, state.config().shards());
      } else {
        crew.run(block, "shard computation", step);
      }
      long computed = System.nanoTime() - t0;
      aggregator.apply(step, computer, state.params(), state.optimizer(), this);
      return computed;
    }

    double meanLoss() {
      return aggregator.meanLoss();
    }

    double gradientNorm() {
      return aggregator.gradientNorm();
    }

    @Override
    public void close() {
      if (crew != null) {
        crew.close();
      }
    }
  }
}
