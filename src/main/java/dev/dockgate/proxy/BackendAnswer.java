package dev.dockgate.proxy;

import dev.dockgate.config.RouteConfig;
import dev.dockgate.edge.EdgeGuard;
import dev.dockgate.edge.HttpDate;
import dev.dockgate.resilience.UpstreamFailure;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;

/**
 * The backend's answer relayed to the client: its 103 Early Hints, then its head (status and reason, headers, Date)
 * and its body framed for the client and streamed by {@link Relay}. One per route per router; called on its event
 * loop.
 */
final class BackendAnswer {

  static final CharSequence GRPC_STATUS = HttpHeaders.createOptimized("grpc-status");
  /** 103 Early Hints passed on per request at most: a backend's further ones are read past. */
  static final int MAX_EARLY_HINTS = 4;

  private final RouteConfig route;
  /** The backend is spoken to in HTTP/2 ({@code protocol: http2}). */
  private final boolean http2;
  /** How long an HTTP/2 client may take nothing of an answer (server.idle_timeout_ms); null: no limit. */
  private final Relay.Stalls stalls;
  /** The head of every answer through this route. */
  private final AnswerHead heads;
  /** The failures of its tries, the gateway's own answers, and each request's end. */
  private final TryFailures failures;

  BackendAnswer(RouteConfig route, boolean http2, Relay.Stalls stalls, AnswerHead heads, TryFailures failures) {
    this.route = route;
    this.http2 = http2;
    this.stalls = stalls;
    this.heads = heads;
    this.failures = failures;
  }

  /**
   * The backend's answer to the client: its status and reason, its headers but hop-by-hop ones (the
   * route's stages may edit them), its Date (or now), its body streamed with back-pressure, sized
   * as the backend sized it, else chunked (buffered for an HTTP/1.0 client). True when its body is relayed (its
   * {@link Relay}'s end then counts it for the instance, but an event stream's or a gRPC call's, counted at its first
   * body bytes);
   * false when it was dropped.
   */
  boolean respond(Attempt attempt, HttpClientResponse response) {
    HeldBodies.release(attempt); // an answer came: the stream was not refused, its body is not sent again
    HttpServerResponse out = attempt.incoming.response();
    if (out.ended()) {
      response.request().reset(); // its answer is not read: the backend connection is not reused
      failures.finished(attempt); // the edge answered and counted this request (EdgeGuard)
      return false;
    }
    // Transfer-Encoding is hop-by-hop: Netty decoded the body, and it is framed anew toward the client.
    MultiMap headers = response.headers();
    int status = response.statusCode();
    // What the route's stages set already (CORS), kept if the backend's head is refused.
    MultiMap before = out.headers().isEmpty() ? null : HttpHeaders.headers().addAll(out.headers());
    attempt.before = before;
    try {
      heads.answerHead(attempt, out, status, headers);
    } catch (Exception invalid) { // an HTTP/2 client's header map throws Netty's Http2Exception
      // A header name or value no client may be sent (checked here, once: see BackendClients): 502, as nginx answers.
      out.headers().clear();
      if (before != null) {
        out.headers().addAll(before);
      }
      response.request().reset();
      failures.failed(attempt, new UpstreamFailure.BadGateway(route.backend(), invalid));
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
    long declared = length == null ? -1 : Framing.contentLength(length);
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
    boolean events = declared < 0 && eventStream(headers);
    if (out.isChunked() && events && !out.headWritten() && !out.closed()) {
      // An event stream opens on its head (EventSource's open), and its first event may come much later: the head
      // leaves now rather than with the first chunk. A failure after this cuts the stream instead of answering 502.
      out.writeHead();
    }
    attempt.status = status; // the instance's, counted for it (the client's may become the edge's own: a 408)
    if (events || declared < 0 && http2 && dev.dockgate.edge.Protocols.grpc(attempt.incoming)) {
      // An event stream or a gRPC call lasts as long as its client wants, its end maybe never: its instance counts it
      // at its first body bytes (a success, its status), so that its failures while it streams are not "in a row"
      // (its cut still counts); not at its head, which a backend cutting every stream right after it would balance
      // each cut with.
      attempt.stream = true;
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
  static void earlyHints(Attempt attempt, MultiMap hints) {
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
}
