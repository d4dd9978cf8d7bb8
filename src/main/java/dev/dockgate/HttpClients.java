package dev.dockgate;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
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

  /**
   * {@code options} set to speak to a backend's instances as its config says: TLS toward HTTPS ones ({@code tls}: what
   * to trust, the client certificate; SNI always sent), and HTTP/2 when {@code http2} (plain instances with prior
   * knowledge, h2c with no upgrade round trip: what gRPC servers speak; HTTPS ones through ALPN).
   */
  public static HttpClientOptions towardInstances(HttpClientOptions options, dev.dockgate.config.BackendConfig.UpstreamTls tls,
      boolean http2) {
    if (tls.caFile() != null) {
      options.setTrustOptions(new io.vertx.core.net.PemTrustOptions().addCertPath(tls.caFile()));
    }
    if (!tls.verify()) {
      options.setTrustAll(true).setVerifyHost(false);
    }
    if (tls.certFile() != null) {
      options.setKeyCertOptions(new io.vertx.core.net.PemKeyCertOptions().setCertPath(tls.certFile())
          .setKeyPath(tls.keyFile()));
    }
    options.setForceSni(true);
    if (http2) {
      options.setProtocolVersion(io.vertx.core.http.HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false).setUseAlpn(true);
    }
    return options;
  }

  /**
   * The body of {@code response}, refused unread when it announces more than {@code maxBytes} and failed with the
   * connection reset once more than that has come (a body that never ends is the caller's timeout's): what a server
   * answers is never held in memory past the bound.
   */
  public static Future<Buffer> body(HttpClientResponse response, int maxBytes) {
    Promise<Buffer> body = Promise.promise();
    response.exceptionHandler(body::tryFail); // the reset below is reported here too, not logged as SEVERE
    String length = response.getHeader(HttpHeaders.CONTENT_LENGTH);
    if (length != null && announced(length) > maxBytes) {
      body.fail("answered " + length.strip() + " bytes, more than " + maxBytes);
      response.request().reset();
      return body.future();
    }
    Buffer collected = Buffer.buffer();
    response.handler(chunk -> {
      if (collected.length() + chunk.length() > maxBytes) {
        if (body.tryFail("answered more than " + maxBytes + " bytes")) {
          response.request().reset();
        }
      } else if (!body.future().isComplete()) {
        collected.appendBuffer(chunk);
      }
    });
    response.endHandler(v -> body.tryComplete(collected));
    return body.future();
  }

  /** A Content-Length value, or -1 when it is not a number a long holds (then the bytes that come are counted). */
  private static long announced(String length) {
    try {
      return Long.parseLong(length.strip());
    } catch (NumberFormatException e) {
      return -1;
    }
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
