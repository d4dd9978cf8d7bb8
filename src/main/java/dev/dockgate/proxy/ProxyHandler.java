package dev.dockgate.proxy;

import dev.dockgate.config.BackendConfig;
import dev.dockgate.config.RetryConfig;
import dev.dockgate.config.RouteConfig;
import dev.dockgate.edge.PathNormalizer;
import dev.dockgate.events.TrafficEvent;
import dev.dockgate.pipeline.Exchange;
import dev.dockgate.pipeline.Terminal;
import dev.dockgate.resilience.Breakers;
import dev.dockgate.resilience.RetryBudget;
import dev.dockgate.resilience.UpstreamFailure;
import dev.dockgate.tracing.BackendTry;
import dev.dockgate.tracing.RequestTrace;
import io.vertx.circuitbreaker.CircuitBreakerState;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.httpproxy.Body;
import io.vertx.httpproxy.HttpProxy;
import io.vertx.httpproxy.MediaType;
import io.vertx.httpproxy.OriginRequestProvider;
import io.vertx.httpproxy.ProxyContext;
import io.vertx.httpproxy.ProxyInterceptor;
import io.vertx.httpproxy.ProxyRequest;
import io.vertx.httpproxy.ProxyResponse;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The proxy terminal of one route: pick an instance, run the try through its circuit breaker,
 * stream it with vertx-http-proxy, retry elsewhere when allowed, map any failure to its status.
 * The request's {@link Exchange} counts it. One per route per router instance; called only on
 * that router's event loop.
 */
public final class ProxyHandler implements Terminal, ProxyInterceptor, OriginRequestProvider {

  private static final Logger LOG = Logger.getLogger(ProxyHandler.class.getName());
  /** The {@link ProxyContext} attribute holding the request's {@link Exchange}. */
  private static final String EXCHANGE = "gateway.exchange";
  private static final Upstream[] NONE = new Upstream[0];
  /** How long a starting instance that refused is passed over when another can answer. */
  private static final long PASS_OVER_NANOS = 250_000_000L;
  private static final java.util.Set<io.vertx.core.http.HttpMethod> IDEMPOTENT = java.util.Set.of(
      io.vertx.core.http.HttpMethod.GET, io.vertx.core.http.HttpMethod.HEAD, io.vertx.core.http.HttpMethod.OPTIONS,
      io.vertx.core.http.HttpMethod.PUT, io.vertx.core.http.HttpMethod.DELETE);
  private static final MediaType TEXT_PLAIN = MediaType.parse("text/plain; charset=utf-8");

  private final Vertx vertx;
  private final RouteConfig route;
  private final long connectTimeoutMs;
  /** The name HTTPS instances' certificates must carry, when not their host; also the Host with pass_host: false. */
  private final String serverName;
  private final InstancePicker picker;
  private final RetryConfig retries;
  private final long maxBodyBytes;
  private final java.util.concurrent.atomic.LongAdder inFlight;
  private final RetryBudget budget;
  private final HttpProxy proxy;
  private Upstream[] upstreams = NONE;
  private final io.vertx.core.Handler<Throwable> backendRequestEnded =
      err -> LOG.fine(() -> "request to backend \"" + backend() + "\" ended: " + err);
  private final io.vertx.core.Handler<Throwable> answerCutShort =
      err -> LOG.fine(() -> "answer of backend \"" + backend() + "\" cut short: " + err);
  private final AnswerDeadlines deadlines;
  private final UpgradeTunnel tunnel;
  /** The exchange being handed to vertx-http-proxy, which calls back into this class synchronously. */
  private Exchange handing;

