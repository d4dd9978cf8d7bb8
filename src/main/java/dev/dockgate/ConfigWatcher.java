package dev.dockgate;

import dev.dockgate.config.ConfigException;
import dev.dockgate.config.ConfigLoader;
import dev.dockgate.config.GatewayConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.file.FileProps;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * Watches the config file (modification time and size, every {@code periodMs}) and on a change, or
 * when asked, loads and validates it again. A valid new config goes to {@code onChange}; an invalid
 * one is reported once, with every problem, and the running config stays. When asked (SIGHUP) the
 * outcome is logged every time: the rejection again, or that the valid file changed nothing. Runs on
 * one event loop.
 *
 * <p>Settings that apply only after a restart ({@link dev.dockgate.config.RestartFields}) are compared
 * with the config the process started with, which is what its listeners and verticles run with, not
 * with the last file loaded: every reload whose file differs there names them, and one back to the
 * running value is named no more (an INFO line says so once).
 */
final class ConfigWatcher {

  private static final Logger LOG = Logger.getLogger(ConfigWatcher.class.getName());

  private final Vertx vertx;
  private final String path;
  private final Consumer<GatewayConfig> onChange;
  /** The config the process started with: what the restart-only settings run with. */
  private final GatewayConfig started;
  private GatewayConfig current;
  /** The restart-only settings the last accepted file differed in from {@link #started}. */
  private java.util.List<String> pendingRestart = java.util.List.of();
  private String fingerprint;
  private String lastRejection;
  private boolean loading;
  private long timer;

  ConfigWatcher(Vertx vertx, GatewayConfig current, Consumer<GatewayConfig> onChange) {
    this.vertx = vertx;
    this.path = current.source();
    this.started = current;
    this.current = current;
    this.onChange = onChange;
  }

  Future<Void> start(long periodMs) {
    return fingerprint().map(f -> {
      fingerprint = f;
      timer = vertx.setPeriodic(periodMs, id -> check());
      return null;
    });
  }

  void stop() {
    vertx.cancelTimer(timer);
  }

  /** Reloads now, whatever the file's time stamp says (SIGHUP). */
  void reload() {
    fingerprint().onComplete(ar -> load(ar.succeeded() ? ar.result() : null, true));
  }

  private void check() {
    if (loading) {
      return;
    }
    fingerprint().onSuccess(f -> {
      if (!f.equals(fingerprint)) {
        load(f, false);
      }
    }).onFailure(err -> reject(path + ": cannot read config file: " + err.getMessage(), false));
  }

  /**
   * The config file's time stamp and size, then those of the API-key files read by the auth blocks
   * of its routes ({@code keys_file}: a key added there applies like a change to the config itself); a key file that is gone
   * counts as a change too, and its load then names the problem.
   */
  private Future<String> fingerprint() {
    java.util.List<Future<String>> parts = new java.util.ArrayList<>();
    parts.add(vertx.fileSystem().props(path).map(ConfigWatcher::fingerprintOf));
    for (String file : keyFiles(current)) {
      parts.add(vertx.fileSystem().props(file).map(ConfigWatcher::fingerprintOf).otherwise("missing"));
    }
    return Future.all(parts).map(all -> {
      StringBuilder print = new StringBuilder();
      for (int i = 0; i < all.size(); i++) {
        print.append(all.<String>resultAt(i)).append(';');
      }
      return print.toString();
    });
  }

  static java.util.Set<String> keyFiles(GatewayConfig config) {
    java.util.Set<String> files = new java.util.TreeSet<>();
    for (dev.dockgate.config.RouteConfig route : config.routes()) {
      dev.dockgate.auth.AuthParser.Auth auth = route.block("auth", dev.dockgate.auth.AuthParser.Auth.class);
      if (auth != null && auth.apiKeys() != null && auth.apiKeys().keysFile() != null) {
        files.add(auth.apiKeys().keysFile());
      }
    }
    return files;
  }

  private static String fingerprintOf(FileProps props) {
    return props.lastModifiedTime() + "/" + props.size();
  }

  /** {@code asked}: on SIGHUP, whose sender is owed an answer in the log whatever it is. */
  private void load(String seen, boolean asked) {
    loading = true;
    fingerprint = seen;
    Features.load(vertx, path)
        .onSuccess(next -> accept(next, asked))
        .onFailure(err -> reject(err instanceof ConfigException ? err.getMessage() : path + ": " + err, asked))
        .onComplete(ar -> loading = false);
  }

  private void accept(GatewayConfig next, boolean asked) {
    boolean wasRejected = lastRejection != null;
    lastRejection = null;
    if (next.equals(current)) {
      if (asked) {
        LOG.info("config " + path + " read again on SIGHUP: valid, unchanged");
      } else if (wasRejected) {
        LOG.info("config " + path + " valid again, the same as the running config");
      }
      return;
    }
    java.util.List<String> restart = dev.dockgate.config.RestartFields.changed(started, next);
    if (!restart.isEmpty()) {
      LOG.warning("config " + path + ": " + String.join(", ", restart)
          + " changed and apply after a restart (the running values stay until then); every other change applies now");
    }
    java.util.List<String> back = new java.util.ArrayList<>(pendingRestart);
    back.removeAll(restart);
    if (!back.isEmpty()) {
      LOG.info("config " + path + ": " + String.join(", ", back)
          + (back.size() == 1 ? " matches the running value" : " match the running values") + " again (no restart needed)");
    }
    pendingRestart = restart;
    current = next;
    LOG.info("config reloaded from " + path + ": " + next.routes().size() + " route(s), "
        + next.backends().size() + " backend(s)");
    onChange.accept(next);
  }

  private void reject(String message, boolean asked) {
    if (asked || !message.equals(lastRejection)) {
      lastRejection = message;
      LOG.warning("config change rejected, the running config stays:\n" + message);
    }
  }
}
