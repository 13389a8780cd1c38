package io.syncgrad.common.train;

import io.syncgrad.common.checkpoint.CheckpointStore;
import io.syncgrad.common.config.TrainSettings;
import io.syncgrad.common.data.DataSources;
import io.syncgrad.common.data.Dataset;
import io.syncgrad.common.data.Normalization;
import io.syncgrad.common.error.UserException;
import io.syncgrad.common.math.MatrixKernel;
import io.syncgrad.common.model.ModelSpec;
import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.optim.LearningRateSchedule;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one-node trainer: the coordinator's and the workers' halves of every step in one process.
 *
 * <p>It does exactly what a distributed run does: the batch is split into the same virtual
 * shards, each shard's gradient sum is computed on its own (on several threads, one shard per
 * thread at a time), and the sums are added in shard order. So it produces the same bytes as a
 * cluster of any size, and the same bytes whatever {@code --threads} is.
 */
public final class LocalTraining {

  private static final Logger log = LoggerFactory.getLogger(LocalTraining.class);

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
    long wallStart = System.nanoTime();
    DataSources.TrainTest data = DataSources.load(settings.data(), settings.testData(), settings.testFraction(),
        settings.labelColumn(), settings.seed());
    Dataset train = data.train();
    Dataset test = data.test();
    String fingerprint = train.fingerprint();
    if (train.size() < settings.batchSize()) {
      throw new UserException(train.source() + ": " + train.size() + " training samples, fewer than --batch-size "
          + settings.batchSize());
    }
    TrainingState state;
    long resumedFrom = 0;
    if (settings.resume() != null) {
      state = CheckpointStore.newestValid(Path.of(settings.resume()));
      checkResumable(settings, explicitKeys, state, train, fingerprint);
      resumedFrom = state.step();
      if (!state.kernel().equals(kernel.identity())) {
        log.warn("The checkpoint's weights come from kernel [{}]; continuing with [{}] gives other bytes than an "
            + "uninterrupted run", state.kernel(), kernel.identity());
        state = new TrainingState(state.runId(), state.model(), state.normalization(), state.config(),
            state.params(), state.optimizer(), state.step(), kernel.identity());
      }
      log.info("Resuming run [{}] at step [{}] from [{}]", state.runId(), state.step(), settings.resume());
    } else {
      state = freshState(settings, train, fingerprint, kernel);
    }
    DataSources.checkWidth(test, state.model().inputSize(), "the model");
    DataSources.checkLabels(test, state.model().outputSize(), "the model's " + state.model().outputSize() + " classes");
    state.normalization().applyInPlace(train);
    state.normalization().applyInPlace(test);

