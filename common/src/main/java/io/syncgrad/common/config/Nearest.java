package io.syncgrad.common.config;

/**
 * The known name nearest to a mistyped one, so that a typo (an option, a configuration key) is
 * answered in one line with what was probably meant.
 */
public final class Nearest {

  private Nearest() {}

  /**
   * The name of {@code known} closest to {@code typed} in edit distance, or null when none is
   * close: farther than half the typed name, a guess would confuse more than it helps.
   */
  public static String name(String typed, Iterable<String> known) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String name : known) {
      int d = distance(typed, name);
      if (d < bestDistance) {
        bestDistance = d;
        best = name;
      }
    }
    return best != null && bestDistance <= Math.max(2, typed.length() / 2) ? best : null;
  }

  /** Levenshtein distance. */
  public static int distance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
        cur[j] = Math.min(sub, Math.min(prev[j] + 1, cur[j - 1] + 1));
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }
}
