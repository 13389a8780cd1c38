package io.syncgrad.deploy.cluster;

import akka.actor.Address;
import akka.actor.typed.ActorSystem;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import io.syncgrad.common.config.TrainSettings;
import io.syncgrad.common.error.UserException;
import io.syncgrad.common.math.MatrixKernel;
import io.syncgrad.common.protocol.DataSpec;
import io.syncgrad.common.train.RunSummary;
import io.syncgrad.common.train.TrainingListener;
import io.syncgrad.common.train.TrainingRun;
import io.syncgrad.coordinator.CoordinatorSettings;
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
 * serialised and sent over Artery, exactly as between machines.
 */
public final class LocalCluster {

  private static final Duration SHUTDOWN = Duration.ofSeconds(30);

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

  /** Runs the whole training and returns its summary. */
  public static RunSummary run(TrainSettings settings, java.util.Set<String> explicitKeys, MatrixKernel kernel,
      TrainingListener listener, int workers, boolean allowMixedKernels) throws IOException {
    try (TrainingRun run = TrainingRun.prepare(settings, explicitKeys, kernel, listener)) {
      CompletableFuture<RunSummary> result = new CompletableFuture<>();
      DataSpec data = new DataSpec(settings.data(), settings.testData(), settings.testFraction(),
          settings.labelColumn(), settings.seed());
      List<ActorSystem<Void>> systems = new ArrayList<>();
      try {
        ActorSystem<Void> coordinator = Nodes.coordinator(run,
            new CoordinatorSettings(workers, data, allowMixedKernels), result,
            NodeConfig.of("127.0.0.1", 0, List.of(), "coordinator"));
        systems.add(coordinator);
        Address address = Cluster.get(coordinator).selfMember().address();
        Cluster.get(coordinator).manager().tell(Join.create(address));
        for (int i = 0; i < workers; i++) {
          ActorSystem<Void> worker = Nodes.worker(String.format("worker-%02d", i), kernel,
              NodeConfig.of("127.0.0.1", 0, List.of(), "worker"));
          systems.add(worker);
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
        // Workers stop and leave the cluster by themselves once told the run is over; the
        // coordinator's node goes last, so nobody is left talking to a closed port.
        for (int i = systems.size() - 1; i >= 0; i--) {
          ActorSystem<Void> s = systems.get(i);
          try {
            long wait = i == 0 || result.isCompletedExceptionally() ? 1 : SHUTDOWN.toMillis();
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
    }
  }
}
