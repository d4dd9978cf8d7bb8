package dev.dockgate.proxy;

import dev.dockgate.config.BackendConfig;
import dev.dockgate.config.RouteConfig;
import dev.dockgate.edge.HttpDate;
import dev.dockgate.edge.PathNormalizer;
import dev.dockgate.pipeline.Exchange;
import dev.dockgate.pipeline.Terminal;
import dev.dockgate.resilience.RetryBudget;
import dev.dockgate.resilience.UpstreamFailure;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;

/**
 * The proxy terminal of one route: a request the route's stages let through has its body's framing settled (read
 * whole, peeked at, or streamed as it comes), then {@link Tries} runs its tries (an instance, its circuit breaker,
 * {@link BackendRequest}, a retry elsewhere when allowed); {@link BackendAnswer} relays the backend's answer to the
 * client, {@link TryFailures} answers for it with the failure's status when there is none; a WebSocket upgrade takes
 * {@link WebSocketUpgrade}. The request's {@link Exchange} counts it. One per route per router instance; called only
 * on that router's event loop.
 */
public final class ProxyHandler implements Terminal {

  private static final CharSequence GRPC_TIMEOUT = HttpHeaders.createOptimized("grpc-timeout");
  /** The longest wait a gRPC call's own deadline buys: an hour, the longest timeout_ms a route may have. */
  private static final long MAX_GRPC_TIMEOUT_NANOS = 3_600_000L * 1_000_000L;
  private static final Buffer UPGRADE_WITH_BODY = Buffer.buffer("a WebSocket upgrade request carries no body\n");

  private final RouteConfig route;
  private final long maxBodyBytes;
  private final java.util.concurrent.atomic.LongAdder inFlight;
  private Upstream[] upstreams = Tries.NONE;
  /**
   * With {@code subset_size}: the backend's instances outside this router's window ({@link #upstreams}), tried only
   * when the window's cannot answer; none without.
   */
  private Upstream[] beyond = Tries.NONE;
  /** The backend is spoken to in HTTP/2 ({@code protocol: http2}). */
  private final boolean http2;
  /** The bodies read whole before the first try to an HTTP/2 backend. */
  private final HeldBodies held;
  /**
   * The prefix this route strips (said to the backend and put back into its redirects), and its rewriting of the
   * redirects naming the instance; null: neither (no prefix stripped, rewrite_location: false).
   */
  private final StrippedPrefix prefix;
  /** The failures of its tries, the gateway's own answers, and each request's end. */
  private final TryFailures failures;
  /** The tries of each request: instance, breaker, request, retries. */
  private final Tries tries;
  private final WebSocketUpgrade upgrades;

  public ProxyHandler(Vertx vertx, HttpClient client, ConnectionPool pool, io.vertx.core.net.NetClient tunnels,
      RouteConfig route, BackendConfig backend, long maxBodyBytes, long idleTimeoutMs, HeldEnds heldEnds,
      InFlightRequests inFlight, dev.dockgate.resilience.RetryAllowance retryAllowance) {
    this.inFlight = inFlight.counter(route.pathPrefix(), route.backend());
    this.maxBodyBytes = maxBodyBytes;
    this.route = route;
    String serverName = backend.tls().serverName();
    InstancePicker picker = InstancePicker.of(backend.loadBalancer());
    RetryBudget budget = new RetryBudget(route.retries(), retryAllowance);
    AnswerDeadlines deadlines = new AnswerDeadlines(vertx, route.timeoutMs());
    UpgradeTunnel tunnel = new UpgradeTunnel(vertx, tunnels, backend, route.timeoutMs());
    this.http2 = backend.http2();
    Relay.Stalls stalls = idleTimeoutMs > 0 ? new Relay.Stalls(vertx, idleTimeoutMs, heldEnds) : null;
    this.prefix = StrippedPrefix.of(route);
    AnswerHead heads = new AnswerHead(route, serverName, prefix);
    this.failures = new TryFailures(route, maxBodyBytes, this.inFlight, heads);
    BackendAnswer answers = new BackendAnswer(route, http2, stalls, heads, failures);
    BackendRequest requests = new BackendRequest(vertx, client, pool, route, backend, deadlines, failures);
    this.tries = new Tries(vertx, route, picker, budget, requests, answers, failures);
    this.upgrades = new WebSocketUpgrade(route, serverName, picker, this.inFlight, tunnel, prefix);
    this.held = new HeldBodies();
  }

