package dev.dockgate.proxy;

import dev.dockgate.config.BackendConfig;
import dev.dockgate.config.RouteConfig;
import dev.dockgate.edge.EdgeGuard;
import dev.dockgate.resilience.UpstreamFailure;
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
import io.vertx.core.http.RequestOptions;
import io.vertx.core.streams.ReadStream;
import java.util.logging.Logger;

/**
 * One try's request to an instance: a connection (the gateway's pool for HTTP/1 instances, Vert.x's for HTTP/2 ones),
 * the request's head and body written to it, the answer's head awaited under its deadline; sent again once, to the
 * same instance, when a reused connection closed or an HTTP/2 stream was refused before any answer. One per route per
 * router; called on its event loop.
 */
final class BackendRequest {

  /** The proxy terminal's lines keep its one logger name (log configurations and formats name it). */
  private static final Logger LOG = Logger.getLogger(ProxyHandler.class.getName());

  private final Vertx vertx;
  /** Requests to HTTP/2 instances (Vert.x's pool: one multiplexed connection each). */
  private final HttpClient client;
  /** Requests to HTTP/1 instances, plain or HTTPS. */
  private final ConnectionPool pool;
  private final RouteConfig route;
  private final long connectTimeoutMs;
  /** The name HTTPS instances' certificates must carry, when not their host; also the Host with pass_host: false. */
  private final String serverName;
  /** The backend is spoken to in HTTP/2 ({@code protocol: http2}), through {@link #client}. */
  private final boolean http2;
  private final AnswerDeadlines deadlines;
  /** The failures of the route's tries. */
  private final TryFailures failures;
  private final io.vertx.core.Handler<Throwable> backendRequestEnded;
  private final io.vertx.core.Handler<Throwable> answerCutShort;

  BackendRequest(Vertx vertx, HttpClient client, ConnectionPool pool, RouteConfig route, BackendConfig backend,
      AnswerDeadlines deadlines, TryFailures failures) {
    this.vertx = vertx;
    this.client = client;
    this.pool = pool;
    this.route = route;
    this.connectTimeoutMs = backend.connectTimeoutMs();
    this.serverName = backend.tls().serverName();
    this.http2 = backend.http2();
    this.deadlines = deadlines;
    this.failures = failures;
    this.backendRequestEnded = err -> LOG.fine(() -> "request to backend \"" + route.backend() + "\" ended: " + err);
    this.answerCutShort = err -> LOG.fine(() -> "answer of backend \"" + route.backend() + "\" cut short: " + err);
  }

  /**
   * One try: a connection from the pool, the request's head and body streamed to it, and its
   * answer's head (paused, so its body waits for the client). A failure caused by the client
   * leaving is marked so the breaker ignores it.
   */
  Future<HttpClientResponse> exchange(Attempt attempt) {
    Promise<HttpClientResponse> answer = Promise.promise();
    // Inside the breaker's operation (open or half-open: the probe): an answer no client can be given fails it.
    exchange(attempt, (response, err) -> {
      Throwable refused = err != null ? err : failures.unusable(response);
      if (refused != null) {
        answer.fail(refused);
      } else {
        answer.complete(response);
      }
    });
    return answer.future();
  }

  /** {@link #exchange(Attempt)}, its outcome given to {@code answer}. */
  void exchange(Attempt attempt, Completable<HttpClientResponse> answer) {
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
        answer.fail(failures.failure(attempt, cause));
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
          answer.fail(failures.failure(attempt, response.cause()));
        } else if (!attempt.resent && attempt.body == null && Tries.IDEMPOTENT.contains(incoming.method())) {
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
   * it can be: no body, or its body held whole ({@link ProxyHandler#hold}); as Go's and OkHttp's HTTP/2 clients do,
   * with or without {@code retries}. Refused again, or not sendable again, the try fails as
   * {@link UpstreamFailure.RefusedStream}: the route's retries may take it elsewhere, else 503.
   */
  private boolean refused(Attempt attempt, HttpClientRequest request, Throwable err,
      Completable<HttpClientResponse> answer) {
    String how = failures.failure(attempt, err) == err
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
  static boolean resendable(Attempt attempt) {
    return attempt.body == null || attempt.body == attempt.incoming && Framing.bodiless(attempt.incoming);
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
        && !http2 && failures.failure(attempt, err) == err && ConnectionPool.reused(request);
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
        headers.set(HttpHeaders.CONTENT_LENGTH, Framing.ZERO);
      }
      request.end();
      return;
    }
    if (attempt.length >= 0) {
      headers.set(HttpHeaders.CONTENT_LENGTH, Long.toString(attempt.length));
    } else {
      request.setChunked(Boolean.TRUE.equals(Framing.chunked(incoming.headers())));
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
}
