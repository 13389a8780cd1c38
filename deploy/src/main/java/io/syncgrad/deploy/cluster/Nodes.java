package io.syncgrad.deploy.cluster;

import akka.actor.CoordinatedShutdown;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.ChildFailed;
import akka.actor.typed.DispatcherSelector;
import akka.actor.typed.Terminated;
import akka.actor.typed.javadsl.Behaviors;
import com.typesafe.config.Config;
import io.syncgrad.common.math.MatrixKernel;
import io.syncgrad.common.metrics.Telemetry;
import io.syncgrad.common.train.RunSummary;
import io.syncgrad.common.train.TrainingRun;
import io.syncgrad.coordinator.Coordinator;
import io.syncgrad.coordinator.CoordinatorSettings;
import io.syncgrad.worker.TrainingSamples;
import io.syncgrad.worker.Worker;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/** Starts the actor system of a coordinator node or a worker node. */
public final class Nodes {

  private Nodes() {}

  /** A node running the coordinator of {@code run}; the system ends when the coordinator does. */
  public static ActorSystem<Void> coordinator(TrainingRun run, CoordinatorSettings settings,
      CompletableFuture<RunSummary> result, Config config) {
    return ActorSystem.create(guardian(Coordinator.create(run, settings, result), "coordinator"), NodeConfig.SYSTEM,
        config);
  }

  /** A node running one worker; the system ends when the worker stops (its run is over). */
  public static ActorSystem<Void> worker(String workerId, MatrixKernel kernel, Config config) {
    return worker(workerId, kernel, config, outcome -> { });
  }

  /** Like {@link #worker(String, MatrixKernel, Config)}, telling {@code onStop} why the worker stopped. */
  public static ActorSystem<Void> worker(String workerId, MatrixKernel kernel, Config config,
      java.util.function.Consumer<Worker.Outcome> onStop) {
    return worker(workerId, kernel, config, onStop, Telemetry.unserved(), Worker.DEFAULT_JOIN_TIMEOUT);
  }

  /**
   * Like {@link #worker(String, MatrixKernel, Config, java.util.function.Consumer)}, reporting to
   * {@code telemetry} and giving up after {@code joinTimeout} without a coordinator.
   */
  public static ActorSystem<Void> worker(String workerId, MatrixKernel kernel, Config config,
      java.util.function.Consumer<Worker.Outcome> onStop, Telemetry telemetry, Duration joinTimeout) {
    return worker(workerId, kernel, config, onStop, telemetry, joinTimeout,
        TrainingSamples.ownCopy(Worker::loadTrainingDataForNodes));
  }

  /** The full form, with the way the worker reads its training samples. */
  public static ActorSystem<Void> worker(String workerId, MatrixKernel kernel, Config config,
      java.util.function.Consumer<Worker.Outcome> onStop, Telemetry telemetry, Duration joinTimeout,
      TrainingSamples samples) {
    return ActorSystem.create(guardian(Worker.create(workerId, kernel, samples, onStop, telemetry, joinTimeout),
        "worker", cause -> onStop.accept(Worker.Outcome.FAILED)), NodeConfig.SYSTEM, config);
  }

  private static <T> Behavior<Void> guardian(Behavior<T> actor, String name) {
    // The coordinator says itself why it stopped (its run's result), a failure included.
    return guardian(actor, name, cause -> { });
  }

  /**
   * The root of a node: runs {@code actor} on the compute dispatcher and ends the node when it
   * stops, telling {@code onFailure} first when it stopped because it threw. Without that, a
   * worker that failed would look like one whose run was over, and its process would exit 0.
   */
  static <T> Behavior<Void> guardian(Behavior<T> actor, String name, Consumer<Throwable> onFailure) {
    return Behaviors.setup(ctx -> {
      ActorRef<T> ref = ctx.spawn(actor, name, DispatcherSelector.fromConfig(NodeConfig.COMPUTE_DISPATCHER));
      ctx.watch(ref);
      // Leave the cluster gracefully, then end the node.
      return Behaviors.receive(Void.class)
          .onSignal(ChildFailed.class, failed -> {
            onFailure.accept(failed.getCause());
            CoordinatedShutdown.get(ctx.getSystem()).runAll(CoordinatedShutdown.unknownReason());
            return Behaviors.same();
          })
          .onSignal(Terminated.class, t -> {
            CoordinatedShutdown.get(ctx.getSystem()).runAll(CoordinatedShutdown.unknownReason());
            return Behaviors.same();
          }).build();
    });
  }


  /** How long a node's shutdown may take before its process goes on without it. */
  private static final java.time.Duration SHUTDOWN_LIMIT = java.time.Duration.ofSeconds(30);

  /**
   * Waits for {@code node} to terminate, at most {@link #SHUTDOWN_LIMIT}: a shutdown phase that
   * never completes (measured: Artery over TLS, now and then) must not keep the process alive
   * after its run is over.
   */
  public static void awaitTermination(ActorSystem<?> node) {
    try {
      node.getWhenTerminated().toCompletableFuture().get(SHUTDOWN_LIMIT.toSeconds(),
          java.util.concurrent.TimeUnit.SECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      org.slf4j.LoggerFactory.getLogger(Nodes.class).warn("The node did not shut down within {} s; the process "
          + "ends without it", SHUTDOWN_LIMIT.toSeconds());
    } catch (java.util.concurrent.ExecutionException e) {
      // Terminated with a failure: terminated all the same.
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