  public ProxyHandler(Vertx vertx, HttpClient client, io.vertx.core.net.NetClient tunnels, RouteConfig route,
      BackendConfig backend, long maxBodyBytes, InFlightRequests inFlight) {
    this.vertx = vertx;
    this.inFlight = inFlight.counter(route.pathPrefix(), route.backend());
    this.maxBodyBytes = maxBodyBytes;
    this.route = route;
    this.connectTimeoutMs = backend.connectTimeoutMs();
    this.serverName = backend.tls().serverName();
    this.picker = InstancePicker.of(backend.loadBalancer());
    this.retries = route.retries();
    this.budget = new RetryBudget(retries);
    this.deadlines = new AnswerDeadlines(vertx, route.timeoutMs());
    this.tunnel = new UpgradeTunnel(vertx, tunnels, backend, route.timeoutMs());
    // Upgrades never reach vertx-http-proxy (UpgradeTunnel carries them), so it need not look for them.
    this.proxy = HttpProxy.reverseProxy(new io.vertx.httpproxy.ProxyOptions().setSupportWebSocket(false), client)
        .origin(this).addInterceptor(this);
  }

  String backend() {
    return route.backend();
  }

  /** Replaces the instances this route picks from; same event loop as requests. */
  void upstreams(Upstream[] upstreams) {
    this.upstreams = upstreams;
  }

  @Override
  public void handle(Exchange exchange) {
    if (exchange.request().canUpgradeToWebSocket()) {
      upgrade(exchange);
      return;
    }
    handing = exchange;
    try {
      proxy.handle(exchange.request());
    } finally {
      handing = null;
    }
  }

  @Override
  public Future<ProxyResponse> handleProxyRequest(ProxyContext ctx) {
    Exchange exchange = handing;
    Attempt attempt = new Attempt(exchange);
    ctx.set(EXCHANGE, attempt);
    inFlight.increment();
    HeaderPolicy.onRequest(ctx.request(), exchange);
    HttpServerRequest incoming = ctx.request().proxiedRequest();
    String expect = incoming.getHeader(HttpHeaders.EXPECT);
    if (expect != null) {
      // The route's stages accepted the request: the client may send its body now. The gateway
      // streams it on, so the backend is not asked to continue a second time.
      ctx.request().headers().remove(HttpHeaders.EXPECT);
      if (expect.equalsIgnoreCase("100-continue") && !incoming.isEnded()) {
        incoming.response().writeContinue();
      }
    }
    String path = PathNormalizer.normalize(incoming.path()); // the router refused the paths it cannot normalize
    if (path != incoming.path() || !ctx.request().getURI().startsWith("/")) {
      // Forward what was matched: the normal path, in origin form even if the client sent absolute form.
      ctx.request().setURI(incoming.query() == null ? path : path + "?" + incoming.query());
    }
    if (route.stripPrefix()) {
      ctx.request().setURI(stripPrefix(ctx.request().getURI()));
    }
    if (incoming.getHeader(HttpHeaders.CONTENT_LENGTH) == null && incoming.getHeader(HttpHeaders.TRANSFER_ENCODING) != null) {
      // Announced sizes were checked on arrival; an unannounced one is counted as it streams.
      ctx.request().setBody(Body.body(new LimitedBody(incoming, maxBodyBytes, () -> attempt.tooLarge = true), -1));
    }
    if (incoming.version() == HttpVersion.HTTP_2 && incoming.getHeader(HttpHeaders.CONTENT_LENGTH) == null) {
      // HTTP/2 does not announce a body's size, nor whether there is one: the first frame after the head tells.
      PeekedBody body = new PeekedBody(incoming);
      return body.peek().compose(hasBody -> {
        if (hasBody) {
          // vertx-http-proxy streams an unsized body chunked only when this header says so.
          incoming.headers().set("transfer-encoding", "chunked");
          ctx.request().setBody(Body.body(new LimitedBody(body, maxBodyBytes, () -> attempt.tooLarge = true), -1));
        } else {
          ctx.request().setBody(null);
        }
        return dispatch(ctx);
      }, err -> failed(ctx, new UpstreamFailure.ClientGone(route.backend(), err)));
    }
    return dispatch(ctx);
  }

