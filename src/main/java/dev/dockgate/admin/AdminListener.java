package dev.dockgate.admin;

import dev.dockgate.edge.PathNormalizer;
import dev.dockgate.edge.Protocols;

import dev.dockgate.auth.ApiKeyAuth;
import dev.dockgate.config.ServerConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.function.BiPredicate;

/**
 * The admin endpoints on a listener of their own ({@code server.admin_listener}), behind API keys
 * when some are configured; anything else there is 404. Every router instance opens it, as it opens
 * the main port: Vert.x binds the port once and spreads connections over the instances' servers, and
 * each instance answers from its own state (config, instances, circuits), which a verticle apart
 * would have to ask for over the event bus. Called on the owning router's event loop.
 */
public final class AdminListener {

  private static final Buffer UNAUTHORIZED = Buffer.buffer("missing or unknown API key\n");
  private static final Buffer NOT_FOUND = Buffer.buffer("not an admin endpoint\n");
  private static final Buffer BAD_PATH = Buffer.buffer("bad request path\n");

  private final ServerConfig.AdminListener config;
  private final ApiKeyAuth keys;
  private final BiPredicate<HttpServerRequest, String> endpoints;

  /** {@code endpoints} answers a request for a normal path and says true, or says false (not an admin path). */
  public AdminListener(ServerConfig.AdminListener config, BiPredicate<HttpServerRequest, String> endpoints) {
    this.config = config;
    this.keys = config.apiKeys() == null ? null : new ApiKeyAuth(config.apiKeys());
    this.endpoints = endpoints;
  }

  /** The listener's options, with {@code limits} as {@link ServerConfig.AdminListener#limits} makes them. */
  public HttpServerOptions options(ServerConfig.Limits limits, ServerConfig.Tls tls) {
    HttpServerOptions options = new HttpServerOptions()
        .setHost(config.host())
        .setPort(config.port())
        .setMaxHeaderSize(limits.maxHeaderBytes())
        .setMaxInitialLineLength(limits.maxRequestLineBytes())
        .setIdleTimeout((int) limits.idleTimeoutMs())
        .setIdleTimeoutUnit(java.util.concurrent.TimeUnit.MILLISECONDS)
        .setHttp2ClearTextEnabled(false);
    if (config.tls()) {
      options.setSsl(true).setKeyCertOptions(new io.vertx.core.net.PemKeyCertOptions()
          .setCertPath(tls.certFile()).setKeyPath(tls.keyFile()));
    }
    return options;
  }

  /**
   * Listens with {@code options}; {@code connections} sees each new connection first (the router's edge guard:
   * the connection cap and the header timeout), {@code heads} each request before it is answered. A request the codec
   * refuses is answered as on the main listener ({@link dev.dockgate.edge.EdgeGuard#answerInvalid}).
   */
  public Future<HttpServer> listen(Vertx vertx, HttpServerOptions options,
      io.vertx.core.Handler<io.vertx.core.http.HttpConnection> connections, io.vertx.core.Handler<HttpServerRequest> heads) {
    return vertx.createHttpServer(options)
        .connectionHandler(connections)
        .requestHandler(request -> {
          heads.handle(request);
          handle(request);
        })
        .invalidRequestHandler(dev.dockgate.edge.EdgeGuard::answerInvalid)
        .listen()
        .recover(err -> Future.failedFuture(
            dev.dockgate.ListenFailure.of("server.admin_listener", config.host(), config.port(), err)));
  }

  private void handle(HttpServerRequest request) {
    request.response().putHeader(io.vertx.core.http.HttpHeaders.DATE, dev.dockgate.edge.HttpDate.now());
    if (!request.isEnded() && announcesBody(request)) {
      // Every admin endpoint reads nothing: the answer is the connection's last, so a body that trickles in (or
      // never comes) does not hold it open.
      dev.dockgate.edge.EdgeGuard.closing(request.response());
      request.response().endHandler(v -> request.connection().close());
    }
    if (keys != null && !authorized(request)) {
      // Basic first: a browser then asks for credentials, and sends them with the dashboard's event stream too.
      request.response().setStatusCode(401);
      request.response().headers()
          .add("www-authenticate", "Basic realm=\"dockgate admin\", charset=\"UTF-8\"")
          .add("www-authenticate", "ApiKey header=\"" + keys.header() + "\"")
          .add("content-type", "text/plain; charset=utf-8");
      request.response().end(UNAUTHORIZED);
      return;
    }
    String path = PathNormalizer.normalize(request.path());
    if (path == null) {
      request.response().setStatusCode(400).putHeader("content-type", "text/plain; charset=utf-8").end(BAD_PATH);
    } else if (!endpoints.test(request, path)) {
      request.response().setStatusCode(404).putHeader("content-type", "text/plain; charset=utf-8").end(NOT_FOUND);
    }
  }

  private static boolean announcesBody(HttpServerRequest request) {
    String length = request.getHeader(io.vertx.core.http.HttpHeaders.CONTENT_LENGTH);
    return (length != null && !length.equals("0")) || request.getHeader(io.vertx.core.http.HttpHeaders.TRANSFER_ENCODING) != null;
  }

  /** A known key in the key header, or as the password of HTTP Basic credentials (any user name). */
  private boolean authorized(HttpServerRequest request) {
    if (keys.authenticate(request.getHeader(keys.header())) != null) {
      return true;
    }
    String authorization = request.getHeader("authorization");
    if (authorization == null || !authorization.regionMatches(true, 0, "Basic ", 0, 6)) {
      return false;
    }
    try {
      String credentials = new String(Base64.getDecoder().decode(authorization.substring(6).trim()), StandardCharsets.UTF_8);
      int colon = credentials.indexOf(':');
      return colon >= 0 && keys.authenticate(credentials.substring(colon + 1)) != null;
    } catch (IllegalArgumentException notBase64) {
      return false;
    }
  }
}