  String backend() {
    return route.backend();
  }

  /**
   * Replaces the instances this route picks from, and those it may fail over to when none of them can answer (with
   * {@code subset_size}; else none); same event loop as requests.
   */
  void upstreams(Upstream[] upstreams, Upstream[] beyond) {
    this.upstreams = upstreams;
    this.beyond = beyond;
  }

  /**
   * A request the route's stages let through: a WebSocket upgrade goes to {@link WebSocketUpgrade}; any other has its
   * framing checked, its tries' common ground set ({@link #begin}) and its body settled ({@link #settleBody}), then
   * goes to {@link Tries}.
   */
  @Override
  public void handle(Exchange exchange) {
    HttpServerRequest incoming = exchange.request();
    if (incoming.canUpgradeToWebSocket()) {
      if (Framing.declaresBody(incoming.headers())) {
        // The tunnel carries frames only after the 101: a body would never reach the backend, which was told of it.
        exchange.answer(400, UPGRADE_WITH_BODY);
        return;
      }
      upgrades.upgrade(exchange, upstreams, beyond);
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
    begin(attempt);
    String length = incoming.getHeader(HttpHeaders.CONTENT_LENGTH);
    attempt.length = length == null ? -1 : Framing.contentLength(length);
    settleBody(attempt, length == null, chunked);
  }

  /**
   * What the tries share, set before the first: a gRPC call's own deadline, the client told to send its body
   * (100-continue), the URI and X-Forwarded-Prefix the backend is sent.
   */
  private void begin(Attempt attempt) {
    Exchange exchange = attempt.exchange;
    HttpServerRequest incoming = attempt.incoming;
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
    attempt.uri = route.stripPrefix() ? StrippedPrefix.strip(uri, route.pathPrefix()) : uri;
    if (prefix != null) {
      attempt.prefix = prefix.forwarded(incoming.headers(), exchange.trustedPeer());
    }
  }

  /**
   * How the body goes to the backend, then the first try: streamed as it comes (counted against max_body_bytes when
   * its size is not announced), peeked at first (HTTP/2 announces no size, nor whether there is one), or read whole
   * and kept (a small one to an HTTP/2 backend: {@link #hold}).
   */
  private void settleBody(Attempt attempt, boolean unannounced, boolean chunked) {
    HttpServerRequest incoming = attempt.incoming;
    if (unannounced && chunked) {
      // Announced sizes were checked on arrival; an unannounced one is counted as it streams.
      attempt.body = new LimitedBody(incoming, maxBodyBytes, () -> attempt.tooLarge = true);
    }
    if (incoming.version() == HttpVersion.HTTP_2 && unannounced && http2 && !incoming.isEnded()
        && !Tries.IDEMPOTENT.contains(incoming.method())) {
      // HTTP/2 on both sides needs no framing decided: the stream starts at once, so that a call whose server speaks
      // first (a gRPC stream the client opens without a message) reaches it. Not replayable, as any body.
      incoming.headers().set("transfer-encoding", "chunked");
      // A gRPC call's request stream is a sequence of messages for the call's whole life, not one body:
      // max_body_bytes does not add them up (gRPC servers bound each message, 4 MiB by default in grpc-java).
      attempt.body = dev.dockgate.edge.Protocols.grpc(incoming) ? incoming
          : new LimitedBody(incoming, maxBodyBytes, () -> attempt.tooLarge = true);
      tries.dispatch(attempt, upstreams, beyond);
      return;
    }
    if (incoming.version() == HttpVersion.HTTP_2 && unannounced) {
      peek(attempt);
      return;
    }
    if (http2 && attempt.length > 0 && attempt.length <= HeldBodies.HELD_BODY_BYTES && !incoming.isEnded()
        && !dev.dockgate.edge.Protocols.grpc(incoming) && held.reserve(attempt)) {
      hold(attempt);
      return;
    }
    tries.dispatch(attempt, upstreams, beyond);
  }

  /** HTTP/2 does not announce a body's size, nor whether there is one: the first frame after the head tells. */
  private void peek(Attempt attempt) {
    HttpServerRequest incoming = attempt.incoming;
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
      tries.dispatch(attempt, upstreams, beyond);
    });
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
      tries.dispatch(attempt, upstreams, beyond);
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
}
