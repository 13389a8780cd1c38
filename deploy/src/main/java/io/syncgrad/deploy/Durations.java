package io.syncgrad.deploy;

import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import io.syncgrad.common.error.UserException;
import java.time.Duration;

/** Durations on the command line in HOCON's units: {@code 500ms}, {@code 30s}, {@code 2m}. */
final class Durations {

  private Durations() {}

  static Duration parse(String flag, String text) {
    try {
      Duration d = ConfigFactory.empty().withValue("d", ConfigValueFactory.fromAnyRef(text)).getDuration("d");
      if (d.isNegative() || d.isZero()) {
        throw new UserException(flag + " must be positive, got " + text);
      }
      return d;
    } catch (ConfigException e) {
      throw new UserException(flag + ": expected a duration such as 500ms, 30s or 2m, got '" + text + "'", e);
    }
  }
}
