package dev.dockgate.proxy;

import dev.dockgate.config.BackendConfig;
import dev.dockgate.config.RetryConfig;
import dev.dockgate.config.RouteConfig;
import dev.dockgate.edge.EdgeGuard;
import dev.dockgate.edge.HttpDate;
import dev.dockgate.edge.PathNormalizer;
import dev.dockgate.events.TrafficEvent;
import dev.dockgate.pipeline.Exchange;
import dev.dockgate.pipeline.Terminal;
import dev.dockgate.resilience.Breaker;
import dev.dockgate.resilience.RetryBudget;
import dev.dockgate.resilience.UpstreamFailure;
import dev.dockgate.tracing.BackendTry;
import dev.dockgate.tracing.RequestTrace;
import io.vertx.circuitbreaker.CircuitBreakerState;
import io.vertx.core.Completable;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.streams.ReadStream;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The proxy terminal of one route: pick an instance, run the try through its circuit breaker,
 * stream the request and the answer with Vert.x's HTTP client and server (both ways, with
 * back-pressure), retry elsewhere when allowed, map any failure to its status. The request's
 * {@link Exchange} counts it. One per route per router instance; called only on that router's event loop.
 */
public final class ProxyHandler implements Terminal {

  private static final Logger LOG = Logger.getLogger(ProxyHandler.class.getName());
  private static final CharSequence GRPC_TIMEOUT = HttpHeaders.createOptimized("grpc-timeout");
  /** The longest wait a gRPC call's own deadline buys: an hour, the longest timeout_ms a route may have. */
  private static final long MAX_GRPC_TIMEOUT_NANOS = 3_600_000L * 1_000_000L;
  private static final Buffer UPGRADE_WITH_BODY = Buffer.buffer("a WebSocket upgrade request carries no body\n");

  private final Vertx vertx;
  /** Requests to HTTP/2 instances (Vert.x's pool: one multiplexed connection each). */
  private final HttpClient client;
  /** Requests to HTTP/1 instances, plain or HTTPS. */
  private final ConnectionPool pool;
  private final RouteConfig route;
  private final long connectTimeoutMs;
  /** The name HTTPS instances' certificates must carry, when not their host; also the Host with pass_host: false. */
  private final String serverName;
  private final InstancePicker picker;
  private final RetryConfig retries;
  private final long maxBodyBytes;
  private final java.util.concurrent.atomic.LongAdder inFlight;
  private final RetryBudget budget;
  private Upstream[] upstreams = Tries.NONE;
  private final AnswerDeadlines deadlines;
  private final UpgradeTunnel tunnel;
  /** The backend is spoken to in HTTP/2 ({@code protocol: http2}), through {@link #client}. */
  private final boolean http2;
  /** How long an HTTP/2 client may take nothing of an answer (server.idle_timeout_ms); null: no limit. */
  private final Relay.Stalls stalls;
  /** The bodies read whole before the first try to an HTTP/2 backend. */
  private final HeldBodies held;
  /**
   * The prefix this route strips (said to the backend and put back into its redirects), and its rewriting of the
   * redirects naming the instance; null: neither (no prefix stripped, rewrite_location: false).
   */
  private final StrippedPrefix prefix;
  /** The head of every answer through this route. */
  private final AnswerHead heads;
  /** The failures of its tries, the gateway's own answers, and each request's end. */
  private final Failures failures;
  /** The backend's answers relayed to the client. */
  private final BackendAnswer answers;
  /** The tries of each request: instance, breaker, retries. */
  private final Tries tries;

