package io.syncgrad.common.train;

import io.syncgrad.common.checkpoint.CheckpointStore;
import io.syncgrad.common.config.TrainSettings;
import io.syncgrad.common.data.DataSources;
import io.syncgrad.common.data.Dataset;
import io.syncgrad.common.data.Normalization;
import io.syncgrad.common.error.UserException;
import io.syncgrad.common.math.MatrixKernel;
import io.syncgrad.common.metrics.Telemetry;
import io.syncgrad.common.metrics.TrainingMetrics;
import io.syncgrad.common.model.ModelSpec;
import io.syncgrad.common.model.Parameters;
import io.syncgrad.common.optim.LearningRateSchedule;
import io.syncgrad.common.protocol.DataSpec;
import io.syncgrad.common.run.TrainingConfig;
import io.syncgrad.common.run.TrainingState;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One training run's life, whoever computes its steps: it loads and validates the data, starts
 * fresh or resumes the newest valid checkpoint, and after each applied step writes metrics,
 * checkpoints and evaluations; at the end the model and the summary.
 *
 * <p>The one-node trainer ({@link LocalTraining}) and the coordinator of a cluster drive the
 * same {@code TrainingRun}, so their outputs are alike and their bytes identical.
 */
public final class TrainingRun implements Closeable {

  private static final Logger log = LoggerFactory.getLogger(TrainingRun.class);

  private final TrainSettings settings;
  private final MatrixKernel kernel;
  private final Dataset train;
  private final Dataset test;
  /** The validation set held out of the training data, or null. */
  private final Dataset validation;
  private final EarlyStopping selection;
  private Evaluator.Result lastValidation;
  private boolean stoppedEarly;
  private final String description;
  private final long total;
  private final long resumedFrom;
  private final Path out;
  private final RunOutputs outputs;
  private final Evaluator evaluator;
  private final TrainingListener listener;
  private final Telemetry telemetry;
  /** The run's series, registered when the run starts: before, the node serves only its membership. */
  private TrainingMetrics metrics;
  private final long wallStart;
  private TrainingState state;
  private long trainNanos;
  private Evaluator.Result last;
  private long lastEvaluated = -1;

