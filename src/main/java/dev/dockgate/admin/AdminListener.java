package dev.dockgate.admin;

import dev.dockgate.auth.ApiKeyAuth;
import dev.dockgate.config.ServerConfig;
import dev.dockgate.edge.EdgeGuard;
import dev.dockgate.edge.HttpDate;
import dev.dockgate.edge.OpenConnections;
import dev.dockgate.edge.PathNormalizer;
import io.netty.channel.Channel;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.net.impl.ConnectionBase;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.function.BiPredicate;
import java.util.function.Supplier;

/**
 * The admin endpoints on a listener of their own ({@code server.admin_listener}), behind API keys
 * when some are configured; anything else there is 404. Every router instance opens it, as it opens
 * the main port: Vert.x binds the port once and spreads connections over the instances' servers, and
 * each instance answers from its own state (config, instances, circuits), which a verticle apart
 * would have to ask for over the event bus. Called on the owning router's event loop.
 *
 * <p>Its connections ({@link OpenConnections}, with eviction) are capped by {@code max_connections}: a connection
 * between requests makes room for a new one, a request being answered keeps its place, and event streams hold at
 * most half the places. An answer to a request with a body, or without a valid key, is its connection's last.
 */
public final class AdminListener {

  private static final Buffer UNAUTHORIZED = Buffer.buffer("missing or unknown API key\n");
  private static final Buffer NOT_FOUND = Buffer.buffer("not an admin endpoint\n");
  private static final Buffer BAD_PATH = Buffer.buffer("bad request path\n");
  private static final Buffer TOO_MANY_STREAMS = Buffer.buffer("too many open event streams on the admin listener\n");
  private static final Buffer MISDIRECTED = Buffer.buffer(
      "this admin listener answers Host: localhost or an IP address only (a name resolving to it is refused)\n");
  /** Every admin answer: never sniffed as another type, never framed, and no content of its own may load anything. */
  static final String CSP_NONE = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

  private final ServerConfig.AdminListener config;
  private final ApiKeyAuth keys;
  private final BiPredicate<HttpServerRequest, String> endpoints;
  private final OpenConnections connections;
  private final Supplier<String> streamPath;
  private final int maxStreams;
  /** Bound to a loopback address: only loopback names and address literals are this listener's hosts. */
  private final boolean loopback;

  /**
   * {@code endpoints} answers a request for a normal path and says true, or says false (not an admin path);
   * {@code streamPath}: the current dashboard event stream's path (empty: none).
   */
  public AdminListener(ServerConfig.AdminListener config, BiPredicate<HttpServerRequest, String> endpoints,
      OpenConnections connections, Supplier<String> streamPath) {
    this.config = config;
    this.keys = config.apiKeys() == null ? null : new ApiKeyAuth(config.apiKeys());
    this.endpoints = endpoints;
    this.connections = connections;
    this.streamPath = streamPath;
    this.maxStreams = config.maxConnections() == 0 ? 0 : Math.max(1, config.maxConnections() / 2);
    this.loopback = loopback(config.host());
  }

  /** Whether {@code host} (the listener's) is a loopback address or {@code localhost}. */
  static boolean loopback(String host) {
    if (localName(host)) {
      return true;
    }
    byte[] bytes = dev.dockgate.config.Cidr.literal(host);
    try {
      return bytes != null && java.net.InetAddress.getByAddress(bytes).isLoopbackAddress();
    } catch (java.net.UnknownHostException notAnAddress) {
      return false;
    }
  }

  /** {@code localhost} and its subdomains (RFC 6761: resolved to loopback by the browser itself), any case, a final dot. */
  private static boolean localName(String name) {
    String n = name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
    return n.equalsIgnoreCase("localhost") || (n.length() > 10 && n.regionMatches(true, n.length() - 10, ".localhost", 0, 10));
  }

