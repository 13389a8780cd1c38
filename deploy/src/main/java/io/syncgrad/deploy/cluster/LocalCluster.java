package io.syncgrad.deploy.cluster;

import akka.actor.Address;
import akka.actor.typed.ActorSystem;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import com.typesafe.config.ConfigValueFactory;
import io.syncgrad.common.config.TrainSettings;
import io.syncgrad.common.error.UserException;
import io.syncgrad.common.math.MatrixKernel;
import io.syncgrad.common.metrics.Telemetry;
import io.syncgrad.common.protocol.DataSpec;
import io.syncgrad.common.train.RunSummary;
import io.syncgrad.common.train.TrainingListener;
import io.syncgrad.common.train.TrainingRun;
import io.syncgrad.coordinator.CoordinatorSettings;
import io.syncgrad.deploy.tls.RunCredentials;
import io.syncgrad.worker.DataRoots;
import io.syncgrad.worker.TrainingSamples;
import io.syncgrad.worker.Worker;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code syncgrad train --workers N}: a coordinator node and N worker nodes in this JVM, each an
 * actor system on its own 127.0.0.1 port, joined into one cluster. Every message between them is
 * serialised and sent between them as between machines: the control messages over Artery, the
 * partial sums and reduced chunks over the workers' peer links, states over the links to the
 * coordinator.
 */
public final class LocalCluster {

  private static final Duration SHUTDOWN = Duration.ofSeconds(30);
  /**
   * How long a node of this JVM may miss heartbeats before the others take it for dead (3 s
   * between processes). Its nodes stall together, never alone: with eight workers on two cores,
   * collections and a busy scheduler delayed heartbeats by up to 5 s, and the split-brain resolver
   * downed the coordinator or workers of a run nothing had happened to. A worker killed by a fault
   * loses its shards at the step deadline, which does not wait for the failure detector.
   */
  static final String HEARTBEAT_PAUSE = "10s";

  /** {@code node}'s settings for a node of this JVM. */
  private static com.typesafe.config.Config inThisJvm(com.typesafe.config.Config node) {
    return node.withValue("akka.cluster.failure-detector.acceptable-heartbeat-pause",
        ConfigValueFactory.fromAnyRef(HEARTBEAT_PAUSE));
  }

  /** How long the workers of a failed run get, together, to leave the cluster by themselves. */
  private static final Duration FAILED_GRACE = Duration.ofSeconds(5);
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(LocalCluster.class);

  private LocalCluster() {}