    TrainingConfig config = state.config();
    long stepsPerEpoch = config.stepsPerEpoch();
    long total = settings.epochs() * stepsPerEpoch;
    if (settings.maxSteps() > 0) {
      total = Math.min(total, settings.maxSteps());
    }
    Path out = settings.out() != null ? Path.of(settings.out())
        : Path.of("runs", "run-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
    boolean sameDir = settings.resume() != null && Files.isDirectory(Path.of(settings.resume()))
        && Files.isSameFile(Path.of(settings.resume()), Files.createDirectories(out));
    int threads = Math.min(config.shards(),
        settings.threads() > 0 ? settings.threads() : Runtime.getRuntime().availableProcessors());

    listener.started(state.step(), total, stepsPerEpoch, data.description());
    try (RunOutputs outputs = new RunOutputs(out, sameDir);
        StepRunner runner = new StepRunner(state, train, kernel, threads)) {
      Evaluator evaluator = new Evaluator(state.model(), kernel);
      long trainNanos = 0;
      long step = state.step();
      Evaluator.Result last = null;
      long lastEvaluated = -1;
      while (step < total) {
        long t0 = System.nanoTime();
        runner.step(step);
        long dt = System.nanoTime() - t0;
        trainNanos += dt;
        double lr = config.schedule().at(step);
        step++;
        double rate = config.batchSize() / (dt / 1e9);
        long epoch = (step - 1) / stepsPerEpoch + 1;
        outputs.metric("step", ordered("step", step, "epoch", epoch, "loss", runner.meanLoss(), "lr", lr,
            "grad_norm", runner.gradientNorm(), "samples_per_second", round(rate)));
        listener.stepped(step, epoch, runner.meanLoss(), lr, rate);
        state = state.atStep(step);
        if (settings.checkpointEvery() > 0 && step % settings.checkpointEvery() == 0 && step < total) {
          CheckpointStore.write(state, CheckpointStore.periodicPath(out, step));
          CheckpointStore.retain(out, settings.keepCheckpoints());
          outputs.metric("checkpoint", ordered("step", step, "file",
              CheckpointStore.periodicPath(out, step).getFileName().toString()));
        }
        if (step % stepsPerEpoch == 0 || step == total) {
          last = evaluator.evaluate(state.params(), test);
          lastEvaluated = step;
          double epochs = (double) step / stepsPerEpoch;
          outputs.metric("eval", ordered("step", step, "epoch", round(epochs), "test_loss", last.loss(),
              "test_accuracy", last.accuracy()));
          outputs.flush();
          listener.evaluated(epochs, last);
        }
      }
      if (lastEvaluated != step) {
        last = evaluator.evaluate(state.params(), test);
      }
      CheckpointStore.write(state, out.resolve(CheckpointStore.MODEL_FILE));
      long trained = (step - resumedFrom) * config.batchSize();
      double trainSeconds = trainNanos / 1e9;
      RunSummary summary = new RunSummary(
          state.params().sha256Hex(),
          last.accuracy(),
          last.loss(),
          step,
          round((double) step / stepsPerEpoch),
          1,
          config.shards(),
          config.batchSize(),
          threads,
          trainSeconds > 0 ? round(trained / trainSeconds) : 0,
          round((System.nanoTime() - wallStart) / 1e9),
          round(trainSeconds),
          kernel.identity(),
          config.seed(),
          state.model().describe(),
          state.model().parameterCount(),
          data.description(),
          train.size(),
          test.size(),
          resumedFrom,
          state.runId(),
          out.toAbsolutePath().toString());
      outputs.summary(summary);
      listener.finished(summary);
      return summary;
    }
  }

  /** The model and hyper-parameters {@code settings} asks for, trained on {@code train}. */
  private static TrainingState freshState(TrainSettings s, Dataset train, String fingerprint, MatrixKernel kernel) {
    int classes = train.classes();
    if (classes < 2) {
      throw new UserException(train.source() + ": every label is " + (classes - 1)
          + "; classification needs at least 2 classes");
    }
    ModelSpec model = freshModel(s, train);
    Normalization normalization = Normalization.fit(s.normalize(), train);
    long total = s.epochs() * (train.size() / s.batchSize());
    if (s.maxSteps() > 0) {
      total = Math.min(total, s.maxSteps());
    }
    TrainingConfig config = freshConfig(s, train.size(), fingerprint, total);
    Parameters params = Parameters.zeros(model);
    config.init().initialize(model, config.seed(), params);
    return new TrainingState(UUID.randomUUID().toString(), model, normalization, config, params,
        config.newOptimizer(params), 0, kernel.identity());
  }

  private static ModelSpec freshModel(TrainSettings s, Dataset train) {
    return new ModelSpec(train.width(), s.layers(), train.classes(), s.activation(), s.output(), s.loss(),
        s.dropout());
  }

  private static TrainingConfig freshConfig(TrainSettings s, long examples, String fingerprint, long totalSteps) {
    long period = s.lrPeriod() > 0 ? s.lrPeriod() : totalSteps;
    LearningRateSchedule schedule = new LearningRateSchedule(s.lrSchedule(), s.lr(), s.lrDecaySteps(),
        s.lrDecayRate(), period, s.lrMin());
    return new TrainingConfig(s.seed(), s.batchSize(), s.shards(), s.optimizer(), s.momentum(), s.beta1(),
        s.beta2(), s.epsilon(), s.l1(), s.l2(), s.clipNorm(), schedule, s.init(), examples, fingerprint);
  }