  /**
   * Whether a request with this Host (or HTTP/2 authority) may be answered on a loopback listener: none, an IP
   * literal (IPv6 in brackets), or a loopback name, with or without a port. A page of another site whose name an
   * attacker re-points at 127.0.0.1 (DNS rebinding) sends its own name, and the browser would let it read the answer.
   */
  static boolean loopbackHost(String host) {
    if (host == null || host.isEmpty()) {
      return true; // HTTP/1.0 without Host: no browser sends that
    }
    if (host.charAt(0) == '[') {
      int close = host.indexOf(']');
      if (close < 0 || (close + 1 < host.length() && host.charAt(close + 1) != ':')) {
        return false;
      }
      return dev.dockgate.config.Cidr.literal(host.substring(1, close)) != null;
    }
    int colon = host.indexOf(':');
    String name = colon < 0 ? host : host.substring(0, colon);
    return localName(name) || dev.dockgate.config.Cidr.literal(name) != null;
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
   * Listens with {@code options}; {@code admit} sees each new connection first (the router's edge guard: the
   * connection cap and the header timeout), {@code heads} each request before it is answered. A request the codec
   * refuses is answered as on the main listener ({@link EdgeGuard#answerInvalid}).
   */
  public Future<HttpServer> listen(Vertx vertx, HttpServerOptions options, Handler<HttpConnection> admit,
      Handler<HttpServerRequest> heads) {
    return vertx.createHttpServer(options)
        .connectionHandler(admit)
        .requestHandler(request -> {
          heads.handle(request);
          handle(request);
        })
        .invalidRequestHandler(EdgeGuard::answerInvalid)
        .listen()
        .recover(err -> Future.failedFuture(
            dev.dockgate.ListenFailure.of("server.admin_listener", config.host(), config.port(), err)));
  }

  private void handle(HttpServerRequest request) {
    HttpServerResponse response = request.response().putHeader(HttpHeaders.DATE, HttpDate.now());
    Channel channel = ((ConnectionBase) request.connection()).channel();
    connections.busy(channel); // answering: it keeps its place
    response.putHeader("x-content-type-options", "nosniff").putHeader("content-security-policy", CSP_NONE);
    boolean misdirected = loopback && !loopbackHost(request.getHeader(HttpHeaders.HOST));
    boolean authorized = !misdirected && (keys == null || authorized(request));
    // Every admin endpoint is read-only: a body is not read, so its answer is the connection's last, as is one to
    // a client without a valid key (neither holds a kept-alive connection).
    boolean last = !authorized || (!request.isEnded() && announcesBody(request));
    String path = authorized ? PathNormalizer.normalize(request.path()) : null;
    boolean asksStream = path != null && request.method() == HttpMethod.GET && path.equals(streamPath.get());
    Runnable stream = asksStream ? connections.openStream(maxStreams) : null;
    boolean streamRefused = asksStream && stream == null;
    boolean closing = last || streamRefused;
    if (closing) {
      EdgeGuard.closing(response);
    }
    response.endHandler(v -> {
      if (stream != null) {
        stream.run();
      }
      if (closing) {
        request.connection().close();
      } else {
        connections.between(channel);
      }
    });
    if (stream != null) {
      channel.closeFuture().addListener(f -> stream.run()); // a stream mostly ends with its connection
    }
    if (misdirected) {
      response.setStatusCode(421).putHeader("content-type", "text/plain; charset=utf-8").end(MISDIRECTED);
    } else if (!authorized) {
      // Basic first: a browser then asks for credentials, and sends them with the dashboard's event stream too.
      response.setStatusCode(401);
      response.headers()
          .add("www-authenticate", "Basic realm=\"dockgate admin\", charset=\"UTF-8\"")
          .add("www-authenticate", "ApiKey header=\"" + keys.header() + "\"")
          .add("content-type", "text/plain; charset=utf-8");
      response.end(UNAUTHORIZED);
    } else if (path == null) {
      response.setStatusCode(400).putHeader("content-type", "text/plain; charset=utf-8").end(BAD_PATH);
    } else if (streamRefused) {
      response.setStatusCode(503).putHeader("retry-after", "10").putHeader("content-type", "text/plain; charset=utf-8")
          .end(TOO_MANY_STREAMS);
    } else if (!endpoints.test(request, path)) {
      response.setStatusCode(404).putHeader("content-type", "text/plain; charset=utf-8").end(NOT_FOUND);
    }
  }

  private static boolean announcesBody(HttpServerRequest request) {
    String length = request.getHeader(HttpHeaders.CONTENT_LENGTH);
    return (length != null && !length.equals("0")) || request.getHeader(HttpHeaders.TRANSFER_ENCODING) != null;
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
