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
  private static final Upstream[] NONE = new Upstream[0];
  /** How Netty's HPACK decoder words HEADERS larger than the connection's SETTINGS_MAX_HEADER_LIST_SIZE. */
  private static final String HTTP2_HEAD_TOO_LARGE = "Header size exceeded max allowed size";
  /** How long a starting instance that refused, or an HTTP/2 instance that refused a stream twice, is passed over. */
  private static final long PASS_OVER_NANOS = 250_000_000L;
  private static final java.util.Set<io.vertx.core.http.HttpMethod> IDEMPOTENT = java.util.Set.of(
      io.vertx.core.http.HttpMethod.GET, io.vertx.core.http.HttpMethod.HEAD, io.vertx.core.http.HttpMethod.OPTIONS,
      io.vertx.core.http.HttpMethod.PUT, io.vertx.core.http.HttpMethod.DELETE);
  private static final CharSequence TEXT_PLAIN = HttpHeaders.createOptimized("text/plain; charset=utf-8");
  private static final CharSequence ZERO = HttpHeaders.createOptimized("0");
  private static final CharSequence GRPC_TIMEOUT = HttpHeaders.createOptimized("grpc-timeout");
  private static final CharSequence GRPC_STATUS = HttpHeaders.createOptimized("grpc-status");
  /** 103 Early Hints passed on per request at most: a backend's further ones are read past. */
  static final int MAX_EARLY_HINTS = 4;
  /** The longest wait a gRPC call's own deadline buys: an hour, the longest timeout_ms a route may have. */
  private static final long MAX_GRPC_TIMEOUT_NANOS = 3_600_000L * 1_000_000L;
  /**
   * The largest body, of a declared length, read whole before the first try to an HTTP/2 backend and kept, so that a
   * stream the backend refuses unprocessed can be sent again with it (Envoy keeps up to 1 MiB for its retries, nginx
   * reads bodies whole by default). Larger ones stream as they come.
   */
  static final int HELD_BODY_BYTES = 64 * 1024;
  /**
   * The heap the bodies held whole take at this moment, all routers together (see {@link #heapOfBody}), from the start
   * of a body's read to its answer's head or its end. Bounded ({@link #heldBodiesBytes}): each one read whole gives
   * its client's HTTP/2 flow-control credit back at once, so that a client's 100 streams could otherwise hold 6.4 MiB
   * per connection where a body streamed on takes at most the connection's window.
   */
  private static final java.util.concurrent.atomic.AtomicLong HELD = new java.util.concurrent.atomic.AtomicLong();
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
  private Upstream[] upstreams = NONE;
  private final io.vertx.core.Handler<Throwable> backendRequestEnded =
      err -> LOG.fine(() -> "request to backend \"" + backend() + "\" ended: " + err);
  private final io.vertx.core.Handler<Throwable> answerCutShort =
      err -> LOG.fine(() -> "answer of backend \"" + backend() + "\" cut short: " + err);
  private final AnswerDeadlines deadlines;
  private final UpgradeTunnel tunnel;
  /** The backend is spoken to in HTTP/2 ({@code protocol: http2}), through {@link #client}. */
  private final boolean http2;
  /** The most bytes of bodies held whole at once, all routers together (see {@link #HELD}). */
  private final long heldBodiesBytes;
  /** How long an HTTP/2 client may take nothing of an answer (server.idle_timeout_ms); null: no limit. */
  private final Relay.Stalls stalls;
  /**
   * The prefix this route strips (said to the backend and put back into its redirects), and its rewriting of the
   * redirects naming the instance; null: neither (no prefix stripped, rewrite_location: false).
   */
  private final StrippedPrefix prefix;

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
    // A sixteenth of the heap by default (8 MiB of a 128 MiB heap: 128 bodies of 64 KiB); past it, bodies stream.
    this.heldBodiesBytes = Long.getLong("gateway.held.bodies.bytes", Runtime.getRuntime().maxMemory() / 16);
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
      if (declaresBody(incoming.headers())) {
        // The tunnel carries frames only after the 101: a body would never reach the backend, which was told of it.
        exchange.answer(400, UPGRADE_WITH_BODY);
        return;
      }
      upgrade(exchange);
      return;
    }
    Boolean chunked = chunked(incoming.headers());
    if (chunked == null) {
      // A Transfer-Encoding other than exactly "chunked" that the edge let through: nothing can frame the body.
      incoming.response().setStatusCode(400).putHeader(HttpHeaders.DATE, HttpDate.now())
          .putHeader(HttpHeaders.CONTENT_LENGTH, ZERO).end();
      return;
    }
    if (!incoming.isEnded()) {
      incoming.pause(); // the body waits for its try: the first, or a later one after a refusal
    }
    Attempt attempt = new Attempt(this, exchange, incoming);
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
    attempt.length = length == null ? -1 : contentLength(length);
    if (length == null && chunked) {
      // Announced sizes were checked on arrival; an unannounced one is counted as it streams.
      attempt.body = new LimitedBody(incoming, maxBodyBytes, () -> attempt.tooLarge = true);
    }
    if (incoming.version() == HttpVersion.HTTP_2 && length == null && http2 && !incoming.isEnded()
        && !IDEMPOTENT.contains(incoming.method())) {
      // HTTP/2 on both sides needs no framing decided: the stream starts at once, so that a call whose server speaks
      // first (a gRPC stream the client opens without a message) reaches it. Not replayable, as any body.
      incoming.headers().set("transfer-encoding", "chunked");
      // A gRPC call's request stream is a sequence of messages for the call's whole life, not one body:
      // max_body_bytes does not add them up (gRPC servers bound each message, 4 MiB by default in grpc-java).
      attempt.body = dev.dockgate.edge.Protocols.grpc(incoming) ? incoming
          : new LimitedBody(incoming, maxBodyBytes, () -> attempt.tooLarge = true);
      dispatch(attempt);
      return;
    }
    if (incoming.version() == HttpVersion.HTTP_2 && length == null) {
      // HTTP/2 does not announce a body's size, nor whether there is one: the first frame after the head tells.
      PeekedBody body = new PeekedBody(incoming);
      body.peek().onComplete(peeked -> {
        if (peeked.failed()) {
          failed(attempt, new UpstreamFailure.ClientGone(route.backend(), peeked.cause()));
          return;
        }
        if (peeked.result()) {
          // Streamed on chunked; the header also marks the request as not replayable.
          incoming.headers().set("transfer-encoding", "chunked");
          attempt.body = new LimitedBody(body, maxBodyBytes, () -> attempt.tooLarge = true);
        } else {
          attempt.body = null;
        }
        dispatch(attempt);
      });
      return;
    }
    if (http2 && attempt.length > 0 && attempt.length <= HELD_BODY_BYTES && !incoming.isEnded()
        && !dev.dockgate.edge.Protocols.grpc(incoming) && reserve(attempt)) {
      hold(attempt);
      return;
    }
    dispatch(attempt);
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
        failed(attempt, new UpstreamFailure.ClientGone(route.backend(), read.cause()));
        return;
      }
      attempt.held = read.result();
      attempt.body = null;
      dispatch(attempt);
    });
    incoming.resume();
  }

  /**
   * Counts the body of {@code attempt} among those held whole, unless that would take them past
   * {@link #heldBodiesBytes}: then false, and the body streams as it comes (a refusal of its stream is then final).
   */
  private boolean reserve(Attempt attempt) {
    long heap = heapOfBody(attempt.length);
    long held = HELD.addAndGet(heap);
    if (held > heldBodiesBytes) {
      HELD.addAndGet(-heap);
      return false;
    }
    attempt.heldBytes = heap;
    return true;
  }

  /**
   * The heap a body of {@code length} bytes takes once read whole: Vert.x's {@code body()} appends to a buffer of 256
   * bytes that doubles as it fills, so the next power of two (a body of 33000 bytes takes 65536).
   */
  static long heapOfBody(long length) {
    return Math.max(256, Long.highestOneBit(length - 1) << 1);
  }

  /** The held body of {@code attempt} is no longer needed (its answer came, or it ended): given back. */
  private static void release(Attempt attempt) {
    if (attempt.heldBytes != 0) {
      HELD.addAndGet(-attempt.heldBytes);
      attempt.heldBytes = 0;
      attempt.held = null;
    }
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
   * Why an answer's head (its status line or headers) was longer than the decoder reads, or null if not so. HTTP/2
   * HEADERS over the limit fail with an {@link io.netty.handler.codec.http2.Http2Exception} of Netty's own wording
   * (a stream error, or past 1.25 times the limit a connection error), which has no type of its own.
   */
  private static String headTooLarge(Throwable err) {
    for (Throwable t = err; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof io.netty.handler.codec.TooLongFrameException
          || t instanceof io.netty.handler.codec.http2.Http2Exception && t.getMessage() != null
              && t.getMessage().startsWith(HTTP2_HEAD_TOO_LARGE)) {
        return t.getMessage();
      }
    }
    return null;
  }

  /** Whether the body is chunked: true, false (no Transfer-Encoding), or null for any other coding. */
  private static Boolean chunked(MultiMap headers) {
    String te = headers.get(HttpHeaders.TRANSFER_ENCODING);
    if (te == null) {
      return false;
    }
    for (String value : headers.getAll(HttpHeaders.TRANSFER_ENCODING)) {
      if (!value.equals("chunked")) {
        return null;
      }
    }
    return true;
  }

  /** Whether a backend's Transfer-Encoding lines name chunked alone (in any case: backends are read tolerantly). */
  private static boolean onlyChunked(MultiMap headers) {
    for (String value : headers.getAll(HttpHeaders.TRANSFER_ENCODING)) {
      if (!value.trim().equalsIgnoreCase("chunked")) {
        return false;
      }
    }
    return true;
  }

  /** Whether an answer is an event stream (Server-Sent Events): {@code Content-Type: text/event-stream}, any parameters. */
  static boolean eventStream(MultiMap headers) {
    String type = headers.get(HttpHeaders.CONTENT_TYPE);
    return type != null && type.regionMatches(true, 0, "text/event-stream", 0, 17)
        && (type.length() == 17 || type.charAt(17) == ';' || type.charAt(17) == ' ');
  }

  /** reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ) (RFC 9112 §4). */
  static boolean validReason(String reason) {
    for (int i = 0; i < reason.length(); i++) {
      char c = reason.charAt(i);
      if ((c < ' ' && c != '\t') || c == 0x7f) {
        return false;
      }
    }
    return true;
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

  /** A Transfer-Encoding, or a Content-Length other than 0. */
  private static boolean declaresBody(MultiMap headers) {
    String length = headers.get(HttpHeaders.CONTENT_LENGTH);
    return headers.contains(HttpHeaders.TRANSFER_ENCODING) || (length != null && !length.trim().equals("0"));
  }

  private static long contentLength(String value) {
    try {
      return Long.parseLong(value);
    } catch (NumberFormatException e) {
      return -1;
    }
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

  /**
   * The first try, once the body is settled. A request without a body has nothing to stream: each try
   * sends its head alone (and, when retries are on and its method is idempotent, it may be sent again).
   */
  private void dispatch(Attempt attempt) {
    HttpServerRequest incoming = attempt.incoming;
    if (!retries.enabled()) {
      if (attempt.body == incoming && bodiless(incoming)) {
        attempt.body = null;
        if (!incoming.isEnded()) {
          incoming.resume(); // only its end is left to read
        }
      }
      attempt(attempt, upstreams, 0);
      return;
    }
    budget.onRequest(System.currentTimeMillis());
    if (retries.deadlineMs() > 0) {
      attempt.deadlineNanos = attempt.exchange.arrivalNanos() + retries.deadlineMs() * 1_000_000L;
    }
    attempt.replayable = replayable(incoming);
    if (attempt.replayable) {
      // Nothing to stream: each try sends the head alone, so the request can be sent again.
      attempt.body = null;
      if (!incoming.isEnded()) { // an HTTP/2 request read to its end refuses resume()
        incoming.resume();
      }
    }
    attempt(attempt, upstreams, 0);
  }

  /** One try on an instance picked among {@code candidates}; on a retryable failure, the next try. */
  private void attempt(Attempt attempt, Upstream[] candidates, int retry) {
    Upstream upstream = picker.pick(candidates);
    if (upstream != null && candidates.length > 1 && unavailable(upstream)) {
      // Passive ejection: an instance whose circuit is open, or that is starting and refused a
      // moment ago, or refused an HTTP/2 stream twice, is skipped while others may answer.
      Upstream[] others = without(candidates, upstream);
      Upstream alternative = picker.pick(others);
      if (alternative != null && !unavailable(alternative)) {
        upstream = alternative;
        candidates = others;
      }
    }
    if (upstream == null) {
      failed(attempt, new UpstreamFailure.NoInstance(route.backend()));
      return;
    }
    send(attempt, candidates, upstream, retry);
  }

  private static boolean unavailable(Upstream upstream) {
    long now = System.nanoTime();
    return upstream.breaker().state() == CircuitBreakerState.OPEN || upstream.passedOver(now) || upstream.ejected(now);
  }

  private void send(Attempt attempt, Upstream[] candidates, Upstream upstream, int retry) {
    upstream.started();
    attempt.upstream = upstream;
    attempt.resent = false;
    attempt.exchange.instance(upstream.instance().name());
    RequestTrace trace = attempt.exchange.trace();
    BackendTry span = trace == null ? null : trace.backendTry(upstream.instance().name(), upstream.instance().host(),
        upstream.instance().port(), retry);
    attempt.span = span;
    Breaker breaker = upstream.breaker();
    boolean grace = upstream.inStartupGrace(System.nanoTime());
    // A closed circuit's try runs unguarded and only a failure is reported to it (see Breaker).
    boolean direct = !grace && breaker.closed();
    Completable<HttpClientResponse> answered = (response, failure) -> {
      Throwable err = failure != null ? failure : unusable(response);
      if (err == null) {
        if (span != null) {
          span.answered(response.statusCode());
        }
        if (retryOnStatus(attempt, candidates, upstream, retry, response) || !respond(attempt, response)) {
          answered(upstream, response.statusCode()); // not relayed: the answer counts for the instance now
        } // relayed: its end counts it (Attempt.run), unless its backend cut it (cutByBackend)
        return;
      }
      // The answer (or the next try) waits for the breaker to have counted the failure: a request
      // on another router's loop right after this answer must find the circuit as it now is.
      breaker.failed(err, direct).onComplete(counted -> afterFailure(attempt, candidates, upstream, retry, span, err));
    };
    if (direct) {
      exchange(attempt, answered); // no future between the backend's answer and this callback
    } else if (grace) {
      breaker.circuit().<HttpClientResponse>execute(() -> exchangeInGrace(attempt))
          .compose(r -> r != null ? Future.succeededFuture(r) : Future.failedFuture(notListening(upstream)))
          .onComplete(answered);
    } else {
      breaker.execute(false, () -> exchange(attempt)).onComplete(answered);
    }
  }

  /**
   * Why a backend's answer cannot be given to the client, or null: a status out of HTTP's range
   * (RFC 9110 §15: one outside 100-599 is to be taken as a server error), a 101 to a request that
   * asked for no switch (upgrades take {@link #upgrade}), another 1xx taken for the final answer, or a
   * transfer coding other than chunked, which the gateway does not undo.
   * The answer is reset and the request fails as for any malformed answer: 502, counted against the
   * instance, retried where it may be.
   */
  private Throwable unusable(HttpClientResponse response) {
    int status = response.statusCode();
    if (status >= 200 && status <= 599) { // a final 1xx: 101, or one a backend connection's filter did not drop
      MultiMap headers = response.headers();
      if (headers.contains(HttpHeaders.TRANSFER_ENCODING) && !onlyChunked(headers)) {
        // Another coding (gzip, ...) is not undone here: its bytes would reach the client as the content. nginx: 502.
        response.request().reset();
        return new UpstreamFailure.BadGateway(route.backend(),
            new IllegalArgumentException("Transfer-Encoding " + headers.getAll(HttpHeaders.TRANSFER_ENCODING)));
      }
      return null;
    }
    response.request().reset();
    return new UpstreamFailure.BadGateway(route.backend(), new IllegalStateException(status == 101
        ? "101 Switching Protocols to a request that asked for no upgrade"
        : status >= 100 && status < 200 ? "interim status " + status + " as the final answer"
        : "status " + status + " is out of HTTP's range"));
  }

  private void afterFailure(Attempt attempt, Upstream[] candidates, Upstream upstream, int retry, BackendTry span,
      Throwable cause) {
    UpstreamFailure failure = UpstreamFailure.classify(cause, route.backend());
    if (span != null) {
      span.failed(failure.getClass().getSimpleName(), failure.getMessage());
    }
    if (failure instanceof UpstreamFailure.TlsFailed tls && upstream.firstTlsFailure()) {
      LOG.warning(tls.logLine(upstream.instance().toString()));
    }
    if (failure instanceof UpstreamFailure.OutOfDescriptors) {
      dev.dockgate.edge.FileDescriptors.backendConnectFailed(route.backend(), upstream.instance().toString());
    }
    if (failure instanceof UpstreamFailure.RefusedStream) {
      // Refused again on the new stream: the instance sheds load (its stream limit, or going away); the next
      // requests go to others while they can answer, as after a starting instance's refused connection.
      upstream.passOver(System.nanoTime(), PASS_OVER_NANOS);
    }
    String tooLarge = failure instanceof UpstreamFailure.BadGateway ? headTooLarge(cause) : null;
    if (tooLarge != null && upstream.firstHeadTooLarge()) {
      // As nginx's "upstream sent too big header": the operator is told why once, the clients get 502.
      LOG.warning("backend \"" + route.backend() + "\" instance " + upstream.instance() + " answered with a head"
          + " larger than the gateway reads (" + tooLarge + "); answering 502");
    }
    // Refused at connect, no connection in time (connect_timeout_ms), the pool full (its wait queue,
    // or no connection free within connect_timeout_ms) or circuit open: nothing left the gateway, any
    // request may go elsewhere; so may one whose HTTP/2 stream the instance refused unprocessed, when it can be sent
    // again. Broken after sending: only replayable (bodiless idempotent) ones.
    boolean unsent = failure instanceof UpstreamFailure.CircuitOpen || failure instanceof UpstreamFailure.Busy
        || (failure instanceof UpstreamFailure.Refused && attempt.unsent)
        || (failure instanceof UpstreamFailure.RefusedStream && resendable(attempt));
    boolean again = retries.enabled() && retry < retries.attempts()
        && (unsent || (failure.retryable() && attempt.replayable));
    Upstream[] others = again ? without(candidates, upstream) : NONE;
    long delay = others.length == 0 ? 0 : budget.backoffMs(retry);
    if (others.length == 0 || !beforeDeadline(attempt, delay) || !budget.tryRetry(System.currentTimeMillis())) {
      if (failure instanceof UpstreamFailure.RefusedStream && upstream.refusalToSay(System.nanoTime())) {
        LOG.info("backend \"" + route.backend() + "\" instance " + upstream.instance() + " refused "
            + attempt.incoming.method() + " " + attempt.uri + " unprocessed (" + failure.getMessage() + ")"
            + (resendable(attempt) ? " and no try is left to send it to"
                : ": its body was streamed as it came and cannot be sent again")
            + "; answering 503 (said at most once a minute per instance)");
      }
      failed(attempt, failure);
      return;
    }
    retry(attempt, others, upstream, retry, delay, failure.getMessage());
  }

  /**
   * A replayable request whose answer has a status in {@code retry_on} goes to another instance when
   * one is left, the deadline allows and the budget has room; that answer is dropped (its connection
   * reset). False when this answer is the one the client gets.
   */
  private boolean retryOnStatus(Attempt attempt, Upstream[] candidates, Upstream upstream, int retry,
      HttpClientResponse response) {
    if (retries.retryOn().isEmpty() || !retries.retryOn().contains(response.statusCode())
        || retry >= retries.attempts() || !attempt.replayable) {
      return false;
    }
    Upstream[] others = without(candidates, upstream);
    long delay = others.length == 0 ? 0 : budget.backoffMs(retry);
    if (others.length == 0 || !beforeDeadline(attempt, delay) || !budget.tryRetry(System.currentTimeMillis())) {
      return false;
    }
    response.request().reset();
    retry(attempt, others, upstream, retry, delay, "status " + response.statusCode());
    return true;
  }

  private void retry(Attempt attempt, Upstream[] others, Upstream upstream, int retry, long delay, String reason) {
    upstream.finished();
    attempt.upstream = null;
    attempt.exchange.instance(null);
    LOG.fine(() -> "retry " + (retry + 1) + " of " + attempt.incoming.method() + " " + attempt.uri
        + " after " + reason + " on " + upstream.instance());
    if (delay <= 0) {
      attempt(attempt, others, retry + 1);
    } else {
      vertx.setTimer(delay, id -> attempt(attempt, others, retry + 1));
    }
  }

  /** Whether a try after {@code delayMs} of backoff still starts before the request's deadline (if any). */
  private static boolean beforeDeadline(Attempt attempt, long delayMs) {
    return attempt.deadlineNanos == 0 || attempt.deadlineNanos - (System.nanoTime() + delayMs * 1_000_000L) > 0;
  }

  /** Idempotent and bodiless: safe to send again after a failure before any answer. */
  private static boolean replayable(HttpServerRequest request) {
    return IDEMPOTENT.contains(request.method()) && bodiless(request);
  }

  /**
   * Without a body by its head: no Transfer-Encoding and no Content-Length, or a zero one (RFC 9112 §6.3;
   * an HTTP/2 request that has a body without a length was marked chunked when its first frame came).
   */
  private static boolean bodiless(HttpServerRequest request) {
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
  private Future<HttpClientResponse> exchangeInGrace(Attempt attempt) {
    return exchange(attempt).recover(err -> err instanceof java.net.ConnectException && attempt.unsent
        ? Future.succeededFuture()
        : Future.failedFuture(err));
  }

  private UpstreamFailure notListening(Upstream upstream) {
    upstream.passOver(System.nanoTime(), PASS_OVER_NANOS);
    return new UpstreamFailure.Refused(route.backend(),
        new java.net.ConnectException("refused by " + upstream.instance() + ", which has just started"));
  }

  /**
   * One try: a connection from the pool, the request's head and body streamed to it, and its
   * answer's head (paused, so its body waits for the client). A failure caused by the client
   * leaving is marked so the breaker ignores it.
   */
  private Future<HttpClientResponse> exchange(Attempt attempt) {
    Promise<HttpClientResponse> answer = Promise.promise();
    // Inside the breaker's operation (half-open, startup grace): an answer no client can be given fails it.
    exchange(attempt, (response, err) -> {
      Throwable refused = err != null ? err : unusable(response);
      if (refused != null) {
        answer.fail(refused);
      } else {
        answer.complete(response);
      }
    });
    return answer.future();
  }

  /** {@link #exchange(Attempt)}, its outcome given to {@code answer}. */
  private void exchange(Attempt attempt, Completable<HttpClientResponse> answer) {
    Upstream upstream = attempt.upstream;
    HttpServerRequest incoming = attempt.incoming;
    io.vertx.core.net.HostAndPort origin = upstream.origin(serverName);
    attempt.unsent = false;
    Future<HttpClientRequest> made;
    // SNI and the name the certificate must carry: the configured server name, else the instance's host.
    io.vertx.core.net.HostAndPort tlsOrigin = upstream.instance().tls() ? origin : null;
    if (http2) {
      made = client.request(new RequestOptions().setServer(upstream.address()).setConnectTimeout(connectTimeoutMs)
          .setSsl(upstream.instance().tls()).setHost(origin.host()).setPort(origin.port()));
    } else if (attempt.resent) {
      made = pool.fresh(upstream, tlsOrigin, connectTimeoutMs);
    } else {
      made = pool.request(upstream, tlsOrigin, connectTimeoutMs); // method, URI, head: sendRequest
    }
    made.onComplete(ar -> {
      if (ar.failed()) {
        attempt.unsent = true;
        // No TCP connection within connect_timeout_ms: nothing was sent, so it is the instance being
        // unreachable (503), not a late answer (504). (The pool's own wait fails with PoolWaitTimeout,
        // "busy"; for HTTP/2 instances Vert.x's pool counts its wait in the same TimeoutException.)
        java.net.UnknownHostException unresolved = UpstreamFailure.unresolved(ar.cause());
        if (unresolved != null && upstream.resolveFailureToSay(System.nanoTime())) {
          LOG.warning("backend \"" + route.backend() + "\" instance " + upstream.instance() + ": cannot resolve its"
              + " host (" + unresolved.getMessage() + "); answering 503 (said at most once a minute per instance)");
        }
        Throwable cause = ar.cause() instanceof java.util.concurrent.TimeoutException || unresolved != null
            ? new UpstreamFailure.Refused(route.backend(), ar.cause()) : ar.cause();
        answer.fail(failure(attempt, cause));
        return;
      }
      HttpClientRequest request = ar.result();
      // A pooled connection reset by the backend (a container killed): reported once, not logged by Vert.x as an error.
      request.connection().exceptionHandler(upstream.connectionLoss(route.backend()));
      // The gateway resets this request itself when it gives up on a body (413) or an answer (504),
      // and a WebSocket tunnel closing ends it too: expected, so not the error Vert.x logs without a handler.
      request.exceptionHandler(backendRequestEnded);
      request.earlyHintsHandler(attempt); // a 103 before the answer is passed on (earlyHints)
      AnswerDeadlines.Pending[] deadline = new AnswerDeadlines.Pending[1];
      boolean upload = attempt.body != null && !incoming.isEnded();
      if (!upload) {
        deadline[0] = watch(attempt, request);
      }
      request.response().onComplete(response -> {
        if (deadline[0] != null) {
          deadline[0].settled();
        }
        if (response.succeeded()) {
          HttpClientResponse r = response.result();
          r.pause(); // its body waits until the client's response is ready
          if (attempt.upload != null) {
            attempt.upload.answered(); // its rest, if the backend leaves it unread, no longer a stall (Upload)
          }
          // A client leaving mid-answer resets the backend stream: expected, not worth an error log.
          r.exceptionHandler(answerCutShort);
          answer.succeed(r);
        } else if (http2 && refused(attempt, request, response.cause(), answer)) {
          // sent again on a new stream, or failed as refused
        } else if (!closedOnReuse(attempt, request, response.cause())) {
          answer.fail(failure(attempt, response.cause()));
        } else if (!attempt.resent && attempt.body == null && IDEMPOTENT.contains(incoming.method())) {
          attempt.resent = true;
          LOG.fine(() -> incoming.method() + " " + attempt.uri + " sent again on a new connection: its kept-alive"
              + " connection to " + upstream.instance() + " closed before any answer (" + response.cause() + ")");
          exchange(attempt, answer);
        } else {
          answer.fail(new UpstreamFailure.ClosedOnReuse(route.backend(), response.cause()));
        }
      });
      attempt.upload = null; // this try's, if it streams a body
      sendRequest(attempt, request, upstream.authority(serverName));
      if (upload) {
        // An upload: timeout_ms counts from its last byte written to the backend, so a large body on a slow link,
        // or to a slow backend that keeps reading, is not cut while it is still being sent (an answer before that
        // needs no deadline; a backend that takes nothing of it for timeout_ms fails the try: Upload).
        // A backend that stopped taking the body (a write failed) may have answered first: its answer is waited for.
        Upload streaming = attempt.upload;
        Future<Void> sent = streaming != null ? streaming.sent() : incoming.end();
        sent.onComplete(v -> {
          if (!request.response().isComplete() && (v.succeeded() || streaming != null && streaming.writeFailed())) {
            deadline[0] = watch(attempt, request);
          }
        });
      }
    });
  }

  /**
   * Whether a try to an HTTP/2 instance failed because the instance refused its stream unprocessed (RST_STREAM
   * REFUSED_STREAM, a GOAWAY below it: RFC 9113 §8.7), the client still there. Such a request, whatever its method,
   * is sent again once on a new stream to the same instance (a GOAWAY's connection is out of the pool: a new one) when
   * it can be: no body, or its body held whole ({@link #hold}); as Go's and OkHttp's HTTP/2 clients do, with or without
   * {@code retries}. Refused again, or not sendable again, the try fails as {@link UpstreamFailure.RefusedStream}: the
   * route's retries may take it elsewhere, else 503.
   */
  private boolean refused(Attempt attempt, HttpClientRequest request, Throwable err,
      Completable<HttpClientResponse> answer) {
    String how = failure(attempt, err) == err
        ? UpstreamFailure.refusedStream(err, request.streamId(), BackendClients.goAwayLastStreamId(request.connection()))
        : null;
    if (how == null) {
      return false;
    }
    if (!attempt.resent && resendable(attempt)) {
      attempt.resent = true;
      LOG.fine(() -> attempt.incoming.method() + " " + attempt.uri + " sent again on a new stream: "
          + attempt.upstream.instance() + " refused it unprocessed (" + how + ")");
      exchange(attempt, answer);
    } else {
      answer.fail(new UpstreamFailure.RefusedStream(route.backend(), how, err));
    }
    return true;
  }

  /** Whether the request can be sent again as the client sent it: it has no body, or its body is held whole. */
  private static boolean resendable(Attempt attempt) {
    return attempt.body == null || attempt.body == attempt.incoming && bodiless(attempt.incoming);
  }

  /**
   * Whether a try failed before any answer because the backend closed or reset a connection that had carried an
   * earlier exchange: a server's keep-alive timeout racing the reuse rather than a failing instance, so its circuit
   * does not count it. As nginx does, the request is then sent again, once, on a new connection to the same
   * instance when it is idempotent without a body; anything else (a POST, an upload) is not sent twice and gets
   * 502. The client still there; HTTP/1 instances (plain or HTTPS) only, those of the gateway's pool.
   */
  private boolean closedOnReuse(Attempt attempt, HttpClientRequest request, Throwable err) {
    return (err instanceof io.vertx.core.http.HttpClosedException || err instanceof java.io.IOException)
        && !http2 && failure(attempt, err) == err && ConnectionPool.reused(request);
  }

  /**
   * What a try's failure is: the body over the limit (413), the client gone, or the failure itself.
   * An HTTP/2 client's RST_STREAM resets the try before the response knows it is closed: clientGone says so;
   * and a body that fails mid-way (an HTTP/2 connection closed mid-upload) resets it before either is known.
   * An upload its backend stopped taking is the backend's timeout, whatever failure came first (an HTTP/2 stream's
   * reset fails the DATA it still queued, and that failure reaches the answer before the reset's own).
   */
  private Throwable failure(Attempt attempt, Throwable err) {
    return attempt.tooLarge ? new UpstreamFailure.BodyTooLarge(maxBodyBytes)
        : attempt.clientGone || attempt.upload != null && attempt.upload.bodyFailed()
            || clientLeftOrRefused(attempt.incoming) ? new UpstreamFailure.ClientGone(route.backend(), err)
        : attempt.upload != null && attempt.upload.stalled() != null ? attempt.upload.stalled()
        : err;
  }

  /** The client went away, or the edge answered it already (body too slow or malformed) and closes it. */
  private static boolean clientLeftOrRefused(HttpServerRequest incoming) {
    HttpServerResponse response = incoming.response();
    return response.closed() || response.ended();
  }

  /** Writes the request's head toward the backend, then its body (streamed, with back-pressure) or nothing. */
  private void sendRequest(Attempt attempt, HttpClientRequest request, io.vertx.core.net.HostAndPort origin) {
    HttpServerRequest incoming = attempt.incoming;
    HttpServerResponse out = incoming.response();
    if (out.ended() || out.closed() || attempt.clientGone) {
      // The edge answered meanwhile (a body too slow or malformed), or the client left (an HTTP/2
      // stream reset while the try waited for a connection, or for the new one of a resend): the try fails as the
      // client's.
      request.reset();
      return;
    }
    out.exceptionHandler(err -> { // the client left, or broke the stream: so does the try
      EdgeGuard.streamError(out, err);
      attempt.clientGone = true;
      request.reset(AnswerDeadlines.CANCEL, err);
    });
    request.setMethod(incoming.method());
    request.setURI(attempt.uri);
    MultiMap headers = request.headers();
    HeaderPolicy.toBackend(incoming, headers, attempt.exchange, attempt.prefix);
    if (http2 && HeaderPolicy.acceptsTrailers(incoming.headers())) {
      headers.set(HeaderPolicy.TE, HeaderPolicy.TRAILERS); // the one TE HTTP/2 allows; gRPC servers ask for it
    }
    if (attempt.span != null) {
      attempt.span.inject(headers);
    }
    // An HTTP/1.0 request without Host: the backend gets its own address (or server_name) as Host.
    request.authority(incoming.authority() != null && route.passHost() ? incoming.authority() : origin);
    ReadStream<Buffer> body = attempt.body;
    if (body == null) {
      if (attempt.held != null) { // read whole before the first try: each try sends it
        headers.set(HttpHeaders.CONTENT_LENGTH, Long.toString(attempt.length));
        request.end(attempt.held);
        return;
      }
      if (incoming.getHeader(HttpHeaders.CONTENT_LENGTH) != null) {
        headers.set(HttpHeaders.CONTENT_LENGTH, ZERO);
      }
      request.end();
      return;
    }
    if (attempt.length >= 0) {
      headers.set(HttpHeaders.CONTENT_LENGTH, Long.toString(attempt.length));
    } else {
      request.setChunked(Boolean.TRUE.equals(chunked(incoming.headers())));
    }
    if (body == incoming && incoming.isEnded()) {
      request.end(); // a bodiless request: nothing to stream
      return;
    }
    if (http2 && attempt.length < 0) {
      request.sendHead(); // an HTTP/2 stream opens with its head: a server that speaks first need not wait for a body
    }
    // A gRPC call's request stream may rightly wait on its server for as long as the call lasts: no stall limit.
    attempt.upload = Upload.start(body, request, attempt.length, attempt.exchange, vertx,
        dev.dockgate.edge.Protocols.grpc(incoming) ? 0 : route.timeoutMs(), deadlines);
  }

  /**
   * The try's answer deadline: the route's timeout_ms, or what is left of the request's deadline
   * when that is sooner (a late retry); the latter takes a timer of its own.
   */
  private AnswerDeadlines.Pending watch(Attempt attempt, HttpClientRequest request) {
    long now = System.nanoTime();
    long left = attempt.deadlineNanos == 0 ? Long.MAX_VALUE : attempt.deadlineNanos - now;
    if (attempt.grpcDeadlineNanos != 0) {
      // A gRPC call waits for its answer as long as its client does, longer or shorter than the route's timeout_ms
      // (a server stream's first message, which brings its head, may come late).
      return deadlines.watchFor(request, Math.max(1, Math.min(left, attempt.grpcDeadlineNanos - now) / 1_000_000));
    }
    if (left >= deadlines.timeoutNanos()) {
      return deadlines.watch(request);
    }
    return deadlines.watchFor(request, Math.max(1, left / 1_000_000));
  }

  /**
   * An answer of {@code upstream}'s instance with {@code status} went well: a success for its circuit (which counts
   * failures in a row), and the status for its outlier detection. Counted at the answer's end when it is relayed, so
   * that an answer its backend cuts mid-body counts as a failure alone (as a 502 does), not as a success and a failure.
   */
  private static void answered(Upstream upstream, int status) {
    upstream.breaker().succeeded();
    upstream.answered(status, System.nanoTime());
  }

  /**
   * The backend's answer to the client: its status and reason, its headers but hop-by-hop ones (the
   * route's stages may edit them), its Date (or now), its body streamed with back-pressure, sized
   * as the backend sized it, else chunked (buffered for an HTTP/1.0 client). True when its body is relayed (its
   * {@link Relay}'s end then counts it for the instance); false when it was dropped.
   */
  private boolean respond(Attempt attempt, HttpClientResponse response) {
    release(attempt); // an answer came: the stream was not refused, its body is not sent again
    HttpServerResponse out = attempt.incoming.response();
    if (out.ended()) {
      response.request().reset(); // its answer is not read: the backend connection is not reused
      finished(attempt); // the edge answered and counted this request (EdgeGuard)
      return false;
    }
    // Transfer-Encoding is hop-by-hop: Netty decoded the body, and it is framed anew toward the client.
    MultiMap headers = response.headers();
    int status = response.statusCode();
    // What the route's stages set already (CORS), kept if the backend's head is refused.
    MultiMap before = out.headers().isEmpty() ? null : HttpHeaders.headers().addAll(out.headers());
    attempt.before = before;
    try {
      answerHead(attempt, out, status, headers);
    } catch (Exception invalid) { // an HTTP/2 client's header map throws Netty's Http2Exception
      // A header name or value no client may be sent (checked here, once: see BackendClients): 502, as nginx answers.
      out.headers().clear();
      if (before != null) {
        out.headers().addAll(before);
      }
      response.request().reset();
      failed(attempt, new UpstreamFailure.BadGateway(route.backend(), invalid));
      return false;
    }
    String statusMessage = response.statusMessage();
    if (statusMessage != null && !statusMessage.equals(io.netty.handler.codec.http.HttpResponseStatus.valueOf(status).reasonPhrase())
        && validReason(statusMessage)) {
      // A reason of the backend's own (the standard one is already set, and stays when the backend's has bytes
      // RFC 9112 §4 does not allow in a reason: control bytes other than tab).
      out.setStatusMessage(statusMessage);
    }
    if (headers.get(HttpHeaders.DATE) == null) {
      out.putHeader(HttpHeaders.DATE, HttpDate.now());
    }
    String length = headers.get(HttpHeaders.CONTENT_LENGTH);
    long declared = length == null ? -1 : contentLength(length);
    if (declared < 0) {
      if (length != null) {
        out.headers().remove(HttpHeaders.CONTENT_LENGTH);
      }
      if (attempt.incoming.version() != HttpVersion.HTTP_1_0) {
        out.setChunked(true);
      } else if (attempt.incoming.method() != io.vertx.core.http.HttpMethod.HEAD && status != 304 && status != 204) {
        // An HTTP/1.0 client cannot read chunked: the body goes as it comes, unframed, and the connection's
        // close ends it (RFC 9112 §6.3), as nginx sends it; collecting it first would hold a stream back
        // and keep any size of answer in memory.
        EdgeGuard.closing(out);
        attempt.exchange.closeWhenAnswered();
      }
    }
    // A HEAD request's or a 304's answer declares a length it has no body for: it ends with the backend's end.
    // An HTTP/2 answer may have trailers after its declared length: it ends with the backend's end.
    boolean bodyFollows = declared > 0 && attempt.incoming.method() != io.vertx.core.http.HttpMethod.HEAD
        && status != 304 && status != 204 && !http2;
    // Trailers to HTTP/1.1 clients that say they read them (TE: trailers), as RFC 9110 6.5.1 advises; nginx drops them.
    boolean passTrailers = attempt.incoming.version() == HttpVersion.HTTP_2
        || out.isChunked() && HeaderPolicy.acceptsTrailers(attempt.incoming.headers());
    if (http2) {
      attempt.exchange.grpcStatus(headers.get(GRPC_STATUS)); // a trailers-only answer's status is in its head
    }
    if (out.isChunked() && eventStream(headers) && !out.headWritten() && !out.closed()) {
      // An event stream opens on its head (EventSource's open), and its first event may come much later: the head
      // leaves now rather than with the first chunk. A failure after this cuts the stream instead of answering 502.
      out.writeHead();
    }
    attempt.relaying = true; // from now on a MultiMap the attempt is handed is the answer's trailers
    Relay.start(response, out, bodyFollows ? declared : -1, passTrailers,
        attempt.incoming.version() == HttpVersion.HTTP_2 ? stalls : null, http2 ? attempt : null, attempt,
        attempt); // its end counts the request
    return true;
  }

  /**
   * Passes a backend's 103 Early Hints on to the client before the answer (RFC 8297; RFC 9110 §15.2 asks a proxy to
   * forward 1xx answers), without hop-by-hop headers: a browser can start loading what its Link headers name while
   * the backend still works. Not to an HTTP/1.0 client (RFC 9110 §15: no 1xx to it), not once the client's answer
   * has started (a gateway answer after an earlier try, or the client gone), and at most {@link #MAX_EARLY_HINTS}
   * per request: more are read past.
   */
  void earlyHints(Attempt attempt, MultiMap hints) {
    HttpServerResponse out = attempt.incoming.response();
    if (hints == null || attempt.hints >= MAX_EARLY_HINTS || attempt.incoming.version() == HttpVersion.HTTP_1_0
        || out.headWritten() || out.ended() || out.closed() || attempt.clientGone) {
      return;
    }
    attempt.hints++;
    MultiMap forwarded = HttpHeaders.headers();
    HeaderPolicy.copyResponse(103, hints, forwarded);
    if (attempt.incoming.version() == HttpVersion.HTTP_2) { // HTTP/2 field names are lower case (RFC 9113 §8.2.1)
      MultiMap lower = HttpHeaders.headers();
      forwarded.forEach((name, value) -> lower.add(name.toLowerCase(java.util.Locale.ROOT), value));
      forwarded = lower;
    }
    out.writeEarlyHints(forwarded);
  }

  /**
   * The backend failed before any byte of its answer left (a bad first chunk, a close right after the
   * head): 502 rather than a cut connection, counted against the instance; but for a client that left.
   */
  private void unanswered(Attempt attempt, Throwable err) {
    HttpServerResponse out = attempt.incoming.response();
    if (attempt.clientGone) { // an HTTP/2 client's reset, seen before the response knows it is closed
      out.reset();
      finished(attempt);
      return;
    }
    out.headers().clear();
    if (attempt.before != null) {
      out.headers().addAll(attempt.before);
    }
    out.setStatusCode(502).setStatusMessage(io.netty.handler.codec.http.HttpResponseStatus.BAD_GATEWAY.reasonPhrase());
    UpstreamFailure failure = new UpstreamFailure.BadGateway(route.backend(), err);
    if (attempt.upstream != null) {
      attempt.upstream.breaker().failed(failure, true);
    }
    failed(attempt, failure);
  }

  /**
   * The backend cut its answer after {@code relayed} bytes of it left (its connection closed or reset, its stream
   * reset, mid-body; see {@link Relay}), and the client's answer is cut: as nginx's "upstream prematurely closed
   * connection" and Envoy's UPE, the exchange says so (its traffic event's {@code cut}: an error in /stats, marked in
   * the access log, counted in the metrics), the instance's circuit counts a failure as for a 502, and an INFO line
   * names the route, backend, instance and bytes (one per instance and router every 10 s at most, the others counted
   * in it). Not when the backend's side was reset for the client ({@link #failure}): the client left first, its body
   * failed or went over the limit while the answer streamed.
   */
  private void cutByBackend(Attempt attempt, Throwable err, long relayed) {
    Upstream upstream = attempt.upstream;
    if (upstream == null || failure(attempt, err) != err) {
      return;
    }
    attempt.cut = true;
    attempt.exchange.cutByBackend();
    upstream.breaker().failed(new UpstreamFailure.BadGateway(route.backend(), err), true);
    int unsaid = upstream.cutToSay(System.nanoTime());
    if (unsaid >= 0) {
      LOG.info("backend \"" + route.backend() + "\" instance " + upstream.instance() + " cut its answer to "
          + attempt.incoming.method() + " " + dev.dockgate.observability.AccessLogLine.escaped(attempt.incoming.path())
          + " on route " + route.pathPrefix() + " after " + relayed + " bytes (" + ConnectionLoss.describe(err)
          + "); the client's answer is cut" + (unsaid > 0 ? " (and " + unsaid + " more since the last report)" : ""));
    } else if (LOG.isLoggable(Level.FINE)) {
      LOG.fine("backend \"" + route.backend() + "\" instance " + upstream.instance() + " cut its answer to "
          + attempt.incoming.method() + " after " + relayed + " bytes: " + err);
    }
  }

  /**
   * The head of any answer through this route, with {@code status}: {@code backend}'s headers but
   * hop-by-hop ones (none for the gateway's own answers), as the route's stages edit them, the
   * request id, and Connection: close after a body over the limit.
   */
  private static void answerHead(Attempt attempt, HttpServerResponse out, int status, MultiMap backend) {
    Exchange exchange = attempt.exchange;
    if (out.getStatusCode() != status) { // a new response is 200 already
      out.setStatusCode(status);
    }
    MultiMap target = out.headers();
    StrippedPrefix prefix = attempt.owner.prefix;
    if (exchange.pipeline().seesResponses()) {
      MultiMap headers = HttpHeaders.headers();
      if (backend != null) {
        HeaderPolicy.copyResponse(status, backend, headers);
        if (prefix != null && prefix.rewrites()) {
          attempt.owner.putPrefixBack(attempt, status, headers);
        }
      }
      exchange.pipeline().onResponse(exchange, headers);
      target.addAll(headers);
    } else if (backend != null) {
      HeaderPolicy.copyResponse(status, backend, target);
      if (prefix != null && prefix.rewrites()) {
        attempt.owner.putPrefixBack(attempt, status, target);
      }
    }
    if (attempt.tooLarge && attempt.incoming.version() != HttpVersion.HTTP_2) {
      // The rest of the body is not read: EdgeGuard closes. HTTP/2 has no Connection header.
      target.set(HttpHeaders.CONNECTION, "close");
    }
    target.set(TrafficEvent.REQUEST_ID_HEADER, exchange.requestId());
  }

  /**
   * The backend's redirects in {@code answer} with the route's prefix put back and the client's origin for the
   * instance's (see {@link StrippedPrefix#rewrite}): the Host the client sent, the one the backend was sent (as
   * {@link #sendRequest} chose it) and the instance's address are the hosts of the backend's own URLs. Allocates
   * nothing for an answer without Location, Content-Location and Refresh (the authorities are kept by the request and
   * the instance).
   */
  private void putPrefixBack(Attempt attempt, int status, MultiMap answer) {
    io.vertx.core.net.HostAndPort client = attempt.incoming.authority();
    Upstream upstream = attempt.upstream;
    io.vertx.core.net.HostAndPort sent = client != null && route.passHost() ? client
        : upstream == null ? null : upstream.authority(serverName);
    prefix.rewrite(status, answer, attempt.prefix, client, attempt.exchange.secure(), sent,
        upstream == null ? null : upstream.instance());
  }

  /** The gateway's own answer to a request it could not forward: the failure's status and message. */
  private void failed(Attempt attempt, UpstreamFailure failure) {
    HttpServerRequest incoming = attempt.incoming;
    if (LOG.isLoggable(Level.FINE)) {
      LOG.fine(incoming.method() + " " + attempt.uri + ": " + failure.getMessage()
          + (failure.getCause() == null ? "" : " (" + failure.getCause() + ")"));
    }
    if (attempt.upload != null) {
      attempt.upload.stop(); // a try given up mid-body: the rest of it is read and dropped
      attempt.upload = null;
    }
    if (attempt.body != null && !incoming.isEnded()) {
      attempt.body.resume(); // the body left unsent is read and dropped
      attempt.body = null;
    }
    HttpServerResponse out = incoming.response();
    if (out.ended()) {
      finished(attempt);
      return;
    }
    if (out.closed() || attempt.clientGone) {
      // The client left (the try was reset for it, at once on epoll): nobody to answer. Written
      // into the closed response, the answer would be counted as sent (its bytes in the traffic event).
      if (!out.closed()) {
        out.reset(); // an HTTP/2 stream the client reset, before the response knows it is closed
      }
      finished(attempt);
      return;
    }
    answerHead(attempt, out, failure.status(), null);
    out.putHeader(HttpHeaders.DATE, HttpDate.now());
    if (attempt.exchange.grpcAnswer(failure.status(), failure.getMessage())) {
      out.end().onComplete(v -> finished(attempt)); // a gRPC call: its status and message in a trailers-only answer
      return;
    }
    out.putHeader(HttpHeaders.CONTENT_TYPE, TEXT_PLAIN);
    dev.dockgate.edge.AnswerBodies.end(incoming, Buffer.buffer(failure.getMessage() + "\n"))
        .onComplete(v -> finished(attempt)); // none to HEAD, over HTTP/2 too
  }

  private void finished(Attempt attempt) {
    inFlight.decrement();
    release(attempt);
    if (attempt.upload != null) {
      attempt.upload.relayed(); // a body its backend still leaves unread is watched again (Upload)
    }
    Upstream upstream = attempt.upstream;
    if (upstream != null) {
      upstream.finished();
    }
  }

  /**
   * The proxy's state of one request across its tries; also what its answer's {@link Relay} calls back
   * (done, failed before anything left, or cut by its backend), so that no callback is made per answer. Event-loop
   * confined.
   */
  private static final class Attempt implements Runnable, Relay.Failures, io.vertx.core.Handler<MultiMap> {
    final ProxyHandler owner;
    final Exchange exchange;
    final HttpServerRequest incoming;
    /** The request's URI toward the backend (normalized path, prefix stripped when the route says so). */
    String uri;
    /** The X-Forwarded-Prefix the backend is sent (see {@link StrippedPrefix#forwarded}); null: none stripped. */
    String prefix;
    /** The client's Content-Length, or -1 when it announced none. */
    long length;
    /**
     * What is streamed to the backend: the client's request, or a wrapper of it; null: nothing to stream (a bodiless
     * request, or one whose body is {@link #held}).
     */
    ReadStream<Buffer> body;
    /** The body read whole before the first try, which each try sends (HTTP/2 backends: {@link #hold}); null: none. */
    Buffer held;
    /** The heap this request's body counts among those held whole ({@link #reserve}); 0: none, or given back. */
    long heldBytes;
    /** The body's stream to the current try's backend request, once started; null: none. */
    Upload upload;
    /** The instance of the current try; null between tries. */
    Upstream upstream;
    /** The current try's span; null when tracing is off. */
    BackendTry span;
    /** The client's unannounced body went past the limit (413). */
    boolean tooLarge;
    /** The current try found no connection: nothing was sent, any request may go elsewhere. */
    boolean unsent;
    /** System.nanoTime() by which the request, all tries together, must have its answer; 0: none. */
    long deadlineNanos;
    /** A gRPC call's own deadline (its grpc-timeout, from arrival), which replaces the route's timeout; 0: none. */
    long grpcDeadlineNanos;
    /** Idempotent and bodiless as the client sent it: safe to send again after it left the gateway. */
    boolean replayable;
    /**
     * The current try was sent again: on a new connection, its reused one closed before any answer; or on a new HTTP/2
     * stream, the instance having refused the first unprocessed.
     */
    boolean resent;

    /** What the route's stages had set on the client's response before the backend's head (null: nothing). */
    MultiMap before;
    /** The client left (its connection closed or its stream reset) while a try was under way. */
    boolean clientGone;
    /** The answer's relay has started: what {@link #handle} is given is trailers, no longer early hints. */
    boolean relaying;
    /** 103 Early Hints passed on to the client so far. */
    int hints;
    /** The backend cut the answer after a part of it left ({@link #cutByBackend}). */
    boolean cut;

    Attempt(ProxyHandler owner, Exchange exchange, HttpServerRequest incoming) {
      this.owner = owner;
      this.exchange = exchange;
      this.incoming = incoming;
      this.body = incoming;
    }

    /** The answer's relay is over: the request is counted, and the answer for its instance unless its backend cut it. */
    @Override
    public void run() {
      if (!cut && upstream != null) {
        answered(upstream, incoming.response().getStatusCode());
      }
      owner.finished(this);
    }

    /** The answer failed before anything of it left. */
    @Override
    public void unanswered(Throwable err) {
      owner.unanswered(this, err);
    }

    /** The backend cut the answer after {@code relayed} bytes of it left. */
    @Override
    public void cut(Throwable err, long relayed) {
      owner.cutByBackend(this, err, relayed);
    }

    /**
     * Before the relay: a 103 Early Hints from the backend, passed on. During it: an HTTP/2 backend's trailers, at
     * the answer's end: a gRPC call's status; null: the answer was cut.
     */
    @Override
    public void handle(MultiMap trailers) {
      if (!relaying) {
        owner.earlyHints(this, trailers);
      } else if (trailers == null) {
        exchange.grpcCut();
      } else {
        exchange.grpcStatus(trailers.get(GRPC_STATUS));
      }
    }
  }
}
