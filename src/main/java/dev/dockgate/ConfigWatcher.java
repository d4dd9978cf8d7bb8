package dev.dockgate;

import dev.dockgate.config.ConfigException;
import dev.dockgate.config.ConfigLoader;
import dev.dockgate.config.GatewayConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * Watches the config file (modification and change times, size and inode, every {@code periodMs}) and on a
 * change, or when asked, loads and validates it again. A file replaced by another (renamed into place: a new inode,
 * as editors, {@code kubectl}'s ConfigMap links and careful scripts do) is loaded once seen unchanged at two checks
 * in a row; one changed in place once it was last modified {@link #SETTLE_MS} ago (or, should its clock be ahead of this one's, was seen
 * unchanged that long): a file being written (truncated, then filled; {@code scp} writing in chunks with pauses
 * shorter than that) is not applied half-way. An empty file (nothing but blanks and comments) is refused, as at start
 * (often a file caught while being written, or a wrong mount). A valid new config goes to
 * {@code onChange}; an invalid one is reported once, with every problem, and the running config stays. When asked (SIGHUP) the
 * outcome is logged every time: the rejection again, or that the valid file changed nothing. Runs on
 * one event loop.
 *
 * <p>The files of {@code server.tls} are watched the same way: when they change (written in place, renamed into
 * place as certbot and cert-manager do, or behind a swapped link as in a Kubernetes secret), the config is loaded
 * again, which checks them, and, valid, they go to {@code onCertificates} to be served; a config that names other
 * files does too. A pair that fails the checks is reported once and the served certificate stays.
 *
 * <p>Settings that apply only after a restart ({@link dev.dockgate.config.RestartFields}) are compared
 * with the config the process started with, which is what its listeners and verticles run with, not
 * with the last file loaded: every reload whose file differs there names them, and one back to the
 * running value is named no more (an INFO line says so once).
 */
final class ConfigWatcher {

  private static final Logger LOG = Logger.getLogger(ConfigWatcher.class.getName());
  /** How long a changed file must stay unchanged before it is loaded. */
  static final long SETTLE_MS = 500;

  private final Vertx vertx;
  private final String path;
  private final Consumer<GatewayConfig> onChange;
  private final Consumer<dev.dockgate.config.ServerConfig.Tls> onCertificates;
  /** The TLS files served and their stamps when they were last handed on (null: plain HTTP). */
  private dev.dockgate.config.ServerConfig.Tls servedTls;
  private java.util.List<Stamp> servedStamps;
  /** The config the process started with: what the restart-only settings run with. */
  private final GatewayConfig started;
  private GatewayConfig current;
  /** The restart-only settings the last accepted file differed in from {@link #started}. */
  private java.util.List<String> pendingRestart = java.util.List.of();
  private java.util.List<Stamp> fingerprint;
  /** A change seen but not loaded yet, and since when it has stayed so ({@link System#nanoTime}). */
  private java.util.List<Stamp> settling;
  private long settlingSinceNanos;
  private String lastRejection;
  private boolean loading;
  private long timer;

  ConfigWatcher(Vertx vertx, GatewayConfig current, Consumer<GatewayConfig> onChange,
      Consumer<dev.dockgate.config.ServerConfig.Tls> onCertificates) {
    this.vertx = vertx;
    this.path = current.source();
    this.started = current;
    this.current = current;
    this.onChange = onChange;
    this.onCertificates = onCertificates;
    this.servedTls = current.server().tls();
  }

  Future<Void> start(long periodMs) {
    return vertx.executeBlocking(() -> tlsStamps(servedTls), false).compose(stamps -> {
      servedStamps = stamps;
      return fingerprint();
    }).map(f -> {
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
      if (f.equals(fingerprint)) {
        settling = null;
        return;
      }
      boolean seenBefore = f.equals(settling);
      if (!seenBefore) {
        settling = f; // changed, or still changing
        settlingSinceNanos = System.nanoTime();
      }
      // Another file (renamed into place) that was the same at the last check too: an unlinked and recreated file
      // being written ("rm f; cat > f", install) is a new inode as well, and still changing.
      if (replaced(fingerprint, f) && seenBefore || System.currentTimeMillis() - modifiedMs(f) >= SETTLE_MS
          || System.nanoTime() - settlingSinceNanos >= SETTLE_MS * 1_000_000) {
        settling = null;
        load(f, false);
      }
    }).onFailure(err -> reject(path + ": cannot read config file: " + (err instanceof java.io.IOException io
        ? dev.dockgate.config.ConfigText.reason(io) : String.valueOf(err.getMessage())), false));
  }

  /**
   * The config file's time stamp and size, then those of the API-key files read by the auth blocks
   * of its routes ({@code keys_file}: a key added there applies like a change to the config itself), then those of
   * the certificate and key of {@code server.tls}; a file that is gone counts as a change too, and its load then
   * names the problem.
   */
  /** The config {@link #keyFiles} were last listed for (a walk over every route: once per config, not per check). */
  private GatewayConfig keyFilesOf;
  private java.util.Set<String> keyFiles = java.util.Set.of();

  private Future<java.util.List<Stamp>> fingerprint() {
    java.util.List<Future<Stamp>> parts = new java.util.ArrayList<>();
    parts.add(vertx.executeBlocking(() -> Stamp.of(path)));
    if (keyFilesOf != current) {
      keyFiles = keyFiles(current);
      keyFilesOf = current;
    }
    for (String file : keyFiles) {
      parts.add(vertx.executeBlocking(() -> Stamp.of(file)).otherwise(Stamp.MISSING));
    }
    dev.dockgate.config.ServerConfig.Tls tls = current.server().tls();
    if (tls != null) {
      parts.add(vertx.executeBlocking(() -> Stamp.of(tls.certFile())).otherwise(Stamp.MISSING));
      parts.add(vertx.executeBlocking(() -> Stamp.of(tls.keyFile())).otherwise(Stamp.MISSING));
    }
    return Future.all(parts).map(all -> all.<Stamp>list());
  }

  /** The stamps of the certificate and key files (none without TLS); a file that is gone is {@link Stamp#MISSING}. */
  static java.util.List<Stamp> tlsStamps(dev.dockgate.config.ServerConfig.Tls tls) {
    if (tls == null) {
      return java.util.List.of();
    }
    java.util.List<Stamp> stamps = new java.util.ArrayList<>(2);
    for (String file : new String[] {tls.certFile(), tls.keyFile()}) {
      try {
        stamps.add(Stamp.of(file));
      } catch (java.io.IOException gone) {
        stamps.add(Stamp.MISSING);
      }
    }
    return stamps;
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

  /**
   * A file's modification time, size, and where the file system tells them (else null), its change time and inode: a
   * file replaced by one of the same size and modification time ({@code cp -p}, {@code rsync -a}, {@code touch -r})
   * still has another change time (which no tool sets) or inode. Symbolic links are followed (a ConfigMap's swapped
   * {@code ..data} link is a change of the file it leads to).
   */
  record Stamp(long modifiedMs, long size, Object changed, Object inode) {
    /** A key file that is gone. */
    static final Stamp MISSING = new Stamp(0, -1, null, null);

    static Stamp of(String file) throws java.io.IOException {
      java.nio.file.Path p = java.nio.file.Path.of(file);
      java.nio.file.attribute.BasicFileAttributes basic =
          java.nio.file.Files.readAttributes(p, java.nio.file.attribute.BasicFileAttributes.class);
      try {
        java.util.Map<String, Object> unix = java.nio.file.Files.readAttributes(p, "unix:ctime,ino");
        return new Stamp(basic.lastModifiedTime().toMillis(), basic.size(), unix.get("ctime"), unix.get("ino"));
      } catch (UnsupportedOperationException | IllegalArgumentException notUnix) {
        return new Stamp(basic.lastModifiedTime().toMillis(), basic.size(), null, null);
      }
    }
  }

  /** Loads under way or waiting: they run one after the other, in the order asked. */
  private int loads;
  private Future<Void> loaded = Future.succeededFuture();

  /**
   * {@code asked}: on SIGHUP, whose sender is owed an answer in the log whatever it is. After the loads asked before
   * it: two read at once (a SIGHUP during a load of 5,000 routes) could end in the other order, the older file's
   * config applied last and running while the file said otherwise.
   */
  private void load(java.util.List<Stamp> seen, boolean asked) {
    loading = true;
    loads++;
    loaded = loaded.eventually(() -> loadNow(seen, asked)).andThen(ar -> {
      if (--loads == 0) {
        loading = false;
      }
    });
  }

  private Future<Void> loadNow(java.util.List<Stamp> seen, boolean asked) {
    String rejected = !asked && seen != null && onlyCertificates(fingerprint, seen)
        ? "TLS certificate change rejected, the served certificate and the running config stay (tried again at the"
            + " files' next change):\n"
        : "config change rejected, the running config stays:\n";
    fingerprint = seen;
    // An empty file (nothing but blanks and comments: often one caught being written) is refused by the load.
    return Features.load(vertx, path)
        .compose(this::compare)
        .onSuccess(compared -> accept(compared, asked))
        .onFailure(err -> reject(rejected, err instanceof ConfigException ? err.getMessage() : path + ": " + err, asked))
        .<Void>mapEmpty()
        .otherwiseEmpty();
  }

  /**
   * A loaded config, compared with the one running when it was loaded ({@code running}), with the stamps of its TLS
   * files taken then (after the load checked them: a change after that is another change).
   */
  private record Compared(GatewayConfig next, GatewayConfig running, boolean same, java.util.List<String> restart,
      java.util.List<Stamp> tlsStamps) {
  }

  /** Compares {@code next} with the running config on a worker: with every route, a deep comparison. */
  private Future<Compared> compare(GatewayConfig next) {
    GatewayConfig running = current;
    return vertx.executeBlocking(() -> new Compared(next, running, next.equals(running),
        dev.dockgate.config.RestartFields.changed(started, next), tlsStamps(next.server().tls())), false);
  }

  /**
   * Hands the loaded config's TLS files on when they are other files than those served, or changed since: only while
   * the listeners speak TLS (turning it on or off is a restart).
   */
  private void certificates(Compared compared) {
    dev.dockgate.config.ServerConfig.Tls tls = compared.next().server().tls();
    if (tls == null || servedTls == null || tls.equals(servedTls) && compared.tlsStamps().equals(servedStamps)) {
      return;
    }
    servedTls = tls;
    servedStamps = compared.tlsStamps();
    onCertificates.accept(tls);
  }

  private void accept(Compared compared, boolean asked) {
    GatewayConfig next = compared.next();
    boolean wasRejected = lastRejection != null;
    lastRejection = null;
    certificates(compared);
    // (another load, on SIGHUP, may have changed the running config meanwhile)
    if (compared.running() == current ? compared.same() : next.equals(current)) {
      if (asked) {
        LOG.info("config " + path + " read again on SIGHUP: valid, unchanged");
      } else if (wasRejected) {
        LOG.info("config " + path + " valid again, the same as the running config");
      }
      return;
    }
    java.util.List<String> restart = compared.restart();
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

  /**
   * Whether every file that changed between two fingerprints is another file now (another inode), not one written in
   * place; false where the inode is unknown.
   */
  static boolean replaced(java.util.List<Stamp> before, java.util.List<Stamp> now) {
    if (before == null || before.size() != now.size()) {
      return false;
    }
    for (int i = 0; i < now.size(); i++) {
      Stamp was = before.get(i);
      Stamp is = now.get(i);
      if (!was.equals(is) && (was.inode() == null || is.inode() == null || was.inode().equals(is.inode()))) {
        return false;
      }
    }
    return true;
  }

  /** The latest modification time (ms) of the files. */
  static long modifiedMs(java.util.List<Stamp> fingerprint) {
    return fingerprint.stream().mapToLong(Stamp::modifiedMs).max().orElse(0);
  }

  private void reject(String message, boolean asked) {
    reject("config change rejected, the running config stays:\n", message, asked);
  }

  private void reject(String what, String message, boolean asked) {
    if (asked || !message.equals(lastRejection)) {
      lastRejection = message;
      LOG.warning(what + message);
    }
  }

  /**
   * Whether, of the running config's files, only the certificate or key of {@code server.tls} (the fingerprint's last
   * two) changed between two fingerprints.
   */
  private boolean onlyCertificates(java.util.List<Stamp> before, java.util.List<Stamp> now) {
    int tls = current.server().tls() == null ? 0 : 2;
    return tls > 0 && before != null && before.size() == now.size()
        && before.subList(0, now.size() - tls).equals(now.subList(0, now.size() - tls));
  }
}
