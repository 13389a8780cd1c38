package io.syncgrad.common.train;

import io.syncgrad.common.config.TrainSettings;
import io.syncgrad.common.data.Dataset;
import io.syncgrad.common.error.UserException;
import io.syncgrad.common.math.MatrixKernel;
import io.syncgrad.common.metrics.Telemetry;
import io.syncgrad.common.run.TrainingState;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

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
   * Computes the shards of a step on a fixed pool of threads, each thread a fixed block of
   * consecutive shards (computed together, see {@link ShardComputer#computeBlock}), then adds them
   * up in tree order and updates, the update's element-wise passes cut among the same threads.
   */
  private static final class StepRunner implements AutoCloseable, StepParts {
    private final TrainingState state;
    private final ShardComputer computer;
    private final StepAggregator aggregator;
    private final ExecutorService pool;
    private final List<Callable<Void>> tasks = new ArrayList<>();
    /** The other threads' blocks under way; the calling thread computes the first block itself. */
    private final Future<?>[] others;
    private final int[] firsts;
    private final int[] ends;
    private long current;
    /** The update pass under way, and a task per thread that runs its part of it. */
    private java.util.function.IntConsumer pass;
    private final List<Callable<Void>> parts = new ArrayList<>();
    private final Runnable firstPart = () -> pass.accept(0);
    private final Runnable firstBlock;

    StepRunner(TrainingState state, Dataset train, MatrixKernel kernel, int threads) {
      this.state = state;
      this.computer = new ShardComputer(state.model(), state.config(), train, kernel);
      this.aggregator = new StepAggregator(state.config(), state.params());
      int shards = state.config().shards();
      // The calling thread computes the first block itself: one hand-over fewer a step.
      this.pool = threads > 1 ? Executors.newFixedThreadPool(threads - 1, r -> {
        Thread t = new Thread(r, "shard-compute");
        t.setDaemon(true);
        return t;
      }) : null;
      this.others = new Future<?>[Math.max(0, threads - 1)];
      this.firsts = new int[threads];
      this.ends = new int[threads];
      this.firstBlock = () -> computer.computeBlock(state.params(), current, firsts[0], ends[0]);
      for (int t = 0; t < threads; t++) {
        int first = t * shards / threads;
        int end = (t + 1) * shards / threads;
        firsts[t] = first;
        ends[t] = end;
        computer.planBlock(first, end);
        tasks.add(() -> {
          computer.computeBlock(state.params(), current, first, end);
          return null;
        });
        int part = t;
        parts.add(() -> {
          pass.accept(part);
          return null;
        });
      }
    }

    @Override
    public int count() {
      return tasks.size();
    }

    /** Part 0 on the calling thread, the others on the pool, as the shards' blocks. */
    @Override
    public void run(java.util.function.IntConsumer part) {
      if (pool == null) {
        part.accept(0);
        return;
      }
      pass = part;
      onEveryThread(parts, firstPart, "the update");
    }

    /** Computes and applies {@code step}; returns the time spent computing the shards. */
    long step(long step) {
      long t0 = System.nanoTime();
      current = step;
      computer.prepare(step);
      if (pool == null) {
        computer.computeBlock(state.params(), step, 0, state.config().shards());
      } else {
        onEveryThread(tasks, firstBlock, "shard computation");
      }
      long computed = System.nanoTime() - t0;
      aggregator.apply(step, computer, state.params(), state.optimizer(), this);
      return computed;
    }

    /**
     * Runs {@code list}'s tasks 1.. on the pool and {@code first} on the calling thread, then
     * waits for every one of them, even after a failure, so that no thread still writes the
     * step's buffers when it propagates: the first failure is thrown, the others suppressed in it.
     */
    private void onEveryThread(List<Callable<Void>> list, Runnable first, String what) {
      for (int t = 1; t < list.size(); t++) {
        others[t - 1] = pool.submit(list.get(t));
      }
      Throwable failed = null;
      try {
        first.run();
      } catch (RuntimeException | Error e) {
        failed = e;
      }
      boolean interrupted = false;
      for (Future<?> f : others) {
        while (true) {
          try {
            f.get();
            break;
          } catch (InterruptedException e) {
            interrupted = true;
          } catch (ExecutionException e) {
            failed = first(failed, e.getCause());
            break;
          }
        }
      }
      if (failed instanceof Error error) {
        throw error;
      }
      if (failed != null) {
        throw new IllegalStateException(what + " failed at step " + current, failed);
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted during " + what + " at step " + current);
      }
    }

    private static Throwable first(Throwable failed, Throwable more) {
      if (failed == null) {
        return more;
      }
      failed.addSuppressed(more);
      return failed;
    }

    double meanLoss() {
      return aggregator.meanLoss();
    }

    double gradientNorm() {
      return aggregator.gradientNorm();
    }

    @Override
    public void close() {
      if (pool != null) {
        pool.shutdownNow();
      }
    }
  }
}
