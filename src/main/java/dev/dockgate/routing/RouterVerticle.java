package dev.dockgate.routing;

import dev.dockgate.config.BackendConfig;
import dev.dockgate.config.GatewayConfig;
import dev.dockgate.config.RouteConfig;
import dev.dockgate.discovery.DiscoveryVerticle;
import dev.dockgate.events.Addresses;
import dev.dockgate.events.SharedJsonCodec;
import dev.dockgate.events.TrafficEvent;
import dev.dockgate.resilience.BreakerRegistry;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.servicediscovery.ServiceDiscovery;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.net.HostAndPort;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One HTTP listener instance (one per core): answers /stats, the default response, or hands the
 * request to its route's {@link ProxyHandler}. Keeps its own snapshot of instances per backend,
 * refreshed from discovery announcements, never from the request path.
 */
public final class RouterVerticle extends VerticleBase {

  private static final Buffer METHOD_NOT_ALLOWED = Buffer.buffer("method not allowed\n");
  private static final DeliveryOptions STATS_QUERY = new DeliveryOptions().setSendTimeout(5_000);

  private final GatewayConfig config;
  private final BreakerRegistry breakers;
  private final Buffer defaultBody;
  private ServiceDiscovery discovery;
  private HttpClient client;
  private RouteTable<ProxyHandler> routes;
  private Upstreams upstreams;
  private HttpServer server;

  public RouterVerticle(GatewayConfig config, BreakerRegistry breakers) {
    this.config = config;
    this.breakers = breakers;
    this.defaultBody = Buffer.buffer(config.defaultResponse().body());
  }

  @Override
  public Future<?> start() {
    int poolSize = config.backends().stream().mapToInt(BackendConfig::maxConnections).max().orElse(1);
    SharedJsonCodec.register(vertx.eventBus());
    client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true),
        new PoolOptions().setHttp1MaxSize(poolSize));
    Map<String, BackendConfig> backends = config.backendsByName();
    List<RouteTable.Entry<ProxyHandler>> entries = new ArrayList<>();
    for (RouteConfig route : config.routes()) {
      ProxyHandler handler = new ProxyHandler(vertx, client, route, backends.get(route.backend()));
      entries.add(new RouteTable.Entry<>(route.pathPrefix(), route.host(), Set.copyOf(route.methods()), handler));
    }
    routes = new RouteTable<>(entries);
    upstreams = new Upstreams(breakers, config.backends(), entries.stream().map(RouteTable.Entry::target).toList());
    discovery = ServiceDiscovery.create(vertx, DiscoveryVerticle.discoveryOptions());
    Future<Void> announcements = vertx.eventBus()
        .consumer(Addresses.DISCOVERY_ANNOUNCE, msg -> refresh())
        .completion();
    return announcements
        .compose(v -> refreshNow())
        .compose(v -> listen());
  }

  private Future<HttpServer> listen() {
    HttpServerOptions options = new HttpServerOptions()
        .setHost(config.server().host())
        .setPort(config.server().port())
        .setTcpNoDelay(true);
    return vertx.createHttpServer(options)
        .requestHandler(this::handle)
        .listen()
        .onSuccess(s -> server = s);
  }

  private void handle(HttpServerRequest request) {
    String path = request.path();
    if (config.server().statsPath().equals(path)) {
      stats(request);
      return;
    }
    HostAndPort authority = request.authority();
    String host = authority == null ? null : authority.host();
    ProxyHandler handler = routes.match(host, request.method().name(), path);
    if (handler != null) {
      handler.handle(request);
      return;
    }
    Set<String> allowed = routes.allowedMethods(host, path);
    if (allowed.isEmpty()) {
      answer(request, config.defaultResponse().statusCode(), defaultBody, null);
    } else {
      answer(request, 405, METHOD_NOT_ALLOWED, String.join(", ", allowed));
    }
  }

  private void stats(HttpServerRequest request) {
    vertx.eventBus().<JsonObject>request(Addresses.STATS_QUERY, null, STATS_QUERY)
        .onSuccess(reply -> request.response()
            .putHeader("content-type", "application/json")
            .end(reply.body().toBuffer()))
        .onFailure(err -> request.response().setStatusCode(503).end("stats unavailable\n"));
  }

  /** An answer the gateway makes itself (default response, 405), counted like any other. */
  private void answer(HttpServerRequest request, int status, Buffer body, String allow) {
    long started = System.nanoTime();
    HttpServerResponse response = request.response()
        .setStatusCode(status)
        .putHeader("content-type", "text/plain; charset=utf-8");
    if (allow != null) {
      response.putHeader("allow", allow);
    }
    response.end(body).andThen(ar -> vertx.eventBus().publish(Addresses.TRAFFIC, new TrafficEvent(
        System.currentTimeMillis(), request.method().name(), request.path(), null, null, null,
        status, (System.nanoTime() - started) / 1_000_000.0).toJson(), Addresses.TRAFFIC_DELIVERY));
  }

  private boolean refreshing;
  private boolean refreshAgain;

  /** Coalesces announcement bursts into one snapshot rebuild at a time. */
  private void refresh() {
    if (refreshing) {
      refreshAgain = true;
      return;
    }
    refreshNow();
  }

  private Future<Void> refreshNow() {
    refreshing = true;
    refreshAgain = false;
    return discovery.getRecords(record -> true)
        .map(records -> {
          upstreams.apply(BackendInstances.from(records, config.backends()));
          return (Void) null;
        })
        .andThen(ar -> {
          refreshing = false;
          if (refreshAgain) {
            refresh();
          }
        });
  }

  @Override
  public Future<?> stop() {
    discovery.close();
    upstreams.close();
    return server == null ? client.close() : server.close().eventually(client::close);
  }
}