  public ProxyHandler(Vertx vertx, HttpClient client, ConnectionPool pool, io.vertx.core.net.NetClient tunnels,
      RouteConfig route, BackendConfig backend, long maxBodyBytes, long idleTimeoutMs, InFlightRequests inFlight,
      dev.dockgate.resilience.RetryAllowance retryAllowance) {
    this.vertx = vertx;
    this.client = client;
    this.pool = pool;
    this.inFlight = inFlight.counter(route.pathPrefix(), route.backend());
    this.maxBodyBytes = maxBodyBytes;
    this.route = route;
    this.connectTimeoutMs = backend.connectTimeoutMs();
    this.serverName = backend.tls().serverName();
    this.picker = InstancePicker.of(backend.loadBalancer());
    this.retries = route.retries();
    this.budget = new RetryBudget(retries, retryAllowance);
    this.deadlines = new AnswerDeadlines(vertx, route.timeoutMs());
    this.tunnel = new UpgradeTunnel(vertx, tunnels, backend, route.timeoutMs());
    this.http2 = backend.http2();
    this.stalls = idleTimeoutMs > 0 ? new Relay.Stalls(vertx, idleTimeoutMs) : null;
    this.prefix = StrippedPrefix.of(route);
    this.heads = new AnswerHead(route, serverName, prefix);
    this.failures = new Failures(route, maxBodyBytes, this.inFlight, heads);
    this.answers = new BackendAnswer(route, http2, stalls, heads, failures);
    BackendRequest requests = new BackendRequest(vertx, client, pool, route, backend, deadlines, failures);
    this.tries = new Tries(vertx, route, picker, budget, requests, answers, failures);
    this.held = new HeldBodies();
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
    HttpServerRequest incoming = exchange.request();
    if (incoming.canUpgradeToWebSocket()) {
      if (Framing.declaresBody(incoming.headers())) {
        // The tunnel carries frames only after the 101: a body would never reach the backend, which was told of it.
        exchange.answer(400, UPGRADE_WITH_BODY);
        return;
      }
      upgrade(exchange);
      return;
    }
    Boolean chunked = Framing.chunked(incoming.headers());
    if (chunked == null) {
      // A Transfer-Encoding other than exactly "chunked" that the edge let through: nothing can frame the body.
      incoming.response().setStatusCode(400).putHeader(HttpHeaders.DATE, HttpDate.now())
          .putHeader(HttpHeaders.CONTENT_LENGTH, Framing.ZERO).end();
      return;
    }
    if (!incoming.isEnded()) {
      incoming.pause(); // the body waits for its try: the first, or a later one after a refusal
    }
    Attempt attempt = new Attempt(failures, exchange, incoming);
    inFlight.increment();
    if (http2 && dev.dockgate.edge.Protocols.grpc(incoming)) {
      long grpcTimeoutNanos = grpcTimeoutNanos(incoming.getHeader(GRPC_TIMEOUT));
      if (grpcTimeoutNanos > 0) {
        attempt.grpcDeadlineNanos = exchange.arrivalNanos() + Math.min(grpcTimeoutNanos, MAX_GRPC_TIMEOUT_NANOS);
      }
    }
    String expect = incoming.getHeader(HttpHeaders.EXPECT);
    if (expect != null && !incoming.isEnded() && incoming.version() != HttpVersion.HTTP_1_0
        && (expect.equalsIgnoreCase("100-continue") || expectsContinue(incoming.headers()))) {
      // The route's stages accepted the request: the client may send its body now. The gateway
      // streams it on (without the Expect header), so the backend is not asked to continue a second time.
      // An HTTP/1.0 client is sent no 1xx and its expectation ignored (RFC 9110 §10.1.1, §15.2).
      incoming.response().writeContinue();
    }
    String path = PathNormalizer.normalize(incoming.path()); // the router refused the paths it cannot normalize
    String uri = incoming.uri();
    if (path != incoming.path() || !uri.startsWith("/")) {
      // Forward what was matched: the normal path, in origin form even if the client sent absolute form.
      uri = incoming.query() == null ? path : path + "?" + incoming.query();
    }
    attempt.uri = route.stripPrefix() ? stripPrefix(uri) : uri;
    if (prefix != null) {
      attempt.prefix = prefix.forwarded(incoming.headers(), exchange.trustedPeer());
    }
    String length = incoming.getHeader(HttpHeaders.CONTENT_LENGTH);
    attempt.length = length == null ? -1 : Framing.contentLength(length);
    if (length == null && chunked) {
      // Announced sizes were checked on arrival; an unannounced one is counted as it streams.
      attempt.body = new LimitedBody(incoming, maxBodyBytes, () -> attempt.tooLarge = true);
    }
    if (incoming.version() == HttpVersion.HTTP_2 && length == null && http2 && !incoming.isEnded()
        && !Tries.IDEMPOTENT.contains(incoming.method())) {
      // HTTP/2 on both sides needs no framing decided: the stream starts at once, so that a call whose server speaks
      // first (a gRPC stream the client opens without a message) reaches it. Not replayable, as any body.
      incoming.headers().set("transfer-encoding", "chunked");
      // A gRPC call's request stream is a sequence of messages for the call's whole life, not one body:
      // max_body_bytes does not add them up (gRPC servers bound each message, 4 MiB by default in grpc-java).
      attempt.body = dev.dockgate.edge.Protocols.grpc(incoming) ? incoming
          : new LimitedBody(incoming, maxBodyBytes, () -> attempt.tooLarge = true);
      tries.dispatch(attempt, upstreams);
      return;
    }
    if (incoming.version() == HttpVersion.HTTP_2 && length == null) {
      // HTTP/2 does not announce a body's size, nor whether there is one: the first frame after the head tells.
      PeekedBody body = new PeekedBody(incoming);
      body.peek().onComplete(peeked -> {
        if (peeked.failed()) {
          failures.failed(attempt, new UpstreamFailure.ClientGone(route.backend(), peeked.cause()));
          return;
        }
        if (peeked.result()) {
          // Streamed on chunked; the header also marks the request as not replayable.
          incoming.headers().set("transfer-encoding", "chunked");
          attempt.body = new LimitedBody(body, maxBodyBytes, () -> attempt.tooLarge = true);
        } else {
          attempt.body = null;
        }
        tries.dispatch(attempt, upstreams);
      });
      return;
    }
    if (http2 && attempt.length > 0 && attempt.length <= HeldBodies.HELD_BODY_BYTES && !incoming.isEnded()
        && !dev.dockgate.edge.Protocols.grpc(incoming) && held.reserve(attempt)) {
      hold(attempt);
      return;
    }
    tries.dispatch(attempt, upstreams);
  }

