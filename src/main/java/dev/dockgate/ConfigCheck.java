package dev.dockgate;

import dev.dockgate.config.ConfigException;
import dev.dockgate.config.ConfigLoader;
import io.vertx.core.Vertx;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code --validate} ({@code -t}): loads and checks the config as a start would, with the same
 * environment and system properties, and prints "FILE: ok" with where each value not written in the
 * file came from, or every problem; nothing listens. Its output is the command's result, so it goes
 * to standard output (ok) and standard error (problems), not to the log.
 */
final class ConfigCheck {

  private ConfigCheck() {
  }

  /** The exit status: 0 valid, 1 not; {@code instances}: the command line's -instances, or null. */
  static int run(String path, Integer instances) {
    Vertx vertx = Vertx.vertx();
    try {
      ConfigLoader.Loaded loaded = Features.check(vertx, path).toCompletionStage().toCompletableFuture()
          .get(60, TimeUnit.SECONDS);
      System.out.println(report(path, loaded, instances));
      return 0;
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      int count = cause instanceof ConfigException ce ? ce.problems().size() : 1;
      System.err.println(cause instanceof ConfigException ? cause.getMessage() : path + ": " + cause);
      System.err.println(path + ": invalid (" + count + (count == 1 ? " problem)" : " problems)"));
      return 1;
    } catch (TimeoutException e) {
      System.err.println(path + ": not checked within 60 s");
      return 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 1;
    } finally {
      vertx.close();
    }
  }

  /**
   * "FILE: ok (N routes, M backends)", then one line per value from outside the file (never the value: it
   * may be a secret); {@code -instances} on the command line wins over every other source of server.instances.
   */
  static String report(String path, ConfigLoader.Loaded loaded, Integer instances) {
    StringBuilder out = new StringBuilder(path).append(": ok (").append(loaded.config().routes().size())
        .append(" route(s), ").append(loaded.config().backends().size()).append(" backend(s))");
    Map<String, String> origins = new java.util.LinkedHashMap<>(loaded.origins());
    if (instances != null) {
      String under = origins.get("server.instances");
      origins.put("server.instances", "command line -instances" + (under == null ? "" : " (over " + under + ")"));
    }
    if (origins.isEmpty()) {
      out.append("\nevery value as written in the file, or its default");
    } else {
      out.append("\nvalues not written in the file (every other one is, or is its default):");
      origins.forEach((field, origin) -> out.append("\n  ").append(field).append(": ").append(origin));
    }
    return out.toString();
  }
}
