package io.syncgrad.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.typesafe.config.ConfigFactory;
import io.syncgrad.common.error.UserException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainSettingsTest {

  @TempDir
  Path dir;

  @Test
  void unknownKeysAreRefusedWithFileLineAndTheKeyMeant() throws IOException {
    UserException e = assertThrows(UserException.class, () -> fromFile("typo.conf",
        "learning-rate = 0.01\nepoch = 2\nbatch_size = 32\nbach-size = 32\ncolour = red\nlr = 0.1\n\n\n\n"
            + "batchSize = 8\n"));
    assertEquals(List.of(
        "typo.conf:1: unknown key 'learning-rate'; did you mean 'lr'?",
        "typo.conf:2: unknown key 'epoch'; did you mean 'epochs'?",
        "typo.conf:3: unknown key 'batch_size'; did you mean 'batch-size'?",
        "typo.conf:4: unknown key 'bach-size'; did you mean 'batch-size'?",
        "typo.conf:5: unknown key 'colour'; see syncgrad train --help",
        "typo.conf:10: unknown key 'batchSize'; did you mean 'batch-size'?"), e.problems());
  }

  @Test
  void unknownKeysAreReportedWithTheOtherProblems() throws IOException {
    UserException e = assertThrows(UserException.class, () -> fromFile("both.conf", "epoch = 2\nlr = -1\n"));
    assertEquals(List.of(
        "both.conf:1: unknown key 'epoch'; did you mean 'epochs'?",
        "both.conf:2: field 'lr' must be > 0, got -1"), e.problems());
  }

  @Test
  void keysOfAnUnknownBlockAreNamedEachOnItsLine() throws IOException {
    UserException e = assertThrows(UserException.class, () -> fromFile("block.conf",
        "lr = 0.1\ntrain {\n  layers = [64]\n  colour = red\n}\n"));
    assertEquals(List.of(
        "block.conf:3: unknown key 'train.layers'; did you mean 'layers'?",
        "block.conf:4: unknown key 'train.colour'; see syncgrad train --help"), e.problems());
  }

  @Test
  void everyKeyOfTheReferenceIsKnown() throws IOException {
    TrainSettings s = fromFile("known.conf", "lr = 0.5\nepochs = 3\nbatch-size = 16\n");
    assertEquals(0.5, s.lr());
    assertEquals(3, s.epochs());
    assertEquals(16, s.batchSize());
  }

  private TrainSettings fromFile(String name, String text) throws IOException {
    Path file = Files.writeString(dir.resolve(name), text);
    return TrainSettings.fromConfig(ConfigFactory.parseFile(file.toFile())
        .withFallback(ConfigFactory.defaultReference().getConfig(TrainSettings.PATH)).resolve());
  }
}
