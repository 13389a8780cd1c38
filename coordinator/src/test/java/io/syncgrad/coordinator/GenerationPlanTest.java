package io.syncgrad.coordinator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The members, start, state source and shard blocks of a new generation. */
class GenerationPlanTest {

  private static Map<String, Long> answers(Object... idAndStep) {
    Map<String, Long> m = new LinkedHashMap<>();
    for (int i = 0; i < idAndStep.length; i += 2) {
      m.put((String) idAndStep[i], ((Number) idAndStep[i + 1]).longValue());
    }
    return m;
  }

  @Test
  void blocksOfConsecutiveShardsByRank() {
    GenerationPlan p = GenerationPlan.of(answers("w2", 40, "w0", 40, "w1", 40), 8);
    assertEquals(List.of("w2", "w0", "w1"), p.members(), "ranked in the map's order");
    assertArrayEquals(new int[] {0, 2, 5}, p.firsts());
    assertArrayEquals(new int[] {2, 5, 8}, p.ends());
    assertEquals(Map.of("w2", List.of(0, 1), "w0", List.of(2, 3, 4), "w1", List.of(5, 6, 7)), p.assignment());
  }

  @Test
  void theGenerationGoesOnFromTheFurthestStepWithTheStateOfTheFirstThatHasIt() {
    GenerationPlan p = GenerationPlan.of(answers("a", 10, "b", 12, "c", 12), 4);
    assertEquals(12, p.start());
    assertEquals("b", p.source());
  }

  @Test
  void noMoreMembersThanShards() {
    GenerationPlan p = GenerationPlan.of(answers("a", 0, "b", 0, "c", 0), 2);
    assertEquals(List.of("a", "b"), p.members());
    assertArrayEquals(new int[] {1, 2}, p.ends());
  }

  @Test
  void nobodyAnsweredNoPlan() {
    assertNull(GenerationPlan.of(new LinkedHashMap<>(), 8));
  }
}
