package io.syncgrad.common.error;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
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

  /**
   * An I/O failure on a file the user named or a run writes (a full disk, a read-only folder):
   * the path and the system's reason, {@code run/model.pb: cannot write (No space left on device)}.
   *
   * @param doing what failed, {@code write} or {@code read the checkpoint}
   */
  public static UserException io(Path path, String doing, IOException e) {
    return new UserException(path + ": cannot " + doing + " (" + reason(path, e) + ")", e);
  }

  /** The system's words for {@code e}, with the file it concerns when that is not {@code path}. */
  private static String reason(Path path, IOException e) {
    if (!(e instanceof FileSystemException f)) {
      return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }
    String why = f.getReason();
    if (why == null) {
      why = f instanceof AccessDeniedException ? "Permission denied"
          : f instanceof NoSuchFileException ? "No such file or directory"
          : f instanceof NotDirectoryException ? "Not a directory"
          : f instanceof FileAlreadyExistsException ? "File exists"
          : f instanceof DirectoryNotEmptyException ? "Directory not empty"
          : f.getClass().getSimpleName();
    }
    // A rename's source is the temporary file beside the path: the path says enough.
    boolean aboutPath = f.getFile() == null || same(f.getFile(), path) || (f.getOtherFile() != null
        && same(f.getOtherFile(), path));
    return aboutPath ? why : f.getFile() + ": " + why;
  }

  private static boolean same(String file, Path path) {
    return Path.of(file).toAbsolutePath().equals(path.toAbsolutePath());
  }

  /** Every problem, one line each. */
  public List<String> problems() {
    return problems;
  }
}