  private TrainingRun(TrainSettings settings, MatrixKernel kernel, DataSources.TrainTest data, TrainingState state,
      String resume, long resumedFrom, TrainingListener listener, Telemetry telemetry, long wallStart)
      throws IOException {
    this.settings = settings;
    this.kernel = kernel;
    this.train = data.train();
    this.test = data.test();
    this.validation = data.validation();
    this.selection = new EarlyStopping(settings.earlyStopping());
    this.description = data.description();
    this.state = state;
    this.resumedFrom = resumedFrom;
    this.listener = listener;
    this.telemetry = telemetry;
    this.wallStart = wallStart;
    TrainingConfig config = state.config();
    long t = settings.epochs() * config.stepsPerEpoch();
    this.total = settings.maxSteps() > 0 ? Math.min(t, settings.maxSteps()) : t;
    this.out = settings.out() != null ? Path.of(settings.out())
        : Path.of("runs", "run-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
    boolean sameDir = resume != null && Files.isDirectory(Path.of(resume))
        && Files.isSameFile(Path.of(resume), Files.createDirectories(out));
    this.outputs = new RunOutputs(out, sameDir);
    this.evaluator = new Evaluator(state.model(), kernel);
    if (validation != null && resume != null) {
      restoreSelection(Path.of(resume), state.config().stepsPerEpoch());
    }
  }

  /**
   * A resumed run goes on choosing its best model where it left off: the best model so far is
   * the resumed run's {@code best.pb} (evaluated again, which gives the same loss), and the
   * evaluations since it are the epochs since its step.
   */
  private void restoreSelection(Path resume, long stepsPerEpoch) throws IOException {
    Path best = (Files.isDirectory(resume) ? resume : resume.toAbsolutePath().getParent().getParent())
        .resolve(CheckpointStore.BEST_FILE);
    if (!Files.isRegularFile(best)) {
      return;
    }
    TrainingState b = CheckpointStore.read(best);
    if (!b.runId().equals(state.runId()) || b.step() > state.step()) {
      return;
    }
    selection.restore(b.step(), evaluator.evaluate(b.params(), validation).loss(),
        (int) (state.step() / stepsPerEpoch - b.step() / stepsPerEpoch));
    // A run that early stopping ended ends at once when started again, with the same outputs.
    stoppedEarly = selection.exhausted();
    if (!Files.isSameFile(best.toAbsolutePath().getParent(), out)) {
      CheckpointStore.write(b, out.resolve(CheckpointStore.BEST_FILE));
    }
  }

  /**
   * Loads the data and the starting state; nothing is written before everything is validated.
   *
   * @param explicitKeys the settings the user gave, to refuse changing them on resume
   * @throws UserException for bad data, a bad checkpoint or conflicting settings
   */
  public static TrainingRun prepare(TrainSettings settings, Set<String> explicitKeys, MatrixKernel kernel,
      TrainingListener listener) throws IOException {
    return prepare(settings, explicitKeys, kernel, listener, Telemetry.unserved());
  }

  /**
   * Like {@link #prepare(TrainSettings, Set, MatrixKernel, TrainingListener)}, reporting the
   * run's progress to {@code telemetry} as well.
   */
  public static TrainingRun prepare(TrainSettings settings, Set<String> explicitKeys, MatrixKernel kernel,
      TrainingListener listener, Telemetry telemetry) throws IOException {
    String resume = resumeLocation(settings);
    long wallStart = System.nanoTime();
    DataSources.TrainTest data = DataSpec.of(settings).load();
    Dataset train = data.train();
    Dataset test = data.test();
    String fingerprint = train.fingerprint();
    if (train.size() < settings.batchSize()) {
      throw new UserException(train.source() + ": " + train.size() + " training samples, fewer than --batch-size "
          + settings.batchSize());
    }
    TrainingState state;
    long resumedFrom = 0;
    if (resume != null) {
      state = CheckpointStore.newestValid(Path.of(resume));
      checkResumable(settings, explicitKeys, state, train, fingerprint);
      int classes = state.model().outputSize();
      DataSources.checkLabels(data, classes, "the model's " + classes + " classes");
      resumedFrom = state.step();
      log.info("Resuming run [{}] at step [{}] from [{}]", state.runId(), state.step(), resume);
      if (!state.kernel().equals(kernel.identity())) {
        log.warn("The checkpoint's weights come from kernel [{}]; continuing with [{}] gives other bytes than an "
            + "uninterrupted run", state.kernel(), kernel.identity());
        state = new TrainingState(state.runId(), state.model(), state.normalization(), state.config(),
            state.params(), state.optimizer(), state.step(), kernel.identity());
      }
    } else {
      state = freshState(settings, train, DataSources.classes(data, settings.classes()), fingerprint, kernel);
    }
    DataSources.checkWidth(test, state.model().inputSize(), "the model");
    if (data.validation() != null) {
      state.normalization().applyInPlace(data.validation());
    }
    state.normalization().applyInPlace(train);
    state.normalization().applyInPlace(test);
    if (settings.out() != null) {
      checkSpace(Path.of(settings.out()), state);
    }
    return new TrainingRun(settings, kernel, data, state, resume, resumedFrom, listener, telemetry, wallStart);
  }

  /**
   * Refuses, before anything is written, an output folder whose file system cannot hold even
   * one checkpoint of the model (the weights and the optimiser's state): such a run would train
   * and then fail at its first checkpoint or at its end. A disk that fills later is still
   * reported when a write fails, keeping the last good checkpoint.
   */
  private static void checkSpace(Path out, TrainingState state) {
    Path existing = out.toAbsolutePath();
    while (existing != null && !Files.exists(existing)) {
      existing = existing.getParent();
    }
    if (existing == null) {
      return;
    }
    int moments = switch (state.optimizer().kind()) {
      case SGD -> 0;
      case MOMENTUM, NESTEROV -> 1;
      case ADAM -> 2;
    };
    long needed = state.model().parameterCount() * Float.BYTES * (1L + moments) + (64 << 10);
    long free;
    try {
      free = Files.getFileStore(existing).getUsableSpace();
    } catch (IOException e) {
      return;
    }
    if (free < needed) {
      throw new UserException(out + ": the file system has " + kib(free) + " KiB free, fewer than the " + kib(needed)
          + " KiB one checkpoint of this model needs (" + state.model().parameterCount() + " parameters and the "
          + state.optimizer().kind().name().toLowerCase(java.util.Locale.ROOT) + " optimiser's state)");
    }
  }

  private static long kib(long bytes) {
    return (bytes + 1023) / 1024;
  }

  /**
   * Where the run resumes from: {@code --resume DIR}, or with {@code --resume auto} the output
   * directory when it holds a checkpoint, so that one command line serves the first start and
   * every restart; null for a fresh run.
   */
  static String resumeLocation(TrainSettings settings) {
    if (!TrainSettings.RESUME_AUTO.equals(settings.resume())) {
      return settings.resume();
    }
    if (settings.out() == null) {
      throw new UserException("--resume auto needs --out DIR: it continues the run in DIR when DIR holds a checkpoint "
          + "and starts one there otherwise");
    }
    Path out = Path.of(settings.out());
    if (!CheckpointStore.hasCheckpoint(out)) {
      log.info("No checkpoint in [{}]: starting a fresh run there (--resume auto)", out);
      return null;
    }
    return settings.out();
  }

  /** The state before the next step: weights, optimiser, step. */
  public TrainingState state() {
    return state;
  }

  /** The normalised training samples. */
  public Dataset train() {
    return train;
  }

  /** Steps the run ends at. */
  public long totalSteps() {
    return total;
  }

  /** Where this run's node reports its progress and readiness. */
  public Telemetry telemetry() {
    return telemetry;
  }

  /** Steps between checkpoints, 0 for none. */
  public long checkpointEvery() {
    return settings.checkpointEvery();
  }

  /** The step the run resumed from, 0 for a fresh run. */
  public long resumedFrom() {
    return resumedFrom;
  }

  /** Whether every step has been applied, or early stopping ended the run. */
  public boolean done() {
    return state.step() >= total || stoppedEarly;
  }

  /**
   * Records an event of the run in {@code metrics.jsonl} with the step it happened at: an
   * injected fault, a recovery (shards reassigned, results rejected, a worker lost), a resume.
   */
  public void event(String type, Map<String, Object> fields) {
    Map<String, Object> line = new LinkedHashMap<>();
    line.put("step", state.step());
    line.putAll(fields);
    try {
      outputs.metric(type, line);
    } catch (UserException e) {
      log.warn("Cannot record a {} event: {}", type, e.getMessage());
    }
  }

  /**
   * Takes the weights and optimiser state of a worker's snapshot, taken after the step about to
   * be recorded: a cluster's coordinator holds the weights only at the steps that need them
   * (checkpoints, evaluations, the end), and {@link #stepApplied} then writes and evaluates these.
   *
   * @throws IllegalArgumentException when the snapshot is not of this run's next step
   */
  public void adoptSnapshot(TrainingState snapshot) {
    if (snapshot.step() != state.step() + 1 || !snapshot.params().sameShape(state.params())
        || snapshot.optimizer().kind() != state.optimizer().kind()) {
      throw new IllegalArgumentException("a snapshot of step " + snapshot.step() + " does not follow step "
          + state.step());
    }
    state.params().copyFrom(snapshot.params());
    state.optimizer().restore(snapshot.optimizer().updates(), snapshot.optimizer().firstMoment(),
        snapshot.optimizer().secondMoment());
  }

  /** Tells the listener the run starts. */
  public void start() {
    if (resumedFrom > 0) {
      event("resume", ordered("from_step", resumedFrom));
    }
    metrics = telemetry.training();
    metrics.started(state.runId(), kernel.identity(), state.model().describe(), state.step(), total,
        state.config().stepsPerEpoch());
    listener.started(state.step(), total, state.config().stepsPerEpoch(), description);
  }

  /**
   * Records the step just applied: the state moves on, then metrics, a checkpoint when one is
   * due, and an evaluation at the end of an epoch.
   *
   * @param computeNanos how long the step took, for the throughput
   * @param extra        more fields for this step's metrics line (may be empty)
   */
  public void stepApplied(double meanLoss, double gradientNorm, long computeNanos, Map<String, Object> extra)
      throws IOException {
    stepApplied(meanLoss, gradientNorm, computeNanos, 0, extra);
  }

  /**
   * Like {@link #stepApplied(double, double, long, Map)}, with the part of the step spent
   * computing shards, for the step's time split.
   *
   * @param stepNanos  the step's wall-clock time
   * @param shardNanos the part of it computing shards
   */
  public void stepApplied(double meanLoss, double gradientNorm, long stepNanos, long shardNanos,
      Map<String, Object> extra) throws IOException {
    long computeNanos = stepNanos;
    TrainingConfig config = state.config();
    long stepsPerEpoch = config.stepsPerEpoch();
    double lr = config.schedule().at(state.step());
    long step = state.step() + 1;
    state = state.atStep(step);
    trainNanos += computeNanos;
    double rate = config.batchSize() / (computeNanos / 1e9);
    long epoch = (step - 1) / stepsPerEpoch + 1;
    Map<String, Object> line = ordered("step", step, "epoch", epoch, "loss", meanLoss, "lr", lr, "grad_norm",
        gradientNorm, "samples_per_second", round(rate), "step_ms", Math.round(stepNanos / 1e3) / 1e3);
    if (shardNanos > 0) {
      line.put("compute_ms", Math.round(shardNanos / 1e3) / 1e3);
    }
    line.putAll(extra);
    outputs.metric("step", line);
    metrics.stepped(step, total, stepsPerEpoch, meanLoss, lr, gradientNorm, config.batchSize(), stepNanos, shardNanos);
    listener.stepped(step, epoch, meanLoss, lr, rate);
    if (settings.checkpointEvery() > 0 && step % settings.checkpointEvery() == 0 && step < total) {
      Path file = CheckpointStore.periodicPath(out, step);
      CheckpointStore.write(state, file);
      CheckpointStore.retain(out, settings.keepCheckpoints());
      outputs.metric("checkpoint", ordered("step", step, "file", file.getFileName().toString()));
      metrics.checkpointWritten();
    }
    if (step % stepsPerEpoch == 0 || step == total) {
      double epochs = (double) step / stepsPerEpoch;
      Map<String, Object> line2 = ordered("step", step, "epoch", round(epochs));
      if (validation != null) {
        lastValidation = evaluator.evaluate(state.params(), validation);
        line2.put("validation_loss", lastValidation.loss());
        line2.put("validation_accuracy", lastValidation.accuracy());
        if (selection.observe(step, lastValidation.loss())) {
          CheckpointStore.write(state, out.resolve(CheckpointStore.BEST_FILE));
        }
        line2.put("best_step", selection.bestStep());
        listener.validated(epochs, lastValidation);
      }
      last = evaluator.evaluate(state.params(), test);
      lastEvaluated = step;
      line2.put("test_loss", last.loss());
      line2.put("test_accuracy", last.accuracy());
      outputs.metric("eval", line2);
      outputs.flush();
      metrics.evaluated(last.accuracy(), last.loss());
      listener.evaluated(epochs, last);
      if (selection.exhausted() && step < total) {
        stoppedEarly = true;
        event("early_stop", ordered("best_step", selection.bestStep(), "best_validation_loss", selection.bestLoss(),
            "patience", settings.earlyStopping()));
        log.info("Early stopping after step [{}]: no lower validation loss in {} evaluations (best [{}] after step [{}])",
            step, settings.earlyStopping(), selection.bestLoss(), selection.bestStep());
        listener.stoppedEarly(step, selection.bestStep(), selection.bestLoss(), settings.earlyStopping());
      }
    }
  }

  /**
   * Writes the final model and {@code summary.json}.
   *
   * @param workers     how many workers computed the steps
   * @param threads     threads computing shards on this node
   * @param distributed extra summary fields of a distributed run (may be empty)
   */
  public RunSummary finish(int workers, int threads, Map<String, Object> distributed) throws IOException {
    return finish(workers, threads, distributed, new LinkedHashMap<>());
  }

  /**
   * Like {@link #finish(int, int, Map)}, with the faults injected into the run and how it
   * recovered from them; {@code resumes} is added here.
   */
  public RunSummary finish(int workers, int threads, Map<String, Object> distributed, Map<String, Object> faults)
      throws IOException {
    Map<String, Object> allFaults = new LinkedHashMap<>(faults);
    allFaults.put("resumes", resumedFrom > 0 ? 1L : 0L);
    if (lastEvaluated != state.step()) {
      last = evaluator.evaluate(state.params(), test);
    }
    Map<String, Object> selected = new LinkedHashMap<>();
    if (validation != null) {
      if (lastValidation == null) {
        lastValidation = evaluator.evaluate(state.params(), validation);
      }
      selected.put("examples", validation.size());
      selected.put("loss", lastValidation.loss());
      selected.put("accuracy", lastValidation.accuracy());
      selected.put("best_step", selection.bestStep());
      selected.put("best_loss", selection.bestLoss());
      selected.put("best_model", CheckpointStore.BEST_FILE);
      selected.put("stopped_early", stoppedEarly);
    }
    CheckpointStore.write(state, out.resolve(CheckpointStore.MODEL_FILE));
    TrainingConfig config = state.config();
    long trained = (state.step() - resumedFrom) * config.batchSize();
    double trainSeconds = trainNanos / 1e9;
    RunSummary summary = new RunSummary(
        state.params().sha256Hex(),
        last.accuracy(),
        last.loss(),
        state.step(),
        round((double) state.step() / config.stepsPerEpoch()),
        workers,
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
        description,
        train.size(),
        test.size(),
        resumedFrom,
        state.runId(),
        out.toAbsolutePath().toString(),
        distributed,
        selected,
        allFaults,
        settingsMap());
    outputs.summary(summary);
    listener.finished(summary);
    return summary;
  }

  @Override
  public void close() throws IOException {
    outputs.close();
  }

  /** Every setting, keyed as the configuration names it, for the summary. */
  @SuppressWarnings("unchecked")
  private Map<String, Object> settingsMap() {
    Map<String, Object> m = new java.util.TreeMap<>();
    Map<String, Object> raw = RunOutputs.JSON.convertValue(settings, Map.class);
    raw.forEach((k, v) -> m.put(k.replace('_', '-'), v instanceof String t && t.equals(t.toUpperCase(Locale.ROOT))
        && !t.isEmpty() && Character.isLetter(t.charAt(0)) ? t.toLowerCase(Locale.ROOT).replace('_', '-') : v));
    m.put("output-activation", m.remove("output"));
    // Settings whose zero stands for "none" inside the trainer are null here, as in the configuration.
    for (String none : List.of("classes", "max-steps", "lr-period", "clip-norm", "checkpoint-every", "threads",
        "early-stopping")) {
      if (m.get(none) instanceof Number n && n.doubleValue() == 0) {
        m.put(none, null);
      }
    }
    return m;
  }

  /** The model ({@code classes} outputs) and hyper-parameters {@code settings} asks for, trained on {@code train}. */
  private static TrainingState freshState(TrainSettings s, Dataset train, int classes, String fingerprint,
      MatrixKernel kernel) {
    ModelSpec model = freshModel(s, train, classes);
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

  private static ModelSpec freshModel(TrainSettings s, Dataset train, int classes) {
    return new ModelSpec(train.width(), s.layers(), classes, s.activation(), s.output(), s.loss(), s.dropout());
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
    pairs.put("classes", new Object[] {s.classes(), m.outputSize()});
    pairs.put("layers", new Object[] {s.layers(), m.hiddenSizes()});
    pairs.put("activation", new Object[] {s.activation(), m.activation()});
    pairs.put("output-activation", new Object[] {s.output(), m.outputActivation()});
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

  static Map<String, Object> ordered(Object... kv) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put((String) kv[i], kv[i + 1]);
    }
    return m;
  }

  private static double round(double v) {
    return Math.round(v * 1000.0) / 1000.0;
  }

}
