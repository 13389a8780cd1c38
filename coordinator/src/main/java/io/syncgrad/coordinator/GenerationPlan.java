package io.syncgrad.coordinator;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Who does what in a new generation, decided from the answers to its {@code Prepare}: the
 * members (at most one per shard), the step they go on from (the furthest any of them applied,
 * whose state the others take from the first member that holds it), and each member's block of
 * consecutive shards, member i holding {@code [i·S/W, (i+1)·S/W)}.
 *
 * <p>The blocks depend on the member count alone, and the reduction tree on the shard count
 * alone, so a generation of any size computes the same sums (the README's "Reduction order").
 *
 * @param members the members in rank order
 * @param start   the step the generation goes on from
 * @param source  the first member whose state is at {@code start}
 * @param firsts  member i's first shard
 * @param ends    member i's end shard (exclusive)
 */
record GenerationPlan(List<String> members, long start, String source, int[] firsts, int[] ends) {

  /**
   * @param answered each answering worker's applied steps; members rank in its order (the
   *                 coordinator's is by name)
   * @param shards   the run's shards
   * @return null when nobody answered
   */
  static GenerationPlan of(Map<String, Long> answered, int shards) {
    List<String> ids = new ArrayList<>(answered.keySet());
    if (ids.size() > shards) {
      ids = ids.subList(0, shards);
    }
    if (ids.isEmpty()) {
      return null;
    }
    long start = 0;
    for (String id : ids) {
      start = Math.max(start, answered.get(id));
    }
    String source = null;
    int w = ids.size();
    int[] firsts = new int[w];
    int[] ends = new int[w];
    for (int i = 0; i < w; i++) {
      firsts[i] = i * shards / w;
      ends[i] = (i + 1) * shards / w;
      if (source == null && answered.get(ids.get(i)) == start) {
        source = ids.get(i);
      }
    }
    return new GenerationPlan(List.copyOf(ids), start, source, firsts, ends);
  }

  /** Each member's shards, in rank order: for the run report and the log. */
  Map<String, List<Integer>> assignment() {
    Map<String, List<Integer>> out = new LinkedHashMap<>();
    for (int i = 0; i < members.size(); i++) {
      List<Integer> block = new ArrayList<>();
      for (int s = firsts[i]; s < ends[i]; s++) {
        block.add(s);
      }
      out.put(members.get(i), block);
    }
    return out;
  }
}
