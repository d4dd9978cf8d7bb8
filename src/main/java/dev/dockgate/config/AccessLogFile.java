package dev.dockgate.config;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Whether the access log's file ({@code access_log.path}) can be opened for appending: checked when the
 * config is loaded, without creating the file, so that a start, {@code -t} and a reload report a missing or
 * read-only directory under its field; and the words for an open that failed anyway. Reads the file system:
 * the loader calls it off the event loop. The path is taken as the access log opens it (relative to the
 * working directory).
 */
public final class AccessLogFile {

  /**
   * The paths access logs of this process have open: a reload keeping one is not refused when its directory has gone
   * or turned read-only meanwhile (the log writes on to its open file; only a change of path needs a new open).
   */
  private static final java.util.concurrent.ConcurrentHashMap<String, Integer> OPEN =
      new java.util.concurrent.ConcurrentHashMap<>();

  private AccessLogFile() {
  }

  /** An access log opened {@code path}. */
  public static void opened(String path) {
    OPEN.merge(path, 1, Integer::sum);
  }

  /** The access log of {@code path} stopped. */
  public static void closed(String path) {
    OPEN.computeIfPresent(path, (p, n) -> n > 1 ? n - 1 : null);
  }

  /** As {@link #problem}, but null for a path an access log of this process has open. */
  public static String problemUnlessOpen(String path) {
    return OPEN.containsKey(path) ? null : problem(path);
  }

  /** Null when {@code path} can be appended to, or created; else why not: {@code cannot open "PATH": PROBLEM}. */
  public static String problem(String path) {
    Path file;
    try {
      file = Path.of(path);
    } catch (java.nio.file.InvalidPathException e) {
      return cannotOpen(path, "not a valid path");
    }
    if (Files.exists(file)) {
      if (Files.isDirectory(file)) {
        return cannotOpen(path, "it is a directory");
      }
      return Files.isWritable(file) ? null : cannotOpen(path, "permission denied");
    }
    Path dir = file.toAbsolutePath().getParent();
    if (dir == null || !Files.exists(dir)) {
      return cannotOpen(path, "no such directory");
    }
    if (!Files.isDirectory(dir)) {
      return cannotOpen(path, "\"" + dir + "\" is not a directory");
    }
    return Files.isWritable(dir) ? null : cannotOpen(path, "directory \"" + dir + "\" is not writable");
  }

  /** Why opening {@code path} failed with {@code error}: as {@link #problem} words it when it sees one, else the error's. */
  public static String openFailed(String path, Throwable error) {
    String problem = problem(path);
    if (problem != null) {
      return problem;
    }
    String why = error instanceof java.nio.file.FileSystemException fs && fs.getReason() != null ? fs.getReason()
        : error.getMessage() == null ? error.getClass().getSimpleName() : error.getMessage();
    return cannotOpen(path, why.replace('\n', ' ').trim());
  }

  private static String cannotOpen(String path, String why) {
    return "cannot open \"" + path + "\": " + why;
  }
}