  /**
   * A WebSocket upgrade: one try on an available instance through its breaker, then a byte tunnel
   * or the backend's refusal with its body (see {@link UpgradeTunnel}). Never retried: after the 101
   * it is a tunnel.
   */
  private void upgrade(Exchange exchange) {
    inFlight.increment();
    Upstream[] candidates = upstreams;
    Upstream picked = picker.pick(candidates);
    if (picked != null && candidates.length > 1 && unavailable(picked)) {
      Upstream alternative = picker.pick(without(candidates, picked));
      if (alternative != null && !unavailable(alternative)) {
        picked = alternative;
      }
    }
    if (picked == null) {
      inFlight.decrement();
      UpstreamFailure none = new UpstreamFailure.NoInstance(route.backend());
      exchange.answer(none.status(), Buffer.buffer(none.getMessage() + "\n"));
      return;
    }
    Upstream upstream = picked;
    upstream.started();
    exchange.instance(upstream.instance().name());
    Runnable done = () -> {
      upstream.finished();
      inFlight.decrement();
    };
    io.vertx.core.net.HostAndPort origin = upstream.origin(serverName);
    HttpServerRequest incoming = exchange.request();
    String path = PathNormalizer.normalize(incoming.path());
    String uri = incoming.query() == null ? path : path + "?" + incoming.query();
    if (route.stripPrefix()) {
      uri = stripPrefix(uri);
    }
    io.vertx.core.net.HostAndPort host = route.passHost() && incoming.authority() != null ? incoming.authority() : origin;
    RequestTrace trace = exchange.trace();
    BackendTry span = trace == null ? null : trace.backendTry(upstream.instance().name(), upstream.instance().host(),
        upstream.instance().port(), 0);
    String head = HeaderPolicy.upgradeHead(exchange, uri, host, span);
    upstream.breaker().<UpgradeTunnel.Answer>execute(() -> tunnel.request(upstream, origin, head)).onComplete(ar -> {
      if (ar.failed()) {
        UpstreamFailure failure = UpstreamFailure.classify(ar.cause(), route.backend());
        if (span != null) {
          span.failed(failure.getClass().getSimpleName(), failure.getMessage());
        }
        if (failure instanceof UpstreamFailure.TlsFailed && upstream.firstTlsFailure()) {
          LOG.warning("backend \"" + route.backend() + "\" instance " + upstream.instance() + ": " + failure.getMessage()
              + "; answering 502 (check the backend's tls: ca_file, server_name)");
        }
        done.run();
        exchange.answer(failure.status(), Buffer.buffer(failure.getMessage() + "\n"));
        return;
      }
      Breakers.succeeded(upstream.breaker());
      UpgradeTunnel.Answer answer = ar.result();
      if (span != null) {
        span.answered(answer.status());
      }
      if (answer.status() == 101) {
        tunnel.switchProtocols(exchange, answer, done);
      } else {
        tunnel.refuse(exchange, answer, done);
      }
    });
  }

  /** The first try, once the body is settled; bodiless requests become replayable when retries are on. */
  private Future<ProxyResponse> dispatch(ProxyContext ctx) {
    HttpServerRequest incoming = ctx.request().proxiedRequest();
    // An upgrade is never replayed: after the 101 it is a tunnel, and vertx-http-proxy streams its body.
    if (!retries.enabled()) {
      return attempt(ctx, upstreams, 0);
    }
    budget.onRequest(System.currentTimeMillis());
    if (retries.deadlineMs() > 0) {
      exchange(ctx).deadlineNanos = exchange(ctx).exchange.arrivalNanos() + retries.deadlineMs() * 1_000_000L;
    }
    exchange(ctx).replayable = replayable(incoming);
    if (exchange(ctx).replayable) {
      // Nothing to stream: each try sends the head alone, so the request can be sent again.
      ctx.request().setBody(null);
      if (!incoming.isEnded()) { // an HTTP/2 request read to its end refuses resume()
        incoming.resume();
      }
    }
    return attempt(ctx, upstreams, 0);
  }