  /**
   * Reads a small body whole before the first try to an HTTP/2 backend, and keeps it: a stream the backend refuses
   * unprocessed (RFC 9113 §8.7) is sent again with it, as Go's and OkHttp's HTTP/2 clients send such a request again.
   * The body of a declared length goes with its head in one write either way (see {@link Upload}).
   */
  private void hold(Attempt attempt) {
    HttpServerRequest incoming = attempt.incoming;
    incoming.body().onComplete(read -> {
      if (read.failed()) { // the client left, or the edge gave up on its body (and answered it)
        failures.failed(attempt, new UpstreamFailure.ClientGone(route.backend(), read.cause()));
        return;
      }
      attempt.held = read.result();
      attempt.body = null;
      tries.dispatch(attempt, upstreams);
    });
    incoming.resume();
  }

  /**
   * A gRPC call's timeout (its {@code grpc-timeout} header: at most 8 digits and a unit, H M S m u n), in nanoseconds;
   * 0 when absent or not of that form (the route's timeout_ms then applies).
   */
  static long grpcTimeoutNanos(String value) {
    if (value == null || value.length() < 2 || value.length() > 9) {
      return 0;
    }
    long amount = 0;
    for (int i = 0; i < value.length() - 1; i++) {
      char c = value.charAt(i);
      if (c < '0' || c > '9') {
        return 0;
      }
      amount = amount * 10 + (c - '0');
    }
    long unit = switch (value.charAt(value.length() - 1)) {
      case 'H' -> 3_600_000_000_000L;
      case 'M' -> 60_000_000_000L;
      case 'S' -> 1_000_000_000L;
      case 'm' -> 1_000_000L;
      case 'u' -> 1_000L;
      case 'n' -> 1L;
      default -> 0;
    };
    // At most 2^61 ns (73 years), so that deadlines computed from it never overflow (99999999H would).
    return Math.min(amount, (Long.MAX_VALUE >> 2) / Math.max(1, unit)) * unit;
  }

