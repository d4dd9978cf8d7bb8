package dev.dockgate;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.PoolOptions;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * HTTP clients for the gateway's own calls (Docker engines, Consul, JWKS, health probes): a
 * connection reset or closed under a request fails that request, whose caller reports it as its
 * outcome; the connection's own exception is logged at FINE by {@code owner}, not as Vert.x's SEVERE
 * line for an exception no handler took.
 */
public final class HttpClients {

  private HttpClients() {
  }

  public static HttpClient create(Vertx vertx, HttpClientOptions options, Logger owner) {
    return create(vertx, options, new PoolOptions(), owner);
  }

  public static HttpClient create(Vertx vertx, HttpClientOptions options, PoolOptions pool, Logger owner) {
    return vertx.httpClientBuilder().with(options).with(pool)
        .withConnectHandler(connection -> connection.exceptionHandler(err -> {
          if (owner.isLoggable(Level.FINE)) {
            owner.fine("connection to " + connection.remoteAddress() + ": " + err);
          }
        }))
        .build();
  }
}
