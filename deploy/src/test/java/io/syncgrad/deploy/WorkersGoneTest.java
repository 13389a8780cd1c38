package io.syncgrad.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** When a launcher's worker processes can no longer carry its run. */
class WorkersGoneTest {

  private static WorkersGone.Worker running(String name) {
    return new WorkersGone.Worker(name, OptionalInt.empty());
  }

  private static WorkersGone.Worker ended(String name, int status) {
    return new WorkersGone.Worker(name, OptionalInt.of(status));
  }

  @Test
  void aRunGoesOnWhileOneWorkerRuns() {
    assertNull(WorkersGone.verdict(List.of(ended("worker-00", 137), running("worker-01"))));
  }

  @Test
  void aWorkerThatEndedItsRunMeansTheCoordinatorIsFinishingIt() {
    assertNull(WorkersGone.verdict(List.of(ended("worker-00", 137), ended("worker-01", 0))));
  }

  @Test
  void workersThatAllFailedEndTheRunSayingHow() {
    assertEquals("worker-00 status 2, worker-01 status 137",
        WorkersGone.verdict(List.of(ended("worker-00", 2), ended("worker-01", 137))));
  }

  @Test
  void noWorkersIsNoVerdict() {
    assertNull(WorkersGone.verdict(List.of()));
  }
}
