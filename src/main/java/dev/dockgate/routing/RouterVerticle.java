package dev.dockgate.routing;

import dev.dockgate.discovery.BackendInstances;
import dev.dockgate.config.BackendConfig;
import dev.dockgate.config.GatewayConfig;
import dev.dockgate.config.RouteConfig;
import dev.dockgate.config.ServerConfig;
import dev.dockgate.events.Addresses;
import dev.dockgate.events.SharedJsonCodec;
import dev.dockgate.Features;
import dev.dockgate.admin.AdminEndpoints;
import dev.dockgate.admin.AdminListener;
import dev.dockgate.admin.RouteReport;
import dev.dockgate.cors.Cors;
import dev.dockgate.edge.EdgeGuard;
import dev.dockgate.edge.OpenConnections;
import dev.dockgate.edge.PathNormalizer;
import dev.dockgate.edge.Protocols;
import dev.dockgate.edge.RequestIds;
import dev.dockgate.edge.TrustedProxies;
import dev.dockgate.pipeline.Exchange;
import dev.dockgate.pipeline.Pipeline;
import dev.dockgate.pipeline.StageContext;
import dev.dockgate.proxy.BackendClients;
import dev.dockgate.proxy.InFlightRequests;
import dev.dockgate.proxy.ProxyHandler;
import dev.dockgate.proxy.Subsets;
import dev.dockgate.proxy.Upstreams;
import dev.dockgate.resilience.BreakerRegistry;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.HostAndPort;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One HTTP listener instance (one per core): listens, swaps config snapshots, and dispatches each
 * request: normalise the path, admin endpoints, match a route, then the route's {@link Pipeline}
 * (stages, then the proxy). Every counted request has one {@link Exchange}, which publishes its
 * traffic event. Keeps the newest snapshot of instances per backend that discovery published
 * ({@link Addresses#INSTANCES}); the request path never reads discovery.
 */
public final class RouterVerticle extends VerticleBase implements RouterPlacement.OnEventLoop {

  private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger(RouterVerticle.class.getName());

  private static final Buffer METHOD_NOT_ALLOWED = Buffer.buffer("method not allowed\n");
  private static final Buffer BAD_PATH = Buffer.buffer("bad request path\n");
  private static final Buffer EXPECTATION_FAILED = Buffer.buffer("expectation not supported: only 100-continue\n");

  private final BreakerRegistry breakers;
  private final InFlightRequests inFlight;
  /** This router's HTTP/2 answers whose end waits for its client's window: cut and counted after the drain. */
  private final dev.dockgate.proxy.HeldEnds heldEnds = new dev.dockgate.proxy.HeldEnds();
  /** The process-wide services the wiring shares with every route's stages (rate-limit buckets, JWKS keys). */
  private final Map<Class<?>, Object> shared;
  private final OpenConnections connections;
  /** The process's tracer, from the wiring's shared services; off when it registered none. */
  private final dev.dockgate.tracing.Tracing tracing;
  /** The main listener speaks TLS (a restart-only setting): every request it takes came over TLS. */
  private boolean secure;
  private EdgeGuard edge;
  /** The admin listener's edge: its own connection cap, the main listener's timeouts. */
  private EdgeGuard adminEdge;
  private final OpenConnections adminConnections;
  private HttpClient client;
  private BackendClients backendClients;
  private HttpServer server;
  /** The admin endpoints' own listener, when server.admin_listener is set. */
  private HttpServer adminServer;
  /** The process's TLS listeners, which a changed certificate is handed to (null: none registered). */
  private final dev.dockgate.edge.TlsListeners tlsListeners;
  /** What requests are routed by; replaced whole when the config is reloaded. */
  private Routing routing;
  /** The newest snapshot discovery published, for the backends it was resolved for. */
  private BackendInstances instances = BackendInstances.EMPTY;
  private Set<String> unhealthy = Set.of();
  private AdminEndpoints admin;
  /**
   * In the drain delay after SIGTERM (when it is above 0) and in the drain: HTTP/1.x answers carry
   * {@code Connection: close} and their connection is closed after them, so kept-alive clients reconnect, through
   * their load balancer, elsewhere, and no connection is left idle for the shutdown to cut under a request.
   */
  private boolean stopping;
  /** Connections still waiting for their first request head, with the timer that closes them. */
  private final java.util.IdentityHashMap<HttpConnection, Long> heads = new java.util.IdentityHashMap<>();

  /**
   * One config's routing: swapped by reference, so a request sees one config from start to end. Compiled on a
   * worker ({@link #compile}); published to the event loop by the completion of that work, used only there after.
   */
  private record Routing(GatewayConfig config, RouteTable<Pipeline> routes, Upstreams upstreams, Buffer defaultBody,
      String liveness, String dashboardStream, TrustedProxies trusted, List<Pipeline> pipelines,
      BackendClients.Prepared clients) {
  }

  /** The reloads received, applied one after the other on this event loop. */
  private Future<Void> applying = Future.succeededFuture();
  /** The newest config received: a queued one older than it is skipped. */
  private GatewayConfig latest;
  /** Set when the router stops: a config compiled after that is not swapped in. */
  private boolean closed;

  private final GatewayConfig initial;
  /** The process's subsetting ({@code subset_size}): the window of each backend's instances this router picks among. */
  private final Subsets subsets;
  /** This router's number among the process's routers, which places its windows. */
  private final int router;

  public RouterVerticle(GatewayConfig config, BreakerRegistry breakers, InFlightRequests inFlight,
      Map<Class<?>, Object> shared, OpenConnections connections, OpenConnections adminConnections) {
    this.initial = config;
    this.connections = connections;
    this.adminConnections = adminConnections;
    this.shared = Map.copyOf(shared);
    this.tracing = (dev.dockgate.tracing.Tracing) this.shared.getOrDefault(dev.dockgate.tracing.Tracing.class,
        dev.dockgate.tracing.Tracing.OFF);
    this.breakers = breakers;
    this.inFlight = inFlight;
    this.tlsListeners = (dev.dockgate.edge.TlsListeners) this.shared.get(dev.dockgate.edge.TlsListeners.class);
    this.subsets = (Subsets) this.shared.getOrDefault(Subsets.class, new Subsets(1));
    this.router = subsets.nextRouter();
  }

  @Override
  public Future<?> start() {
    SharedJsonCodec.register(vertx.eventBus());
    // The stages' own calls (JWKS); each backend has its own client and pool (BackendClients).
    client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true));
    backendClients = new BackendClients(vertx);
    return compile(initial).compose(this::start);
  }

  /** Starts serving {@code first}, the compiled initial config. */
  private Future<?> start(Routing first) {
    install(first);
    Future<Void> announcements = vertx.eventBus()
        .<BackendInstances>localConsumer(Addresses.INSTANCES, msg -> onInstances(msg.body()))
        .completion();
    Future<Void> reloads = vertx.eventBus()
        .<GatewayConfig>localConsumer(Addresses.CONFIG_APPLY, msg -> apply(msg.body()))
        .completion();
    Future<Void> health = vertx.eventBus()
        .<JsonObject>localConsumer(Addresses.HEALTH, msg -> onHealth(msg.body()))
        .completion();
    Future<Void> page = vertx.fileSystem().readFile("dashboard/index.html").map(dashboard -> {
      admin = new AdminEndpoints(vertx, () -> routing.config(), this::routeReport, dashboard,
          this::unguarded);
      return null;
    });
    Future<Void> draining = vertx.eventBus()
        .localConsumer(Addresses.DRAINING, msg -> {
          stopping = routing.config().server().drainDelayMs() > 0;
          if (admin != null) { // a SIGTERM during start-up
            admin.draining();
          }
        })
        .completion();
    return Future.all(List.of(announcements, reloads, health, page, draining))
        .compose(v -> vertx.eventBus().<JsonArray>request(Addresses.HEALTH_QUERY, null, Addresses.LOCAL))
        .onSuccess(reply -> unhealthy = keys(reply.body()))
        .compose(v -> vertx.eventBus().<BackendInstances>request(Addresses.INSTANCES_QUERY, null, Addresses.LOCAL))
        .onSuccess(reply -> onInstances(reply.body()))
        .compose(v -> listen())
        .compose(v -> listenAdmin());
  }

  /** The event loop this router runs on, once deployed: each serves the connections it accepts on it. */
  @Override
  public io.netty.channel.EventLoop eventLoop() {
    return ((io.vertx.core.internal.ContextInternal) context).nettyEventLoop();
  }

  private static Set<String> keys(JsonArray array) {
    Set<String> keys = new java.util.HashSet<>();
    array.forEach(k -> keys.add(String.valueOf(k)));
    return keys;
  }

  /** An instance's health changed, or an unhealthy one went away: rebuild the rotation from the instances already known. */
  private void onHealth(JsonObject change) {
    Set<String> next = new java.util.HashSet<>(unhealthy);
    if (change.getBoolean("removed", false) || change.getBoolean("healthy", true)) {
      next.remove(change.getString("key"));
    } else {
      next.add(change.getString("key"));
    }
    unhealthy = next;
    routing.upstreams().apply(instances.forBackends(routing.config().backends()), unhealthy);
  }

  /** Discovery published a new snapshot (or answered the start's query): the rotation follows it. */
  private void onInstances(BackendInstances snapshot) {
    if (snapshot.version() < instances.version()) {
      return; // the start's query was answered after a newer announcement
    }
    instances = snapshot;
    routing.upstreams().apply(instances.forBackends(routing.config().backends()), unhealthy);
  }

  /**
   * The routing of {@code config}. The backends' clients are made here, on the event loop (each backend's, only where
   * new or changed: bounded by the backends, not the routes); the routes' handlers, stages and route table are built
   * on a worker, which no request waits for. Nothing built there is shared with another router, and what it reads
   * of the process-wide services is thread-safe (see {@link StageContext}).
   */
  private Future<Routing> compile(GatewayConfig config) {
    BackendClients.Prepared clients = backendClients.prepare(config.backends());
    return vertx.<Routing>executeBlocking(() -> routing(config, clients), false)
        .onFailure(err -> backendClients.discard(clients));
  }

  /** Builds the routing of {@code config} with {@code clients}; runs on a worker. */
  private Routing routing(GatewayConfig config, BackendClients.Prepared clients) {
    Map<String, BackendConfig> backends = config.backendsByName();
    List<RouteTable.Entry<Pipeline>> entries = new ArrayList<>();
    List<ProxyHandler> terminals = new ArrayList<>();
    List<Pipeline> pipelines = new ArrayList<>();
    for (RouteConfig route : config.routes()) {
      ProxyHandler proxy = new ProxyHandler(vertx, clients.client(route.backend()), clients.pool(route.backend()),
          clients.tunnels(route.backend()),
          route, backends.get(route.backend()),
          config.server().limits().maxBodyBytes(), initial.server().limits().idleTimeoutMs(), heldEnds, inFlight,
          ((dev.dockgate.resilience.RetryAllowances) shared.get(dev.dockgate.resilience.RetryAllowances.class)).of(route));
      Pipeline pipeline = Pipeline.compile(route, Features.ALL, new StageContext(vertx, client, route, shared), proxy);
      terminals.add(proxy);
      pipelines.add(pipeline);
      entries.add(new RouteTable.Entry<>(route.pathPrefix(), route.host(), Set.copyOf(route.methods()), pipeline));
    }
    Upstreams upstreams = new Upstreams(breakers, config.backends(), terminals, subsets, router);
    ServerConfig.AdminPaths admin = config.server().admin();
    return new Routing(config, new RouteTable<>(entries), upstreams, Buffer.buffer(config.defaultResponse().body()),
        admin.health().isEmpty() ? "" : admin.health() + "/live",
        admin.dashboard().isEmpty() ? "" : admin.dashboard() + "/events",
        new TrustedProxies(config.server().trustedProxies()), pipelines, clients);
  }

  /**
   * Switches to a new config, after the configs received before it (one a newer config replaced while it waited is
   * skipped). Its routing is compiled off the event loop; requests go on meanwhile on the config they have. Requests
   * in flight finish on the handlers they started with; the new routes see the instances known at the switch, so
   * nothing answers 503 while discovery catches up.
   */
  private void apply(GatewayConfig next) {
    latest = next;
    applying = applying.eventually(() -> next != latest || closed ? Future.succeededFuture()
        : compile(next).<Void>map(compiled -> {
          if (closed) {
            backendClients.discard(compiled.clients());
          } else {
            install(compiled);
          }
          return null;
        }).onFailure(err -> {
          if (!closed) {
            LOG.log(java.util.logging.Level.SEVERE, "routes of the reloaded config " + next.source()
                + " not applied; the running config stays", err);
          }
        }));
  }

  /**
   * Swaps {@code next} in, on the event loop: its backends' clients become those in use, its handlers get the
   * instances known now, and the routing is replaced by reference; what the previous routing held is let go.
   */
  private void install(Routing next) {
    backendClients.commit(next.clients());
    next.upstreams().apply(instances.forBackends(next.config().backends()), unhealthy);
    Routing previous = routing;
    routing = next;
    if (previous != null) {
      previous.upstreams().close();
      previous.pipelines().forEach(Pipeline::close);
      vertx.eventBus().send(Addresses.CONFIG_LIVE, next.config(), Addresses.LOCAL);
    }
  }

  private Future<HttpServer> listen() {
    ServerConfig.Limits limits = initial.server().limits();
    HttpServerOptions options = new HttpServerOptions()
        .setHost(initial.server().host())
        .setPort(initial.server().port())
        .setTcpNoDelay(true)
        .setMaxHeaderSize(limits.maxHeaderBytes())
        .setMaxInitialLineLength(limits.maxRequestLineBytes())
        .setIdleTimeout((int) limits.idleTimeoutMs())
        .setIdleTimeoutUnit(java.util.concurrent.TimeUnit.MILLISECONDS)
        // WebSocket upgrades are tunnelled as bytes (the backend negotiates any compression), never
        // served by Vert.x: without these its per-connection extension handler sees every request.
        .setPerFrameWebSocketCompressionSupported(false)
        .setPerMessageWebSocketCompressionSupported(false);
    Protocols.apply(options, initial.server());
    secure = initial.server().tls() != null;
    edge = new EdgeGuard(vertx, options, limits, connections);
    edge.onHeaderListTooLarge(this::headerListTooLarge);
    return vertx.createHttpServer(options)
        .connectionHandler(connection -> {
          if (edge.admit(connection)) {
            limitHeaderTime(connection, edge.firstHeadTimeLeftMs(connection), edge);
          }
        })
        .requestHandler(this::handle)
        .invalidRequestHandler(this::invalid)
        .listen()
        .recover(err -> Future.failedFuture(
            dev.dockgate.ListenFailure.of("server", options.getHost(), options.getPort(), err)))
        .onSuccess(s -> {
          server = s;
          edge.guardListener(s);
          if (secure && tlsListeners != null) {
            tlsListeners.add(s, options);
          }
        });
  }

  /** Null while the edges' checks guard both listeners; else why not (readiness reports it). */
  private String unguarded() {
    String main = edge == null ? null : edge.unguarded();
    return main != null || adminEdge == null ? main : adminEdge.unguarded();
  }

  /** The admin endpoints on their own port (see {@link AdminListener}), when configured. */
  private Future<?> listenAdmin() {
    ServerConfig.AdminListener config = initial.server().adminListener();
    if (config == null) {
      return Future.succeededFuture();
    }
    AdminListener listener = new AdminListener(config, (request, path) -> {
      Routing current = routing;
      return admin.handle(request, path, current.config().server(), current.liveness(), current.dashboardStream(), false);
    }, adminConnections, () -> routing.dashboardStream());
    ServerConfig.Limits limits = config.limits(initial.server().limits());
    HttpServerOptions options = listener.options(limits, initial.server().tls());
    adminEdge = new EdgeGuard(vertx, options, limits, adminConnections);
    return listener.listen(vertx, options, connection -> {
      if (adminEdge.admit(connection)) {
        limitHeaderTime(connection, adminEdge.firstHeadTimeLeftMs(connection), adminEdge);
      }
    }, this::headArrived).onSuccess(s -> {
      adminServer = s;
      adminEdge.guardListener(s);
      if (config.tls() && tlsListeners != null) {
        tlsListeners.add(s, options);
      }
    });
  }

  /**
   * A new connection whose first request head is not complete in time ({@code timeoutMs}: what is left of
   * {@code header_timeout_ms} since it was accepted; a slow-header client holding a connection open) gets 408 or,
   * having sent nothing, is closed; the heads of later requests are timed by the edge's sweep ({@link EdgeGuard}).
   */
  private void limitHeaderTime(HttpConnection connection, long timeoutMs, EdgeGuard guard) {
    if (timeoutMs <= 0) {
      return;
    }
    long timer = vertx.setTimer(timeoutMs, id -> guard.headTimedOut(connection));
    heads.put(connection, timer);
    connection.closeHandler(v -> {
      Long pending = heads.remove(connection);
      if (pending != null) {
        vertx.cancelTimer(pending);
      }
    });
  }

  /**
   * Requests the HTTP codec refused (414, 431, 400, 505): answered by Vert.x's rules, counted like
   * others. A head that never completed (its connection closed first) was no request: neither.
   */
  private void invalid(HttpServerRequest request) {
    if (EdgeGuard.headCutShort(request)) {
      request.connection().close();
      return;
    }
    Exchange exchange = exchange(request, routing);
    if (EdgeGuard.requestLineUnread(request)) {
      exchange.requestLineUnread();
    }
    exchange.track();
    request.response().putHeader(dev.dockgate.events.TrafficEvent.REQUEST_ID_HEADER, exchange.requestId());
    EdgeGuard.answerInvalid(request);
  }

  /**
   * Netty's 431 to an HTTP/2 header list over {@code max_header_bytes}, answered before a request exists: counted and
   * logged as the HTTP/1 431 is, without a request line (it was not read) and from the connection's peer; with its
   * server span when tracing is on, as every counted request has one.
   */
  private void headerListTooLarge(HttpConnection connection) {
    io.vertx.core.net.SocketAddress remote = connection.remoteAddress();
    dev.dockgate.events.TrafficEvent event = new dev.dockgate.events.TrafficEvent(System.currentTimeMillis(),
        RequestIds.generate(), remote == null ? null : TrustedProxies.address(remote), null, null, null, null, "HTTP/2", null, null,
        null, 431, 0, 0.0);
    vertx.eventBus().publish(Addresses.TRAFFIC, event.toJson(), Addresses.TRAFFIC_DELIVERY);
    tracing.refusedUnread(event.requestId(), event.client(), 431);
  }

  private Exchange exchange(HttpServerRequest request, Routing routing) {
    long arrival = System.nanoTime();
    String peer = TrustedProxies.peer(request);
    boolean trusted = routing.trusted().trusts(peer);
    return new Exchange(request, arrival, RequestIds.of(request), routing.trusted().client(request, peer, trusted),
        trusted, secure, vertx.eventBus(), tracing);
  }

  /** A request head arrived: its connection's first-head timer, if it has one, is done. */
  private void headArrived(HttpServerRequest request) {
    if (!heads.isEmpty()) {
      Long timer = heads.remove(request.connection());
      if (timer != null) {
        vertx.cancelTimer(timer);
      }
    }
  }

  /** The host the request names (its authority's, without the port), or null. */
  private static String host(HttpServerRequest request) {
    HostAndPort authority = request.authority();
    return authority == null ? null : authority.host();
  }

  private void handle(HttpServerRequest request) {
    headArrived(request);
    Routing routing = this.routing;
    Exchange exchange = exchange(request, routing);
    edge.watch(exchange);
    if (request.version() != io.vertx.core.http.HttpVersion.HTTP_2 && (stopping || asksToClose(request))
        && !request.headers().contains(io.vertx.core.http.HttpHeaders.UPGRADE)) {
      closeAfterAnswer(request, exchange);
    }
    String path = PathNormalizer.normalize(request.path());
    if (path == null || request.version() == io.vertx.core.http.HttpVersion.HTTP_2 && request.uri().indexOf('#') >= 0) {
      // (HTTP/1 targets with a fragment never get here: the strict decoder refuses them; an HTTP/2 :path is not checked)
      exchange.answer(400, BAD_PATH);
      return;
    }
    long maxBody = routing.config().server().limits().maxBodyBytes();
    String length = request.getHeader(io.vertx.core.http.HttpHeaders.CONTENT_LENGTH);
    if (length != null && tooLong(length, maxBody)) {
      if (request.version() != io.vertx.core.http.HttpVersion.HTTP_2) {
        EdgeGuard.closing(request.response()); // HTTP/2 forbids it; ending the stream suffices
      }
      // Counted on the route it matched, as a body found too large while streaming is; on /stats, not at all.
      Pipeline route = ownEndpoint(exchange, path, routing) ? null
          : routing.routes().match(host(request), request.method().name(), path);
      exchange.answer(route, 413, Buffer.buffer("request body larger than " + maxBody + " bytes\n"));
      return;
    }
    if (unmetExpectation(request)) {
      ownEndpoint(exchange, path, routing);
      exchange.answer(417, EXPECTATION_FAILED);
      return;
    }
    if (admin.handle(request, path, routing.config().server(), routing.liveness(), routing.dashboardStream(), true)) {
      return; // the gateway's own endpoints are not counted as traffic
    }
    String host = host(request);
    Pipeline route = routing.routes().match(host, request.method().name(), path);
    if ((route == null || !route.answersPreflight()) && Cors.isPreflight(request.method(), request.headers())) {
      // A preflight asks for the method it announces: the route for that method answers it.
      Pipeline announced = routing.routes().match(host, request.getHeader("access-control-request-method"), path);
      if (announced != null && announced.answersPreflight()) {
        route = announced;
      }
    }
    if (route != null) {
      exchange.start(route);
      return;
    }
    Set<String> allowed = routing.routes().allowedMethods(host, path);
    if (allowed.isEmpty()) {
      exchange.answer(routing.config().defaultResponse().statusCode(), routing.defaultBody());
    } else {
      request.response().putHeader("allow", String.join(", ", allowed));
      exchange.answer(405, METHOD_NOT_ALLOWED);
    }
  }

  /**
   * Whether {@code path} is one of the gateway's own endpoints on this port (/stats, liveness): then the exchange's
   * answer, refused before the endpoint saw it, is not counted as traffic, as the endpoint's own answers are not.
   */
  private static boolean ownEndpoint(Exchange exchange, String path, Routing routing) {
    if (!AdminEndpoints.publicPath(path, routing.config().server(), routing.liveness())) {
      return false;
    }
    exchange.uncounted();
    return true;
  }

  /**
   * Whether the request expects what the gateway cannot meet: any expectation but {@code 100-continue}
   * (RFC 9110 §10.1.1 allows 417 for them). The gateway does not pass Expect on, so such a request
   * would otherwise reach the backend with its expectation silently dropped. HTTP/1.0 defined no
   * Expect: ignored there, as Apache does.
   */
  static boolean unmetExpectation(HttpServerRequest request) {
    if (request.getHeader(io.vertx.core.http.HttpHeaders.EXPECT) == null
        || request.version() == io.vertx.core.http.HttpVersion.HTTP_1_0) {
      return false;
    }
    for (String value : request.headers().getAll(io.vertx.core.http.HttpHeaders.EXPECT)) {
      for (String member : value.split(",", -1)) {
        String expectation = member.trim();
        if (!expectation.isEmpty() && !expectation.equalsIgnoreCase("100-continue")) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * Whether an HTTP/1.1 request's Connection header lists {@code close} among other options ({@code TE, close}):
   * the connection closes after the answer (RFC 9112 §9.6). Vert.x closes after a header that is exactly
   * {@code close}, and kept such a connection open, so a client waiting for the close to end its read waited.
   */
  static boolean asksToClose(HttpServerRequest request) {
    String connection = request.getHeader(io.vertx.core.http.HttpHeaders.CONNECTION);
    if (connection == null || connection.equalsIgnoreCase("close") || connection.equalsIgnoreCase("keep-alive")) {
      return false; // none, or what Vert.x itself reads (the usual cases, one lookup)
    }
    for (String value : request.headers().getAll(io.vertx.core.http.HttpHeaders.CONNECTION)) {
      for (String option : value.split(",")) {
        if (option.trim().equalsIgnoreCase("close")) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * While draining: the answer says {@code Connection: close} and the gateway closes the connection after it
   * (RFC 9112 §9.6), so a kept-alive client opens its next request on a new connection, which its load balancer
   * sends elsewhere, rather than meeting the listener's close later with a request already written.
   */
  private static void closeAfterAnswer(HttpServerRequest request, Exchange exchange) {
    EdgeGuard.closing(request.response());
    exchange.closeWhenAnswered(); // counted answers close here; the gateway's own endpoints leave it to the client
  }

  private JsonObject routeReport() {
    Routing current = routing;
    return RouteReport.describe(current.config(), current.upstreams(),
        instances.forBackends(current.config().backends()), unhealthy, inFlight.snapshot(), subsets);
  }

  private static boolean tooLong(String contentLength, long max) {
    try {
      return Long.parseLong(contentLength.trim()) > max;
    } catch (NumberFormatException e) {
      return false; // malformed lengths are the codec's and the proxy's to refuse (400)
    }
  }

  /**
   * Graceful: stops listening at once, lets in-flight requests finish for up to the drain timeout
   * (system property {@code gateway.drain.timeout.ms}, which GatewayApplication sets from itself or
   * {@code GATEWAY_DRAIN_TIMEOUT_MS}; default 30000), then closes what is still open. Discovery,
   * breakers and the backend client are released only after the drain, as in-flight requests use them.
   */
  @Override
  public Future<?> stop() {
    // The drain: a connection accepted in the delay's last moment (or, without a delay, any kept-alive one) is
    // served its requests until the listener has closed; each answer from now on is its connection's last, so
    // none is idle, kept alive, when the shutdown closes it under the client's next request.
    stopping = true;
    closed = true;
    if (tlsListeners != null) {
      tlsListeners.remove(server);
      tlsListeners.remove(adminServer);
    }
    long drainMs = Long.getLong("gateway.drain.timeout.ms", 30_000L);
    Future<Void> drained = server == null
        ? Future.succeededFuture()
        : edge.stopAccepting(Math.min(drainMs, 500)).compose(v -> server.shutdown(drainMs, java.util.concurrent.TimeUnit.MILLISECONDS));
    if (adminServer != null) {
      drained = Future.join(drained, adminServer.shutdown(drainMs, java.util.concurrent.TimeUnit.MILLISECONDS)).mapEmpty();
    }
    return drained.eventually(() -> {
      heldEnds.cutAll(); // (their streams' closes would come after the traffic events' consumers stopped)
      if (edge != null) {
        edge.close();
      }
      if (adminEdge != null) {
        adminEdge.close();
      }
      routing.upstreams().close();
      return Future.join(client.close(), backendClients.close());
    });
  }
}
