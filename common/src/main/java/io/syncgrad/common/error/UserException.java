package io.syncgrad.common.error;

import java.util.List;

/**
 * A problem with what the user gave us (a file, a flag, a checkpoint) rather than a bug. The
 * command line prints its message and exits non-zero, without a stack trace, so the message
 * must say everything: the file, the record or line, what was expected and what was found.
 */
public class UserException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  private final List<String> problems;

  /** One problem. */
  public UserException(String message) {
    this(List.of(message));
  }

  /** One problem with its cause (kept for debugging, never printed to the user). */
  public UserException(String message, Throwable cause) {
    super(message, cause);
    this.problems = List.of(message);
  }

  /** Every problem found, most important first. */
  public UserException(List<String> problems) {
    super(String.join(System.lineSeparator(), problems));
    if (problems.isEmpty()) {
      throw new IllegalArgumentException("a UserException needs at least one problem");
    }
    this.problems = List.copyOf(problems);
  }

  /** Every problem, one line each. */
  public List<String> problems() {
    return problems;
  }
}
