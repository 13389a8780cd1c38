package io.syncgrad.worker;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueFactory;
import io.syncgrad.common.error.UserException;
import io.syncgrad.common.protocol.DataSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The folders a worker reads training data from. The paths of a {@code StartRun} come over the
 * network, the word of whoever sent it, so a worker reads a file only when its real path (every
 * symbolic link resolved) lies inside one of its roots; an IDX folder's entries too. The run's
 * default data (Fashion-MNIST where Debian installs it, else the sample inside the jar) is read
 * whatever the roots, since the message names no path for it.
 *
 * <p>A path outside every root is refused before the file system is asked anything about it, so
 * that the answer does not tell whether it exists.
 *
 * @param roots each root as configured (absolute) and as its real path, in that order
 */
public record DataRoots(List<Root> roots) {

  /** The configuration key: a list of folders; empty for {@link #defaults}. */
  public static final String KEY = "syncgrad.worker.data-roots";
  /** Where Debian's {@code dataset-*} packages put data sets. */
  public static final Path SYSTEM_DATASETS = Path.of("/usr/share/datasets");

  /** One root: as given (made absolute), and its real path. */
  public record Root(Path given, Path real) {}

  public DataRoots {
    roots = List.copyOf(roots);
  }

  /**
   * The roots of a node's configuration ({@link #KEY}).
   *
   * @throws UserException naming a root that is not a folder
   */
  public static DataRoots fromConfig(Config c) {
    List<String> configured = c.hasPath(KEY) ? c.getStringList(KEY) : List.of();
    return configured.isEmpty() ? defaults() : of(configured.stream().map(Path::of).toList());
  }

  /**
   * @throws UserException naming a root that is not a folder
   */
  public static DataRoots of(List<Path> folders) {
    List<Root> roots = new ArrayList<>();
    for (Path f : folders) {
      Path given = f.toAbsolutePath().normalize();
      try {
        Path real = given.toRealPath();
        if (!Files.isDirectory(real)) {
          throw new UserException(f + ": a data root must be a folder (" + KEY + ", --data-root)");
        }
        roots.add(new Root(given, real));
      } catch (IOException e) {
        throw new UserException(f + ": no such data root folder (" + KEY + ", --data-root)", e);
      }
    }
    return new DataRoots(roots);
  }

  /** {@code config} with {@code folders} as its roots; unchanged without any. */
  public static Config configure(Config config, List<Path> folders) {
    if (folders.isEmpty()) {
      return config;
    }
    return config.withValue(KEY, ConfigValueFactory.fromIterable(folders.stream().map(Path::toString).toList()));
  }

  /** The roots as given, for messages. */
  @Override
  public String toString() {
    return roots.stream().map(r -> r.given().toString()).toList().toString();
  }

  /** Without configured roots: the working directory, and {@link #SYSTEM_DATASETS} where it exists. */
  public static DataRoots defaults() {
    List<Path> folders = new ArrayList<>(List.of(Path.of("")));
    if (Files.isDirectory(SYSTEM_DATASETS)) {
      folders.add(SYSTEM_DATASETS);
    }
    return of(folders);
  }

  /**
   * The roots a launcher gives the workers it starts on this machine for {@code data}: the
   * folders its files are in (a file's folder, an IDX folder itself, and the folders its entries
   * link to), so that they read what the user named and nothing else. Empty for the default data.
   */
  public static List<Path> covering(DataSpec data) {
    Set<Path> out = new LinkedHashSet<>();
    for (String p : new String[] {data.data(), data.testData()}) {
      if (p == null) {
        continue;
      }
      try {
        Path real = Path.of(p).toRealPath();
        if (!Files.isDirectory(real)) {
          out.add(real.getParent());
          continue;
        }
        out.add(real);
        try (Stream<Path> entries = Files.list(real)) {
          for (Path e : (Iterable<Path>) entries::iterator) {
            out.add(e.toRealPath().getParent());
          }
        }
      } catch (IOException e) {
        // Not there (or not readable) here: the coordinator refuses the data before any worker reads it.
      }
    }
    return List.copyOf(out);
  }

  /**
   * Refuses {@code data} unless every file it names lies inside a root: a message naming the
   * path, the roots and how to widen them, never anything read from a file.
   *
   * @param worker names the worker in messages
   * @throws UserException when a path is outside the roots, or is not there
   */
  public void check(DataSpec data, String worker) {
    for (String p : new String[] {data.data(), data.testData()}) {
      if (p != null) {
        check(p, worker);
      }
    }
  }

  private void check(String path, String worker) {
    Path given = Path.of(path).toAbsolutePath().normalize();
    if (roots.stream().noneMatch(r -> given.startsWith(r.given()) || given.startsWith(r.real()))) {
      throw outside(path, worker, "");
    }
    Path real;
    try {
      real = given.toRealPath();
    } catch (NoSuchFileException e) {
      throw new UserException(path + ": no such file or folder on worker " + worker);
    } catch (IOException e) {
      throw new UserException(path + ": cannot be resolved on worker " + worker + " (" + e.getClass().getSimpleName()
          + ")");
    }
    if (!inside(real)) {
      throw outside(path, worker, " (through a symbolic link)");
    }
    if (Files.isRegularFile(real)) {
      return;
    }
    if (!Files.isDirectory(real)) {
      throw new UserException(path + ": not a file or folder on worker " + worker);
    }
    try (Stream<Path> entries = Files.list(real)) {
      for (Path e : (Iterable<Path>) entries::iterator) {
        Path target;
        try {
          target = e.toRealPath();
        } catch (IOException dangling) {
          continue;  // A link to nothing is never read.
        }
        if (!inside(target)) {
          throw outside(e.toString(), worker, " (through a symbolic link)");
        }
      }
    } catch (IOException e) {
      throw new UserException(path + ": cannot be listed on worker " + worker + " (" + e.getClass().getSimpleName()
          + ")");
    }
  }

  private boolean inside(Path real) {
    return roots.stream().anyMatch(r -> real.startsWith(r.real()));
  }

  private UserException outside(String path, String worker, String how) {
    return new UserException(path + ": outside the data roots of worker " + worker + how + "; it reads training "
        + "data only under " + this
        + " (syncgrad worker --data-root DIR, or " + KEY + ")");
  }
}
