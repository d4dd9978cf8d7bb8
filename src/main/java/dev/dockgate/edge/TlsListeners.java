package dev.dockgate.edge;

import dev.dockgate.config.ServerConfig;
import dev.dockgate.config.TlsFiles;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.ServerSSLOptions;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Logger;

/**
 * The process's TLS listeners (each router's main listener, and its admin listener when that speaks TLS) and the
 * certificate they serve: {@link #serve} reads and checks the files of {@code server.tls} on a worker and hands the
 * pair to every listener ({@code updateSSLOptions}): new connections get it, open ones keep the one they shook hands
 * with. A pair that fails its checks leaves the served one. Routers register from their event loops; {@link #serve}
 * runs on the config watcher's.
 */
public final class TlsListeners {

  private static final Logger LOG = Logger.getLogger(TlsListeners.class.getName());

  /** A listening server and the SSL options it started with, of which only the certificate and key change. */
  private record Listener(HttpServer server, ServerSSLOptions options) {
  }

  private final List<Listener> listeners = new CopyOnWriteArrayList<>();
  /** A router took its listeners away: the gateway is stopping, and a reload under way is cut short, not failed. */
  private volatile boolean closing;

  /** A TLS listener now listening with {@code options} (its SSL options are copied). */
  public void add(HttpServer server, io.vertx.core.http.HttpServerOptions options) {
    listeners.add(new Listener(server, options.getSslOptions().copy()));
  }

  /** A listener closing (its router stops: the gateway shuts down): it takes no certificate any more. */
  public void remove(HttpServer server) {
    closing = true;
    listeners.removeIf(listener -> listener.server() == server);
  }

  /**
   * Serves the certificate and key now in {@code tls}'s files on every listener, said at INFO with its subject and end
   * of validity (and, like at start, a warning when it is out of its dates); a pair that cannot be read, does not
   * belong together or is refused keeps the served one, said in one warning naming the file and the problem. Once the
   * listeners close (the shutdown), a reload is cut short and says so at FINE only: nothing stays served.
   */
  public Future<Void> serve(Vertx vertx, ServerConfig.Tls tls) {
    Future<TlsFiles.Pair> read;
    try {
      read = vertx.executeBlocking(() -> TlsFiles.serving(tls), false);
    } catch (java.util.concurrent.RejectedExecutionException closed) {
      read = Future.failedFuture(closed); // Vert.x is closing: its workers take nothing more
    }
    return read
        .compose(pair -> update(pair).map(pair))
        .onSuccess(pair -> {
          if (closing) {
            LOG.fine("TLS certificate from \"" + tls.certFile() + "\" read as the listeners close: not served");
            return;
          }
          LOG.info("TLS certificate from \"" + tls.certFile() + "\" now served to new connections on "
              + listeners.size() + " listener(s): " + pair.leaf().getSubjectX500Principal().getName()
              + ", serial " + pair.leaf().getSerialNumber().toString(16) + ", valid until "
              + pair.leaf().getNotAfter().toInstant());
          CertificateDates.warn(tls.certFile(), pair.leaf(), java.time.Instant.now());
        })
        .onFailure(err -> {
          String why = err instanceof dev.dockgate.config.ConfigException ? err.getMessage()
              : "\"" + tls.certFile() + "\": " + err;
          if (closing) {
            LOG.fine("TLS certificate reload cut short by the shutdown: " + why);
          } else {
            LOG.warning("TLS certificate not reloaded, the served one stays (tried again at the files' next change): "
                + why);
          }
        })
        .mapEmpty();
  }

  private Future<?> update(TlsFiles.Pair pair) {
    PemKeyCertOptions keyCert = new PemKeyCertOptions().setCertValue(pair.cert()).setKeyValue(pair.key());
    List<Future<Boolean>> updates = new java.util.ArrayList<>();
    for (Listener listener : listeners) {
      try {
        updates.add(listener.server().updateSSLOptions(listener.options().copy().setKeyCertOptions(keyCert)));
      } catch (IllegalStateException closed) {
        // (a listener closing between the snapshot and here: it serves nothing more)
      }
    }
    return Future.all(updates);
  }
}