  /**
   * A resumed run continues the checkpoint's run: it takes the model and hyper-parameters from
   * the checkpoint, and refuses flags that would change them, or other data.
   */
  private static void checkResumable(TrainSettings s, Set<String> explicit, TrainingState st, Dataset train,
      String fingerprint) {
    List<String> problems = new ArrayList<>();
    if (!st.config().dataFingerprint().equals(fingerprint) || st.config().trainExamples() != train.size()) {
      problems.add(train.source() + ": not the data the checkpoint was trained on (" + train.size()
          + " samples, fingerprint " + fingerprint + "; the checkpoint has " + st.config().trainExamples()
          + " samples, fingerprint " + st.config().dataFingerprint() + ")");
    }
    ModelSpec m = st.model();
    TrainingConfig c = st.config();
    Map<String, Object[]> pairs = new LinkedHashMap<>();
    pairs.put("layers", new Object[] {s.layers(), m.hiddenSizes()});
    pairs.put("activation", new Object[] {s.activation(), m.activation()});
    pairs.put("output", new Object[] {s.output(), m.outputActivation()});
    pairs.put("loss", new Object[] {s.loss(), m.loss()});
    pairs.put("dropout", new Object[] {s.dropout(), m.dropout()});
    pairs.put("normalize", new Object[] {s.normalize(), st.normalization().kind()});
    pairs.put("init", new Object[] {s.init(), c.init()});
    pairs.put("optimizer", new Object[] {s.optimizer(), c.optimizer()});
    pairs.put("lr", new Object[] {s.lr(), c.schedule().base()});
    pairs.put("momentum", new Object[] {s.momentum(), c.momentum()});
    pairs.put("beta1", new Object[] {s.beta1(), c.beta1()});
    pairs.put("beta2", new Object[] {s.beta2(), c.beta2()});
    pairs.put("epsilon", new Object[] {s.epsilon(), c.epsilon()});
    pairs.put("l1", new Object[] {s.l1(), c.l1()});
    pairs.put("l2", new Object[] {s.l2(), c.l2()});
    pairs.put("clip-norm", new Object[] {s.clipNorm(), c.clipNorm()});
    pairs.put("lr-schedule", new Object[] {s.lrSchedule(), c.schedule().kind()});
    pairs.put("batch-size", new Object[] {s.batchSize(), c.batchSize()});
    pairs.put("shards", new Object[] {s.shards(), c.shards()});
    pairs.put("seed", new Object[] {s.seed(), c.seed()});
    for (Map.Entry<String, Object[]> e : pairs.entrySet()) {
      Object given = e.getValue()[0];
      Object saved = e.getValue()[1];
      if (explicit.contains(e.getKey()) && !Objects.equals(given, saved)) {
        problems.add("--" + e.getKey() + " " + label(given) + " differs from the checkpoint's " + label(saved)
            + "; a resumed run keeps the settings it started with");
      }
    }
    if (!problems.isEmpty()) {
      throw new UserException(problems);
    }
  }

  private static String label(Object o) {
    if (o instanceof List<?> list) {
      return list.toString().replace(" ", "").replace("[", "").replace("]", "");
    }
    return o instanceof Enum<?> e ? e.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-') : String.valueOf(o);
  }

  private static Map<String, Object> ordered(Object... kv) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put((String) kv[i], kv[i + 1]);
    }
    return m;
  }

  private static double round(double v) {
    return Math.round(v * 1000.0) / 1000.0;
  }

  /**
   * Computes the shards of a step on a fixed pool of threads, each thread a fixed subset of the
   * shards, then aggregates in shard order on the calling thread.
   */
  private static final class StepRunner implements AutoCloseable {
    private final TrainingState state;
    private final ShardComputer computer;
    private final StepAggregator aggregator;
    private final ExecutorService pool;
    private final List<Callable<Void>> tasks = new ArrayList<>();
    private long current;

    StepRunner(TrainingState state, Dataset train, MatrixKernel kernel, int threads) {
      this.state = state;
      this.computer = new ShardComputer(state.model(), state.config(), train, kernel);
      this.aggregator = new StepAggregator(state.config(), state.params());
      int shards = state.config().shards();
      this.pool = threads > 1 ? Executors.newFixedThreadPool(threads, r -> {
        Thread t = new Thread(r, "shard-compute");
        t.setDaemon(true);
        return t;
      }) : null;
      for (int t = 0; t < threads; t++) {
        int first = t;
        tasks.add(() -> {
          for (int s = first; s < shards; s += threads) {
            computer.compute(state.params(), current, s);
          }
          return null;
        });
      }
    }

    void step(long step) {
      current = step;
      computer.prepare(step);
      if (pool == null) {
        for (int s = 0; s < state.config().shards(); s++) {
          computer.compute(state.params(), step, s);
        }
      } else {
        try {
          for (Future<Void> f : pool.invokeAll(tasks)) {
            f.get();
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while computing step " + step, e);
        } catch (ExecutionException e) {
          throw new IllegalStateException("shard computation failed at step " + step, e.getCause());
        }
      }
      aggregator.apply(step, computer, state.params(), state.optimizer());
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