  /** One try on an instance picked among {@code candidates}; on a retryable failure, the next try. */
  private Future<ProxyResponse> attempt(ProxyContext ctx, Upstream[] candidates, int retry) {
    Upstream upstream = picker.pick(candidates);
    if (upstream != null && candidates.length > 1 && unavailable(upstream)) {
      // Passive ejection: an instance whose circuit is open, or that is starting and refused a
      // moment ago, is skipped while others may answer.
      Upstream[] others = without(candidates, upstream);
      Upstream alternative = picker.pick(others);
      if (alternative != null && !unavailable(alternative)) {
        upstream = alternative;
        candidates = others;
      }
    }
    if (upstream == null) {
      return failed(ctx, new UpstreamFailure.NoInstance(route.backend()));
    }
    return send(ctx, candidates, upstream, retry);
  }

  private static boolean unavailable(Upstream upstream) {
    long now = System.nanoTime();
    return upstream.breaker().state() == CircuitBreakerState.OPEN || upstream.passedOver(now) || upstream.ejected(now);
  }

  private Future<ProxyResponse> send(ProxyContext ctx, Upstream[] candidates, Upstream upstream, int retry) {
    upstream.started();
    Attempt exchange = exchange(ctx);
    exchange.upstream = upstream;
    exchange.exchange.instance(upstream.instance().name());
    RequestTrace trace = exchange.exchange.trace();
    BackendTry span = trace == null ? null : trace.backendTry(upstream.instance().name(), upstream.instance().host(),
        upstream.instance().port(), retry);
    if (span != null) {
      span.inject(ctx.request().headers());
    }
    Future<ProxyResponse> exchanged = upstream.inStartupGrace(System.nanoTime())
        ? upstream.breaker().<ProxyResponse>execute(() -> exchangeInGrace(ctx, exchange))
            .compose(r -> r != null ? Future.succeededFuture(r) : Future.failedFuture(notListening(upstream)))
        : upstream.breaker().execute(() -> exchange(ctx, exchange));
    return exchanged.transform(ar -> {
      if (ar.succeeded()) {
        if (span != null) {
          span.answered(ar.result().getStatusCode());
        }
        Breakers.succeeded(upstream.breaker());
        // vertx-http-proxy answers 501 itself, bypassing this class, to any Transfer-Encoding but
        // exactly "chunked" (Chunked, gzip, chunked are valid): Netty decoded the body already, and
        // it is streamed on chunked without the header.
        ar.result().headers().remove(HttpHeaders.TRANSFER_ENCODING);
        upstream.answered(ar.result().getStatusCode(), System.nanoTime());
        Future<ProxyResponse> again = retryOnStatus(ctx, candidates, upstream, retry, ar.result());
        return again != null ? again : exchanged;
      }
      UpstreamFailure failure = UpstreamFailure.classify(ar.cause(), route.backend());
      if (span != null) {
        span.failed(failure.getClass().getSimpleName(), failure.getMessage());
      }
      if (failure instanceof UpstreamFailure.TlsFailed && upstream.firstTlsFailure()) {
        LOG.warning("backend \"" + route.backend() + "\" instance " + upstream.instance() + ": " + failure.getMessage()
            + "; answering 502 (check the backend's tls: ca_file, server_name)");
      }
      // Refused at connect, no connection in time (connect_timeout_ms, pool wait included) or circuit
      // open: nothing left the gateway, any request may go elsewhere. Broken after sending: only
      // replayable (bodiless idempotent) ones.
      boolean unsent = failure instanceof UpstreamFailure.CircuitOpen
          || (failure instanceof UpstreamFailure.Refused && exchange.unsent);
      boolean again = retries.enabled() && retry < retries.attempts()
          && (unsent || (failure.retryable() && exchange.replayable));
      Upstream[] others = again ? without(candidates, upstream) : NONE;
      long delay = others.length == 0 ? 0 : budget.backoffMs(retry);
      if (others.length == 0 || !beforeDeadline(exchange, delay) || !budget.tryRetry(System.currentTimeMillis())) {
        return failed(ctx, failure);
      }
      return retry(ctx, others, upstream, retry, delay, failure.getMessage());
    });
  }

