package io.syncgrad.coordinator;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;

class FrameSizeTest {

  private static Config cluster(String frame) {
    return ConfigFactory.parseString("akka.actor.provider = cluster\n"
        + "akka.remote.artery.advanced.maximum-frame-size = " + frame);
  }

  @Test
  void weightsMustFitOneFrame() {
    assertNull(Coordinator.frameProblem(cluster("64MiB"), 10_000_000));
    String problem = Coordinator.frameProblem(cluster("256KiB"), 235_146);
    assertTrue(problem.startsWith("the model's 235146 parameters need messages of 1006120 bytes, more than "
        + "akka.remote.artery.advanced.maximum-frame-size = 262144"), problem);
    assertNull(Coordinator.frameProblem(ConfigFactory.parseString("akka.actor.provider = local"), 235_146));
  }
}
