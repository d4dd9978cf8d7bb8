package dev.dockgate.routing;

import dev.dockgate.config.BackendConfig;
import dev.dockgate.config.RouteConfig;
import dev.dockgate.events.Addresses;
import dev.dockgate.events.TrafficEvent;
import dev.dockgate.resilience.Breakers;
import dev.dockgate.resilience.UpstreamFailure;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.RequestOptions;
import io.vertx.httpproxy.Body;
import io.vertx.httpproxy.HttpProxy;
import io.vertx.httpproxy.MediaType;
import io.vertx.httpproxy.OriginRequestProvider;
import io.vertx.httpproxy.ProxyContext;
import io.vertx.httpproxy.ProxyInterceptor;
import io.vertx.httpproxy.ProxyResponse;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The request path of one route: pick an instance, run the exchange through its circuit breaker,
 * stream it with vertx-http-proxy, map any failure to its status, publish one traffic event.
 * One per route per router instance; called only on that router's event loop.
 */
final class ProxyHandler implements ProxyInterceptor, OriginRequestProvider {

  private static final Logger LOG = Logger.getLogger(ProxyHandler.class.getName());
  private static final String UPSTREAM = "gateway.upstream";
  private static final String STARTED = "gateway.started";
  private static final Upstream[] NONE = new Upstream[0];
  private static final MediaType TEXT_PLAIN = MediaType.parse("text/plain; charset=utf-8");

  private final Vertx vertx;
  private final RouteConfig route;
  private final long connectTimeoutMs;
  private final InstancePicker picker;
  private final HttpProxy proxy;
  private Upstream[] upstreams = NONE;

  ProxyHandler(Vertx vertx, HttpClient client, RouteConfig route, BackendConfig backend) {
    this.vertx = vertx;
    this.route = route;
    this.connectTimeoutMs = backend.connectTimeoutMs();
    this.picker = InstancePicker.of(backend.loadBalancer());
    this.proxy = HttpProxy.reverseProxy(client).origin(this).addInterceptor(this, true);
  }

  String backend() {
    return route.backend();
  }

  /** Replaces the instances this route picks from; same event loop as requests. */
  void upstreams(Upstream[] upstreams) {
    this.upstreams = upstreams;
  }

  void handle(HttpServerRequest request) {
    proxy.handle(request);
  }

  @Override
  public Future<ProxyResponse> handleProxyRequest(ProxyContext ctx) {
    ctx.set(STARTED, System.nanoTime());
    HeaderPolicy.onRequest(ctx.request());
    if (route.stripPrefix()) {
      ctx.request().setURI(stripPrefix(ctx.request().getURI()));
    }
    Upstream upstream = picker.pick(upstreams);
    if (upstream == null) {
      return failed(ctx, new UpstreamFailure.NoInstance(route.backend()));
    }
    upstream.started();
    ctx.set(UPSTREAM, upstream);
    return upstream.breaker().<ProxyResponse>execute(() -> exchange(ctx))
        .onSuccess(r -> Breakers.succeeded(upstream.breaker()))
        .recover(err -> failed(ctx, UpstreamFailure.classify(err, route.backend())));
  }

  /** The URI without the route's prefix; what remains always starts with "/". */
  private String stripPrefix(String uri) {
    String rest = uri.length() >= route.pathPrefix().length() ? uri.substring(route.pathPrefix().length()) : "";
    return rest.startsWith("/") ? rest : "/" + rest;
  }

  /** Sends the request; a failure caused by the client leaving is marked so the breaker ignores it. */
  private Future<ProxyResponse> exchange(ProxyContext ctx) {
    return ctx.sendRequest().recover(err -> Future.failedFuture(
        ctx.request().proxiedRequest().response().closed()
            ? new UpstreamFailure.ClientGone(route.backend(), err)
            : err));
  }

  @Override
  public Future<HttpClientRequest> create(ProxyContext ctx) {
    Upstream upstream = ctx.get(UPSTREAM, Upstream.class);
    RequestOptions options = new RequestOptions()
        .setServer(upstream.instance().socketAddress())
        .setConnectTimeout(connectTimeoutMs)
        .setIdleTimeout(route.timeoutMs());
    return ctx.client().request(options).onSuccess(request -> request.response().onSuccess(response ->
        // A client leaving mid-answer resets the backend stream: expected, not worth an error log.
        response.exceptionHandler(err -> LOG.fine("answer of backend \"" + route.backend() + "\" cut short: " + err))));
  }

  @Override
  public Future<Void> handleProxyResponse(ProxyContext ctx) {
    ProxyResponse response = ctx.response();
    HeaderPolicy.onResponse(response);
    int status = response.getStatusCode();
    return ctx.sendResponse().andThen(ar -> publish(ctx, status));
  }

  private Future<ProxyResponse> failed(ProxyContext ctx, UpstreamFailure failure) {
    if (LOG.isLoggable(Level.FINE)) {
      LOG.fine(ctx.request().getMethod() + " " + ctx.request().getURI() + ": " + failure.getMessage()
          + (failure.getCause() == null ? "" : " (" + failure.getCause() + ")"));
    }
    ProxyResponse response = ctx.request().release().response()
        .setStatusCode(failure.status())
        .setBody(Body.body(Buffer.buffer(failure.getMessage() + "\n"), TEXT_PLAIN));
    return Future.succeededFuture(response);
  }

  private void publish(ProxyContext ctx, int status) {
    Long started = ctx.get(STARTED, Long.class);
    double latencyMs = started == null ? 0.0 : (System.nanoTime() - started) / 1_000_000.0;
    Upstream upstream = ctx.get(UPSTREAM, Upstream.class);
    if (upstream != null) {
      upstream.finished();
    }
    HttpServerRequest request = ctx.request().proxiedRequest();
    TrafficEvent event = new TrafficEvent(System.currentTimeMillis(), request.method().name(),
        request.path(), route.pathPrefix(), route.backend(),
        upstream == null ? null : upstream.instance().name(), status, latencyMs);
    vertx.eventBus().publish(Addresses.TRAFFIC, event.toJson(), Addresses.TRAFFIC_DELIVERY);
  }
}