  /**
   * A replayable request whose answer has a status in {@code retry_on} goes to another instance when
   * one is left, the deadline allows and the budget has room; that answer is dropped (its connection
   * reset). Null when this answer is the one the client gets.
   */
  private Future<ProxyResponse> retryOnStatus(ProxyContext ctx, Upstream[] candidates, Upstream upstream, int retry,
      ProxyResponse response) {
    if (retries.retryOn().isEmpty() || !retries.retryOn().contains(response.getStatusCode())
        || retry >= retries.attempts() || !exchange(ctx).replayable) {
      return null;
    }
    Upstream[] others = without(candidates, upstream);
    long delay = others.length == 0 ? 0 : budget.backoffMs(retry);
    if (others.length == 0 || !beforeDeadline(exchange(ctx), delay) || !budget.tryRetry(System.currentTimeMillis())) {
      return null;
    }
    response.proxiedResponse().request().reset();
    return retry(ctx, others, upstream, retry, delay, "status " + response.getStatusCode());
  }

  private Future<ProxyResponse> retry(ProxyContext ctx, Upstream[] others, Upstream upstream, int retry, long delay,
      String reason) {
    Attempt exchange = exchange(ctx);
    upstream.finished();
    exchange.upstream = null;
    exchange.exchange.instance(null);
    LOG.fine(() -> "retry " + (retry + 1) + " of " + ctx.request().getMethod() + " " + ctx.request().getURI()
        + " after " + reason + " on " + upstream.instance());
    return backoff(delay).compose(v -> attempt(ctx, others, retry + 1));
  }

  /** Whether a try after {@code delayMs} of backoff still starts before the request's deadline (if any). */
  private static boolean beforeDeadline(Attempt attempt, long delayMs) {
    return attempt.deadlineNanos == 0 || attempt.deadlineNanos - (System.nanoTime() + delayMs * 1_000_000L) > 0;
  }

  private Future<Void> backoff(long delay) {
    if (delay <= 0) {
      return Future.succeededFuture();
    }
    io.vertx.core.Promise<Void> promise = io.vertx.core.Promise.promise();
    vertx.setTimer(delay, id -> promise.complete());
    return promise.future();
  }

  /** Idempotent and bodiless: safe to send again after a failure before any answer. */
  private static boolean replayable(HttpServerRequest request) {
    if (!IDEMPOTENT.contains(request.method())) {
      return false;
    }
    String length = request.getHeader(HttpHeaders.CONTENT_LENGTH);
    return (length == null || length.trim().equals("0")) && request.getHeader(HttpHeaders.TRANSFER_ENCODING) == null;
  }

  private static Upstream[] without(Upstream[] candidates, Upstream tried) {
    Upstream[] rest = new Upstream[candidates.length - 1];
    int j = 0;
    for (Upstream u : candidates) {
      if (u != tried && j < rest.length) {
        rest[j++] = u;
      }
    }
    return j == rest.length ? rest : java.util.Arrays.copyOf(rest, j);
  }

  /** The URI without the route's prefix; what remains always starts with "/". */
  private String stripPrefix(String uri) {
    String rest = uri.length() >= route.pathPrefix().length() ? uri.substring(route.pathPrefix().length()) : "";
    return rest.startsWith("/") ? rest : "/" + rest;
  }

  /**
   * The exchange with an instance in its startup grace: a refused connection (nothing sent) is not
   * the instance failing but its server not listening yet, so the breaker sees no failure (null
   * stands for it) and {@link #notListening} turns it back into a refusal after the breaker.
   */
  private Future<ProxyResponse> exchangeInGrace(ProxyContext ctx, Attempt exchange) {
    return exchange(ctx, exchange).recover(err -> err instanceof java.net.ConnectException && exchange.unsent
        ? Future.succeededFuture()
        : Future.failedFuture(err));
  }

