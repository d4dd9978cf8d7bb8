package dev.dockgate.proxy;

import dev.dockgate.config.RouteConfig;
import dev.dockgate.edge.HttpDate;
import dev.dockgate.resilience.UpstreamFailure;
import dev.dockgate.tracing.BackendTry;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The failures of the tries of one route and the end of each request: what a try's failure is (the body over the
 * limit, the client gone, a refused stream, a head too large...), said to the span and the operator; the gateway's own
 * answer with its status (413, 502, 503, 504) when nothing of the backend's left; an answer its backend cut mid-body,
 * counted and said; the request counted out of flight however it ended. One per route per router; called on its event
 * loop.
 */
final class TryFailures {

  /** The proxy terminal's lines keep its one logger name (log configurations and formats name it). */
  private static final Logger LOG = Logger.getLogger(ProxyHandler.class.getName());
  /** How Netty's HPACK decoder words HEADERS larger than the connection's SETTINGS_MAX_HEADER_LIST_SIZE. */
  private static final String HTTP2_HEAD_TOO_LARGE = "Header size exceeded max allowed size";
  /** How long a starting instance that refused, or an HTTP/2 instance that refused a stream twice, is passed over. */
  static final long PASS_OVER_NANOS = 250_000_000L;
  private static final CharSequence TEXT_PLAIN = HttpHeaders.createOptimized("text/plain; charset=utf-8");

  private final RouteConfig route;
  private final long maxBodyBytes;
  private final java.util.concurrent.atomic.LongAdder inFlight;
  /** The head of every answer through this route. */
  private final AnswerHead heads;

  TryFailures(RouteConfig route, long maxBodyBytes, java.util.concurrent.atomic.LongAdder inFlight, AnswerHead heads) {
    this.route = route;
    this.maxBodyBytes = maxBodyBytes;
    this.inFlight = inFlight;
    this.heads = heads;
  }

  /**
   * What a try's failure is (see {@link UpstreamFailure#classify}), told to the try's span, and to the operator where
   * it says something to them (a TLS failure, once per instance; file descriptors run out; an answer's head too large,
   * once per instance); an instance that refused an HTTP/2 stream again is passed over for a moment.
   */
  UpstreamFailure classify(Upstream upstream, BackendTry span, Throwable cause) {
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
    return failure;
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

  /**
   * Why a backend's answer cannot be given to the client, or null: a status out of HTTP's range
   * (RFC 9110 §15: one outside 100-599 is to be taken as a server error), a 101 to a request that
   * asked for no switch (upgrades take {@link WebSocketUpgrade#upgrade}), another 1xx taken for the final answer, or
   * a transfer coding other than chunked, which the gateway does not undo.
   * The answer is reset and the request fails as for any malformed answer: 502, counted against the
   * instance, retried where it may be.
   */
  Throwable unusable(HttpClientResponse response) {
    int status = response.statusCode();
    if (status >= 200 && status <= 599) { // a final 1xx: 101, or one a backend connection's filter did not drop
      MultiMap headers = response.headers();
      if (headers.contains(HttpHeaders.TRANSFER_ENCODING) && !Framing.onlyChunked(headers)) {
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

  UpstreamFailure notListening(Upstream upstream) {
    upstream.passOver(System.nanoTime(), PASS_OVER_NANOS);
    return new UpstreamFailure.Refused(route.backend(),
        new java.net.ConnectException("refused by " + upstream.instance() + ", which has just started"));
  }

  /**
   * What a try's failure is: the body over the limit (413), the client gone, or the failure itself.
   * An HTTP/2 client's RST_STREAM resets the try before the response knows it is closed: clientGone says so;
   * and a body that fails mid-way (an HTTP/2 connection closed mid-upload) resets it before either is known.
   * An upload its backend stopped taking is the backend's timeout, whatever failure came first (an HTTP/2 stream's
   * reset fails the DATA it still queued, and that failure reaches the answer before the reset's own).
   */
  Throwable failure(Attempt attempt, Throwable err) {
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

  /**
   * The backend failed before any byte of its answer left (a bad first chunk, a close right after the
   * head): 502 rather than a cut connection, counted against the instance; but for a client that left, and for a try
   * reset for its client's body (over the limit: 413, as before any answer; broken mid-way), which is the client's
   * failure, not the instance's.
   */
  void unanswered(Attempt attempt, Throwable err) {
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
    UpstreamFailure failure = failure(attempt, err) instanceof UpstreamFailure clients && clients.clientFault()
        ? clients : new UpstreamFailure.BadGateway(route.backend(), err);
    out.setStatusCode(failure.status())
        .setStatusMessage(io.netty.handler.codec.http.HttpResponseStatus.valueOf(failure.status()).reasonPhrase());
    if (attempt.upstream != null && !failure.clientFault()) {
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
  void cutByBackend(Attempt attempt, Throwable err, long relayed) {
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

  /** The gateway's own answer to a request it could not forward: the failure's status and message. */
  void failed(Attempt attempt, UpstreamFailure failure) {
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
    heads.answerHead(attempt, out, failure.status(), null);
    out.putHeader(HttpHeaders.DATE, HttpDate.now());
    if (attempt.exchange.grpcAnswer(failure.status(), failure.getMessage())) {
      out.end().onComplete(v -> finished(attempt)); // a gRPC call: its status and message in a trailers-only answer
      return;
    }
    out.putHeader(HttpHeaders.CONTENT_TYPE, TEXT_PLAIN);
    dev.dockgate.edge.AnswerBodies.end(incoming, Buffer.buffer(failure.getMessage() + "\n"))
        .onComplete(v -> finished(attempt)); // none to HEAD, over HTTP/2 too
  }

  void finished(Attempt attempt) {
    inFlight.decrement();
    HeldBodies.release(attempt);
    if (attempt.upload != null) {
      attempt.upload.relayed(); // a body its backend still leaves unread is watched again (Upload)
    }
    Upstream upstream = attempt.upstream;
    if (upstream != null) {
      upstream.finished();
    }
  }
}