  private static void awaitQuietly(ActorSystem<Void> s) {
    try {
      s.getWhenTerminated().toCompletableFuture().get(SHUTDOWN.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      // Best effort: the JVM ends anyway.
    }
  }

  /**
   * How the simulated cluster runs.
   *
   * @param workers           worker nodes
   * @param allowMixedKernels see {@link CoordinatorSettings}
   * @param stepTimeout       a fixed step deadline; null for the adaptive one
   * @param faults            scripted faults
   * @param shipData          the coordinator sends the workers their data
   * @param minWorkers        below this many ready workers the coordinator waits
   * @param waitTimeout       how long it waits for workers before the run fails
   * @param joinTimeout       how long the start waits for every worker before it starts with the ready ones
   * @param auditFraction     the share of members' blocks a step computed again by another member
   */
  public record Options(int workers, boolean allowMixedKernels, Duration stepTimeout, FaultPlan faults,
      boolean shipData, int minWorkers, Duration waitTimeout, Duration joinTimeout, double auditFraction) {

    /** {@code workers} workers, an adaptive deadline, no faults. */
    public static Options of(int workers) {
      return new Options(workers, false, null, FaultPlan.NONE, false, 1, CoordinatorSettings.DEFAULT_WAIT_TIMEOUT,
          CoordinatorSettings.DEFAULT_JOIN_TIMEOUT, 0);
    }

    /** The same with a fixed step deadline. */
    public Options withStepTimeout(Duration d) {
      return new Options(workers, allowMixedKernels, d, faults, shipData, minWorkers, waitTimeout, joinTimeout,
          auditFraction);
    }

    /** The same with scripted faults. */
    public Options withFaults(FaultPlan plan) {
      return new Options(workers, allowMixedKernels, stepTimeout, plan, shipData, minWorkers, waitTimeout, joinTimeout,
          auditFraction);
    }

    /** The same with the data shipped to the workers. */
    public Options withShippedData() {
      return new Options(workers, allowMixedKernels, stepTimeout, faults, true, minWorkers, waitTimeout, joinTimeout,
          auditFraction);
    }

    /** The same with audits of {@code fraction} of the members' blocks. */
    public Options withAudits(double fraction) {
      return new Options(workers, allowMixedKernels, stepTimeout, faults, shipData, minWorkers, waitTimeout,
          joinTimeout, fraction);
    }
  }

  /** {@code listener}, and the scripted kills of worker nodes after their steps. */
  private static TrainingListener withFaults(TrainingListener listener, FaultPlan faults,
      List<ActorSystem<Void>> workerSystems) {
    return new TrainingListener() {
      @Override
      public void started(long firstStep, long totalSteps, long stepsPerEpoch, String description) {
        listener.started(firstStep, totalSteps, stepsPerEpoch, description);
      }

      @Override
      public void stepped(long step, long epoch, double loss, double learningRate, double samplesPerSecond) {
        listener.stepped(step, epoch, loss, learningRate, samplesPerSecond);
        for (FaultPlan.ProcessFault f : faults.processFaults()) {
          if (f.step() == step && f.kind() == FaultPlan.Kind.KILL_WORKER) {
            log.warn("Fault injected: worker [{}] dies after step [{}]", f.worker(), step);
            // Terminate without leaving the cluster: to the others it is a crashed node.
            workerSystems.get(f.worker()).terminate();
          }
        }
      }

      @Override
      public void evaluated(double epoch, io.syncgrad.common.train.Evaluator.Result result) {
        listener.evaluated(epoch, result);
      }

      @Override
      public void finished(RunSummary summary) {
        listener.finished(summary);
      }
    };
  }

  /**
   * Runs the whole training and returns its summary. In one JVM a killed worker's actor system
   * terminates without leaving the cluster; {@code pause-worker} and {@code kill-coordinator}
   * need separate processes ({@code syncgrad launch}).
   */
  public static RunSummary run(TrainSettings settings, java.util.Set<String> explicitKeys, MatrixKernel kernel,
      TrainingListener listener, Options options) throws IOException {
    return run(settings, explicitKeys, kernel, listener, options, new Telemetry(Telemetry.Role.COORDINATOR));
  }

  /**
   * Like {@link #run(TrainSettings, java.util.Set, MatrixKernel, TrainingListener, Options)}; the
   * coordinator and every worker report to {@code telemetry}, whose readiness is the coordinator's.
   */
  public static RunSummary run(TrainSettings settings, java.util.Set<String> explicitKeys, MatrixKernel kernel,
      TrainingListener listener, Options options, Telemetry telemetry) throws IOException {
    int workers = options.workers();
    for (FaultPlan.ProcessFault f : options.faults().processFaults()) {
      if (f.kind() == FaultPlan.Kind.PAUSE_WORKER || f.kind() == FaultPlan.Kind.KILL_COORDINATOR) {
        throw new UserException("--fault " + f.kind().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-')
            + " needs worker processes: use syncgrad launch");
      }
    }
    // The run's own authority and a certificate per node: nothing outside this JVM can join.
    List<String> names = new ArrayList<>(List.of(COORDINATOR));
    for (int i = 0; i < workers; i++) {
      names.add(workerName(i));
    }
    try (RunCredentials credentials = RunCredentials.create(names)) {
      return run(settings, explicitKeys, kernel, listener, options, telemetry, credentials);
    }
  }

  private static final String COORDINATOR = "coordinator";

  private static String workerName(int i) {
    return String.format("worker-%02d", i);
  }

  private static RunSummary run(TrainSettings settings, java.util.Set<String> explicitKeys, MatrixKernel kernel,
      TrainingListener listener, Options options, Telemetry telemetry, RunCredentials credentials)
      throws IOException {
    int workers = options.workers();
    FaultPlan faults = options.faults();
    List<ActorSystem<Void>> workerSystems = new ArrayList<>();
    TrainingListener withFaults = withFaults(listener, faults, workerSystems);
    DataSpec data = DataSpec.of(settings);
    // The workers of this JVM share one copy of the samples and one normalised copy (each checks
    // the fingerprint as a worker on another machine would).
    TrainingSamples samples = TrainingSamples.sharedInProcess(Worker::loadTrainingDataForNodes);
    // The worker nodes start, and their copy of the data is parsed once for all of them, while
    // this thread loads and checks the data for the run (measured with 4 workers on 2 cores, full
    // Fashion-MNIST: 4.9 s from the JVM's start to the first step one after the other, 4.6 s so).
    // The workers read the data the user named, where it is, and nothing else.
    List<java.nio.file.Path> dataRoots = DataRoots.covering(data);
    CompletableFuture<List<ActorSystem<Void>>> starting = CompletableFuture.supplyAsync(() -> {
      List<ActorSystem<Void>> started = new ArrayList<>();
      for (int i = 0; i < workers; i++) {
        // terminate() of a worker system is a crash, not a graceful leave: a worker that is done
        // leaves through CoordinatedShutdown itself.
        started.add(Nodes.worker(workerName(i), kernel,
            inThisJvm(DataRoots.configure(NodeConfig.of("127.0.0.1", 0, List.of(), "worker",
                credentials.of(workerName(i))), dataRoots)).withValue(
                "akka.coordinated-shutdown.run-by-actor-system-terminate", ConfigValueFactory.fromAnyRef(false)),
            outcome -> { }, telemetry, Worker.DEFAULT_JOIN_TIMEOUT, samples));
      }
      if (!options.shipData()) {
        try {
          samples.load(data);
        } catch (RuntimeException e) {
          // The workers load it again and report the problem.
        }
      }
      return started;
    }, task -> {
      Thread t = new Thread(task, "start-workers");
      t.setDaemon(true);
      t.start();
    });
    List<ActorSystem<Void>> systems = new ArrayList<>();
    try (TrainingRun run = TrainingRun.prepare(settings, explicitKeys, kernel, withFaults, telemetry)) {
      CompletableFuture<RunSummary> result = new CompletableFuture<>();
      try {
        ActorSystem<Void> coordinator = Nodes.coordinator(run,
            new CoordinatorSettings(workers, data, options.allowMixedKernels(), options.stepTimeout(),
                faults.messages(), faults.processFaultSteps(), options.shipData(), faults.partitions(),
                options.minWorkers(), options.waitTimeout(), options.joinTimeout(), faults.corruptions(),
                options.auditFraction()), result,
            faults.coordinatorNodeConfig(inThisJvm(NodeConfig.of("127.0.0.1", 0, List.of(), "coordinator",
                credentials.of(COORDINATOR)))));
        systems.add(coordinator);
        Address address = Cluster.get(coordinator).selfMember().address();
        Cluster.get(coordinator).manager().tell(Join.create(address));
        for (ActorSystem<Void> worker : starting.join()) {
          systems.add(worker);
          workerSystems.add(worker);
          Cluster.get(worker).manager().tell(Join.create(address));
        }
        return result.get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted", e);
      } catch (ExecutionException e) {
        if (e.getCause() instanceof UserException u) {
          throw u;
        }
        if (e.getCause() instanceof IOException io) {
          throw io;
        }
        throw new IllegalStateException("the run failed", e.getCause());
      } finally {
        // Workers stop and leave the cluster by themselves once told the run is over, a failed run
        // too; the coordinator's node goes last, so nobody is left talking to a closed port. After a
        // failure a worker gets a short grace, all of them together, before its node is ended: one
        // ended while still a member would hold the coordinator's own leave for its 10 s timeout.
        long deadline = System.nanoTime() + (result.isCompletedExceptionally() ? FAILED_GRACE : SHUTDOWN).toNanos();
        for (int i = systems.size() - 1; i >= 0; i--) {
          ActorSystem<Void> s = systems.get(i);
          try {
            long wait = i == 0 ? 1 : Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
            s.getWhenTerminated().toCompletableFuture().get(wait, TimeUnit.MILLISECONDS);
          } catch (TimeoutException e) {
            s.terminate();
            awaitQuietly(s);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          } catch (ExecutionException e) {
            // Terminated with an error: nothing more to do.
          }
        }
      }
    } finally {
      if (systems.isEmpty()) {
        // The run never started (bad data, a bad checkpoint): its worker nodes end at once.
        for (ActorSystem<Void> worker : starting.join()) {
          worker.terminate();
          awaitQuietly(worker);
        }
      }
    }
  }
}