  private UpstreamFailure notListening(Upstream upstream) {
    upstream.passOver(System.nanoTime(), PASS_OVER_NANOS);
    return new UpstreamFailure.Refused(route.backend(),
        new java.net.ConnectException("refused by " + upstream.instance() + ", which has just started"));
  }

  /** Sends the request; a failure caused by the client leaving is marked so the breaker ignores it. */
  private Future<ProxyResponse> exchange(ProxyContext ctx, Attempt exchange) {
    return ctx.sendRequest().recover(err -> Future.failedFuture(
        exchange.tooLarge ? new UpstreamFailure.BodyTooLarge(maxBodyBytes)
            : clientLeftOrRefused(ctx) ? new UpstreamFailure.ClientGone(route.backend(), err)
            : err));
  }

  /** The client went away, or the edge answered it already (body too slow or malformed) and closes it. */
  private static boolean clientLeftOrRefused(ProxyContext ctx) {
    io.vertx.core.http.HttpServerResponse response = ctx.request().proxiedRequest().response();
    return response.closed() || response.ended();
  }

  @Override
  public Future<HttpClientRequest> create(ProxyContext ctx) {
    Attempt exchange = exchange(ctx);
    Upstream upstream = exchange.upstream;
    RequestOptions options = new RequestOptions()
        .setServer(upstream.address())
        .setConnectTimeout(connectTimeoutMs);
    io.vertx.core.net.HostAndPort origin = upstream.origin(serverName);
    if (upstream.instance().tls()) {
      // SNI and the name the certificate must carry: the configured server name, else the instance's host.
      options.setSsl(true).setHost(origin.host()).setPort(origin.port());
    }
    if (ctx.request().proxiedRequest().authority() == null) {
      // An HTTP/1.0 request without Host: the backend gets its own address as Host.
      options.setHost(origin.host()).setPort(origin.port());
    } else if (!route.passHost()) {
      ctx.request().setAuthority(origin);
    }
    exchange.unsent = false;
    return ctx.client().request(options).recover(err -> {
      exchange.unsent = true;
      // No connection within connect_timeout_ms (the TCP connect or the wait in the pool): Vert.x
      // fails it with a TimeoutException, but nothing was sent, so it is the instance being
      // unreachable (503), not a late answer (504).
      return Future.failedFuture(err instanceof java.util.concurrent.TimeoutException
          ? new UpstreamFailure.Refused(route.backend(), err) : err);
    }).onSuccess(request -> {
      // A pooled connection reset by the backend (a container killed): reported once, not logged by Vert.x as an error.
      request.connection().exceptionHandler(upstream.connectionLoss(route.backend()));
      // The gateway resets this request itself when it gives up on a body (413) or an answer (504),
      // and a WebSocket tunnel closing ends it too: expected, so not the error Vert.x logs without a handler.
      request.exceptionHandler(backendRequestEnded);
      HttpServerRequest incoming = ctx.request().proxiedRequest();
      if (incoming.isEnded()) {
        AnswerDeadlines.Pending deadline = watch(exchange, request);
        request.response().onComplete(answer -> answered(deadline, answer));
      } else {
        // An upload: timeout_ms counts from its last byte, so a large body on a slow link is not
        // cut while it is still being sent (an answer before that needs no deadline).
        AnswerDeadlines.Pending[] deadline = new AnswerDeadlines.Pending[1];
        incoming.end().onComplete(sent -> {
          if (!request.response().isComplete()) {
            deadline[0] = watch(exchange, request);
          }
        });
        request.response().onComplete(answer -> answered(deadline[0], answer));
      }
    });
  }

  private void answered(AnswerDeadlines.Pending deadline, io.vertx.core.AsyncResult<io.vertx.core.http.HttpClientResponse> answer) {
    if (deadline != null) {
      deadline.settled();
    }
    if (answer.succeeded()) {
      // A client leaving mid-answer resets the backend stream: expected, not worth an error log.
      answer.result().exceptionHandler(answerCutShort);
    }
  }

