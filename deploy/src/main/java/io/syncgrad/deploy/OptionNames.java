package io.syncgrad.deploy;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/** The valid option nearest to a mistyped one, for a one-line answer to a typo. */
final class OptionNames {

  private OptionNames() {}

  /** The option of {@code spec} closest to {@code typed} in edit distance, or null if none is close. */
  static String nearest(String typed, CommandSpec spec) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (OptionSpec o : spec.options()) {
      if (o.hidden()) {
        continue;
      }
      for (String name : o.names()) {
        int d = distance(typed, name);
        if (d < bestDistance) {
          bestDistance = d;
          best = name;
        }
      }
    }
    // Farther than half the name: a guess would confuse more than it helps.
    return best != null && bestDistance <= Math.max(2, typed.length() / 2) ? best : null;
  }

  /** Levenshtein distance. */
  static int distance(String a, String b) {
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
