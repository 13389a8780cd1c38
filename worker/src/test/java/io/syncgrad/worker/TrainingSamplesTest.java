package io.syncgrad.worker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.syncgrad.common.data.Dataset;
import io.syncgrad.common.data.Normalization;
import io.syncgrad.common.protocol.DataSpec;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The workers of one JVM share one parsed copy of the samples and one normalised copy; a worker
 * process normalises its own copy in place. Both give the same features.
 */
class TrainingSamplesTest {

  private static final DataSpec SPEC = new DataSpec(null, null, 0, 0, "0", 7);

  private static Dataset raw() {
    return new Dataset("test", new float[] {0, 51, 102, 255, 10, 20}, new int[] {0, 1, 2}, 3, 2, true);
  }

  private static Normalization scale() {
    return new Normalization(Normalization.Kind.SCALE, new float[2], new float[] {1f / 255f, 1f / 255f});
  }

  @Test
  void workersOfOneJvmShareOneParsedAndOneNormalisedCopy() {
    AtomicInteger parsed = new AtomicInteger();
    TrainingSamples shared = TrainingSamples.sharedInProcess(spec -> {
      parsed.incrementAndGet();
      return raw();
    });
    Dataset a = shared.load(SPEC);
    Dataset b = shared.load(SPEC);
    assertSame(a, b, "one parsed copy");
    assertEquals(1, parsed.get());
    // Each worker normalises with its own (equal) copy of the run's statistics, as they arrive in its StartRun.
    Dataset na = shared.normalized(a, scale());
    Dataset nb = shared.normalized(b, scale());
    assertSame(na, nb, "one normalised copy for equal statistics");
    assertArrayEquals(raw().features(), a.features(), "the parsed copy is left as it was read");

    Dataset own = TrainingSamples.ownCopy(spec -> raw()).load(SPEC);
    Dataset ownNormalised = TrainingSamples.ownCopy(spec -> raw()).normalized(own, scale());
    assertSame(own, ownNormalised, "a worker process normalises its copy in place");
    assertArrayEquals(ownNormalised.features(), na.features(), "the same features either way");

    Normalization other = new Normalization(Normalization.Kind.SCALE, new float[2], new float[] {1f, 1f});
    assertNotSame(na, shared.normalized(a, other), "other statistics, another copy");
  }

  @Test
  void aFailedLoadIsNotKeptAndStatisticsOfAnotherWidthAreRefusedAsBefore() {
    AtomicInteger tries = new AtomicInteger();
    TrainingSamples shared = TrainingSamples.sharedInProcess(spec -> {
      if (tries.incrementAndGet() == 1) {
        throw new IllegalStateException("the disk is busy");
      }
      return raw();
    });
    assertThrows(IllegalStateException.class, () -> shared.load(SPEC));
    Dataset a = shared.load(SPEC);
    assertEquals(2, tries.get(), "the next worker tries again");

    Normalization wide = new Normalization(Normalization.Kind.SCALE, new float[3], new float[] {1f, 1f, 1f});
    IllegalArgumentException shared3 = assertThrows(IllegalArgumentException.class,
        () -> shared.normalized(a, wide));
    IllegalArgumentException own3 = assertThrows(IllegalArgumentException.class,
        () -> TrainingSamples.ownCopy(spec -> raw()).normalized(raw(), wide));
    assertEquals(own3.getMessage(), shared3.getMessage(), "the worker reports the same problem either way");
    assertArrayEquals(raw().features(), a.features());
  }
}