  /**
   * The try's answer deadline: the route's timeout_ms, or what is left of the request's deadline
   * when that is sooner (a late retry); the latter takes a timer of its own.
   */
  private AnswerDeadlines.Pending watch(Attempt attempt, HttpClientRequest request) {
    long left = attempt.deadlineNanos == 0 ? Long.MAX_VALUE : attempt.deadlineNanos - System.nanoTime();
    if (left >= deadlines.timeoutNanos()) {
      return deadlines.watch(request);
    }
    return deadlines.watchFor(request, Math.max(1, left / 1_000_000));
  }

  @Override
  public Future<Void> handleProxyResponse(ProxyContext ctx) {
    Attempt exchange = exchange(ctx);
    if (ctx.request().proxiedRequest().response().ended()) {
      finished(exchange); // the edge answered and counted this request (EdgeGuard)
      return Future.succeededFuture();
    }
    ProxyResponse response = ctx.response();
    HeaderPolicy.onResponse(response);
    exchange.exchange.pipeline().onResponse(exchange.exchange, response.headers());
    if (exchange.tooLarge && ctx.request().proxiedRequest().version() != HttpVersion.HTTP_2) {
      // The rest of the body is not read: EdgeGuard closes. HTTP/2 has no Connection header.
      response.putHeader("connection", "close");
    }
    response.headers().set(TrafficEvent.REQUEST_ID_HEADER, exchange.exchange.requestId());
    String date = response.headers().get(HttpHeaders.DATE);
    if (date != null) {
      // vertx-http-proxy parses and re-formats the backend's Date on every response (a HashMap per
      // parse, ~5% of the CPU time): without it the parse is skipped, and the backend's value goes
      // back in just before the head is written.
      response.headers().remove(HttpHeaders.DATE);
      io.vertx.core.http.HttpServerResponse out = ctx.request().proxiedRequest().response();
      out.headersEndHandler(v -> out.putHeader(HttpHeaders.DATE, date));
    }
    return ctx.sendResponse().onComplete(ar -> finished(exchange)); // the response's end counted the request
  }

  private Future<ProxyResponse> failed(ProxyContext ctx, UpstreamFailure failure) {
    if (LOG.isLoggable(Level.FINE)) {
      LOG.fine(ctx.request().getMethod() + " " + ctx.request().getURI() + ": " + failure.getMessage()
          + (failure.getCause() == null ? "" : " (" + failure.getCause() + ")"));
    }
    // A replayable request has no body left to drain; others release (drain) theirs first.
    ProxyRequest request = ctx.request().getBody() == null ? ctx.request() : ctx.request().release();
    ProxyResponse response = request.response()
        .setStatusCode(failure.status())
        .setBody(Body.body(Buffer.buffer(failure.getMessage() + "\n"), TEXT_PLAIN));
    return Future.succeededFuture(response);
  }

  private void finished(Attempt exchange) {
    inFlight.decrement();
    Upstream upstream = exchange.upstream;
    if (upstream != null) {
      upstream.finished();
    }
  }

  private static Attempt exchange(ProxyContext ctx) {
    return ctx.get(EXCHANGE, Attempt.class);
  }

  /**
   * The proxy's state of one request across its tries, kept in one context attribute (the
   * context's map would otherwise take a lookup and a boxed value per field). Event-loop confined.
   */
  private static final class Attempt {
    final Exchange exchange;
    /** The instance of the current try; null between tries. */
    Upstream upstream;
    /** The client's unannounced body went past the limit (413). */
    boolean tooLarge;
    /** The current try found no connection: nothing was sent, any request may go elsewhere. */
    boolean unsent;
    /** System.nanoTime() by which the request, all tries together, must have its answer; 0: none. */
    long deadlineNanos;
    /** Idempotent and bodiless as the client sent it: safe to send again after it left the gateway. */
    boolean replayable;

    Attempt(Exchange exchange) {
      this.exchange = exchange;
    }
  }
}
