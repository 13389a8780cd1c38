package io.syncgrad.deploy;

import io.syncgrad.common.config.Nearest;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/** The valid option nearest to a mistyped one, for a one-line answer to a typo. */
final class OptionNames {

  private OptionNames() {}

  /** The option of {@code spec} closest to {@code typed} in edit distance, or null if none is close. */
  static String nearest(String typed, CommandSpec spec) {
    List<String> names = new ArrayList<>();
    for (OptionSpec o : spec.options()) {
      if (!o.hidden()) {
        names.addAll(List.of(o.names()));
      }
    }
    return Nearest.name(typed, names);
  }
}
