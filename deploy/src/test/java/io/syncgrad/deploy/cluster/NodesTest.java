package io.syncgrad.deploy.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.Behaviors;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A node's root tells a failed actor from one that stopped: a worker that threw must end its
 * process with a failure, not with the status of a run that is over.
 */
class NodesTest {

  private static final Config LOCAL = ConfigFactory.parseString("""
      akka.actor.provider = local
      syncgrad.compute-dispatcher { type = Dispatcher, executor = thread-pool-executor }
      """).withFallback(ConfigFactory.load());

  @Test
  void anActorThatThrowsIsReportedAndEndsItsNode() throws Exception {
    CompletableFuture<Throwable> failure = new CompletableFuture<>();
    Behavior<String> throwing = Behaviors.receiveMessage(m -> {
      throw new IllegalStateException("a bug on " + m);
    });
    ActorSystem<Void> node = ActorSystem.create(Nodes.guardian(throwing, "worker", failure::complete), "node",
        LOCAL);
    // The guardian's child is the only actor under /user; reach it by its path.
    node.classicSystem().actorSelection("/user/worker").tell("message 1", akka.actor.ActorRef.noSender());
    assertEquals("a bug on message 1", failure.get(30, TimeUnit.SECONDS).getMessage());
    node.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @Test
  void anActorThatStopsIsNotAFailure() throws Exception {
    CompletableFuture<Throwable> failure = new CompletableFuture<>();
    ActorSystem<Void> node = ActorSystem.create(Nodes.guardian(Behaviors.stopped(), "worker", failure::complete),
        "node", LOCAL);
    node.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    assertFalse(failure.isDone(), "a stop is not a failure");
  }
}