  /**
   * Whether an Expect list names 100-continue (the router answered 417 to any other expectation), written as more
   * than one line or member ({@code 100-continue, 100-continue}).
   */
  static boolean expectsContinue(MultiMap headers) {
    for (String value : headers.getAll(HttpHeaders.EXPECT)) {
      for (String member : value.split(",", -1)) {
        if (member.trim().equalsIgnoreCase("100-continue")) {
          return true;
        }
      }
    }
    return false;
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
    if (picked != null && candidates.length > 1 && Tries.unavailable(picked)) {
      Upstream alternative = picker.pick(Tries.without(candidates, picked));
      if (alternative != null && !Tries.unavailable(alternative)) {
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
    io.vertx.core.net.HostAndPort host = route.passHost() && incoming.authority() != null ? incoming.authority()
        : upstream.authority(serverName);
    RequestTrace trace = exchange.trace();
    BackendTry span = trace == null ? null : trace.backendTry(upstream.instance().name(), upstream.instance().host(),
        upstream.instance().port(), 0);
    String forwardedPrefix = prefix == null ? null : prefix.forwarded(incoming.headers(), exchange.trustedPeer());
    String head = HeaderPolicy.upgradeHead(exchange, uri, host, span, forwardedPrefix);
    upstream.breaker().circuit().<UpgradeTunnel.Answer>execute(() -> tunnel.request(upstream, origin, head,
        incoming.getHeader("Sec-WebSocket-Key"), incoming.response())).onComplete(ar -> {
      if (ar.failed()) {
        upstream.breaker().failed(ar.cause(), false);
        UpstreamFailure failure = UpstreamFailure.classify(ar.cause(), route.backend());
        if (span != null) {
          span.failed(failure.getClass().getSimpleName(), failure.getMessage());
        }
        if (failure instanceof UpstreamFailure.TlsFailed tls && upstream.firstTlsFailure()) {
          LOG.warning(tls.logLine(upstream.instance().toString()));
        } else if (failure instanceof UpstreamFailure.OutOfDescriptors) {
          dev.dockgate.edge.FileDescriptors.backendConnectFailed(route.backend(), upstream.instance().toString());
        }
        done.run();
        exchange.answer(failure.status(), Buffer.buffer(failure.getMessage() + "\n"));
        return;
      }
      upstream.breaker().succeeded();
      UpgradeTunnel.Answer answer = ar.result();
      if (span != null) {
        span.answered(answer.status());
      }
      if (prefix != null && prefix.rewrites()) {
        // A refusal's redirects; the cookies of a 101 too (a session or sticky cookie set on the handshake).
        prefix.rewrite(answer.status(), answer.headers(), forwardedPrefix, incoming.authority(), exchange.secure(),
            host, upstream.instance());
      }
      if (answer.status() == 101) {
        tunnel.switchProtocols(exchange, answer, done);
      } else {
        tunnel.refuse(exchange, answer, route.backend(), done);
      }
    });
  }

  /** The URI without the route's prefix; what remains always starts with "/". */
  private String stripPrefix(String uri) {
    String rest = uri.length() >= route.pathPrefix().length() ? uri.substring(route.pathPrefix().length()) : "";
    return rest.startsWith("/") ? rest : "/" + rest;
  }

}
