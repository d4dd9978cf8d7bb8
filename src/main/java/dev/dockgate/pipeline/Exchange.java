package dev.dockgate.pipeline;

import dev.dockgate.events.Addresses;
import dev.dockgate.events.TrafficEvent;
import dev.dockgate.tracing.RequestTrace;
import dev.dockgate.tracing.Tracing;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One request from its arrival to its traffic event: arrival time, request id, matched route,
 * consumer, chosen instance. It is the response's end handler, so it publishes the request's one
 * traffic event whoever answered (a stage, the terminal, the edge, the default response) or when
 * the client left first; latency always counts from arrival. Made by the router for every request
 * it counts; confined to that router's event loop.
 */
public final class Exchange implements Handler<Void> {

  private static final Logger LOG = Logger.getLogger(Exchange.class.getName());
  private static final CharSequence TEXT_PLAIN = HttpHeaders.createOptimized("text/plain; charset=utf-8");
  /** nginx's status for a request whose client closed the connection before any answer. */
  public static final int CLIENT_CLOSED = 499;

  private final HttpServerRequest request;
  private final long arrivalNanos;
  private final String requestId;
  private final String client;
  private final boolean trustedPeer;
  private final boolean secure;
  private final EventBus events;
  private final Tracing tracing;
  /** The request's spans; null while untracked and whenever tracing is off. */
  private RequestTrace trace;
  private Pipeline pipeline;
  private int next;
  private boolean held;
  private boolean tracked;
  private boolean finished;
  /** An HTTP/2 response's end is handed over but maybe not written (its client's window): the event waits for it. */
  private boolean endPending;
  /** An answer for the gateway's own endpoints (/stats): no traffic event, no span. */
  private boolean uncounted;
  /** How the connection is closed after an answer marked {@code Connection: close}; null: it is left to Vert.x. */
  private Handler<HttpServerRequest> closeWhenAnswered;
  private BodyHold bodyHold;
  private boolean lineUnread;
  /** The backend cut its answer after a part of it left (see {@link #cutByBackend}). */
  private boolean cut;
  /** How many times the request was sent again after a failed try (see {@link #retried}). */
  private int retries;
  private String consumer;
  private String instance;
  /** The gRPC status the backend answered (or the gateway, for a call it answered itself), or -1. */
  private int grpcStatus = -1;
  private int status;
  private io.vertx.core.MultiMap forward;

  /** {@code secure}: the request came over TLS (the listener's setting, known without asking the connection). */
  public Exchange(HttpServerRequest request, long arrivalNanos, String requestId, String client, boolean trustedPeer,
      boolean secure, EventBus events, Tracing tracing) {
    this.tracing = tracing;
    this.secure = secure;
    this.trustedPeer = trustedPeer;
    this.request = request;
    this.arrivalNanos = arrivalNanos;
    this.requestId = requestId;
    this.client = client;
    this.events = events;
  }

  public HttpServerRequest request() {
    return request;
  }

  public long arrivalNanos() {
    return arrivalNanos;
  }

  /** The request's one id: in its headers toward the backend, on the response, in its event. */
  public String requestId() {
    return requestId;
  }

  /** The client's address: the peer, or the address a trusted proxy forwarded for; null when unknown. */
  public String client() {
    return client;
  }

  /** Whether the peer is a trusted proxy, whose X-Forwarded-For the gateway extends rather than replaces. */
  public boolean trustedPeer() {
    return trustedPeer;
  }

  /** Whether the request came over TLS (X-Forwarded-Proto: https). */
  public boolean secure() {
    return secure;
  }

  /** The request's spans, for the terminal's backend tries; null when tracing is off. */
  public RequestTrace trace() {
    return trace;
  }

  /** The matched route's pipeline; null when no route matched. */
  public Pipeline pipeline() {
    return pipeline;
  }

  /** Who the route's authentication found (API key name, token subject); null on open routes. */
  public String consumer() {
    return consumer;
  }

  public void consumer(String name) {
    this.consumer = name;
  }

  /** The gRPC call's status as its backend answered it ({@code grpc-status}); ignored when not a number. */
  public void grpcStatus(String value) {
    if (value == null || value.isEmpty() || value.length() > 9) {
      return;
    }
    int status = 0;
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c < '0' || c > '9') {
        return;
      }
      status = status * 10 + (c - '0');
    }
    grpcStatus = status;
  }

  /**
   * The gateway cut a gRPC call's answer after a part of it left (its backend failed mid-answer; the client's stream
   * is reset with INTERNAL_ERROR, which gRPC clients report as INTERNAL): its status, unless its backend gave one.
   */
  public void grpcCut() {
    if (grpcStatus < 0 && GrpcAnswer.wanted(request)) {
      grpcStatus = GrpcAnswer.INTERNAL;
    }
  }

  /**
   * The backend cut its answer after a part of it left (a close or reset mid-body): the client's answer is cut, and
   * the traffic event says so ({@code "cut":"backend"}), its status and bytes those sent. Before the response ends.
   */
  public void cutByBackend() {
    cut = true;
  }

  /** The request is sent again to another instance after a failed try: counted in the traffic event. */
  public void retried() {
    retries++;
  }

  /** The instance that answered (or was tried last), for the traffic event. */
  public void instance(String name) {
    this.instance = name;
  }

  /**
   * A header the gateway sets toward the backend (the consumer, forwarded claims): applied by the
   * terminal after the client's hop-by-hop headers are gone, so no client header can remove it.
   */
  public void forward(CharSequence name, String value) {
    if (forward == null) {
      forward = io.vertx.core.http.HttpHeaders.headers();
    }
    forward.set(name, value);
  }

  /** The headers {@link #forward} collected, or null when there are none. */
  public io.vertx.core.MultiMap forwarded() {
    return forward;
  }

  /** The edge watches this request's body: an answer marked {@code Connection: close} then closes the connection. */
  /**
   * The upload of this request's body to its backend (null: none): it knows how long the body waited on the backend
   * (the backend's buffers full, so the gateway stopped reading the client), time the edge's body deadline gives back.
   */
  public void bodyHold(BodyHold upload) {
    this.bodyHold = upload;
  }

  /** How long the body waited on its backend since the last call, in ms (a wait still going included). */
  public long takeBodyHeldMs() {
    return bodyHold == null ? 0 : bodyHold.takeHeldMs();
  }

  /** What {@link #takeBodyHeldMs} asks: the proxy's upload of the body. */
  public interface BodyHold {
    long takeHeldMs();
  }

  /** Closes the connection once an answer marked {@code Connection: close} has been written (at once). */
  public void closeWhenAnswered() {
    if (closeWhenAnswered == null) {
      closeWhenAnswered = CLOSE;
    }
  }

  /**
   * As {@link #closeWhenAnswered()}, with {@code close} doing the close: for a request whose body may still be on its
   * way when it is answered, which the edge closes without resetting the answer. Kept over the plain close.
   */
  public void closeWhenAnswered(Handler<HttpServerRequest> close) {
    closeWhenAnswered = close;
  }

  private static final Handler<HttpServerRequest> CLOSE = request -> request.connection().close();

  /**
   * The codec could not read the request's line: the request is Vert.x's stand-in for it, whose method, target and
   * version are not the client's. Its event and span have none. Before {@link #track}.
   */
  public void requestLineUnread() {
    this.lineUnread = true;
  }

  /** Runs {@code route}'s stages, then its terminal. */
  public void start(Pipeline route) {
    routed(route);
    proceed();
  }

  /**
   * Answers a request that matched {@code route} (null: none did) before its stages run, such as a body announced
   * over the limit: its traffic event and span name the route, as when the route's own stages refuse it.
   */
  public void answer(Pipeline route, int status, Buffer body) {
    if (route != null) {
      routed(route);
    }
    answer(status, body);
  }

  private void routed(Pipeline route) {
    this.pipeline = route;
    track();
    if (trace != null) {
      trace.route(route.route().pathPrefix(), route.route().backend());
    }
  }

  /** Goes on with the next stage (after a stage that held the exchange), then the terminal. */
  public void proceed() {
    Stage[] stages = pipeline.stages();
    while (next < stages.length) {
      Stage stage = stages[next++];
      boolean go;
      try {
        go = stage.handle(this);
      } catch (RuntimeException e) {
        fail(e);
        return;
      }
      if (!go) {
        return;
      }
    }
    HttpServerResponse response = request.response();
    if (response.closed() || response.ended()) {
      return; // the client left, or the edge answered, while a stage held the request
    }
    // A held request stays paused: the terminal takes its body from where it stopped.
    held = false;
    try {
      pipeline.terminal().handle(this);
    } catch (RuntimeException e) {
      fail(e);
    }
  }

  /** A stage waits before deciding: the request body is held back until it continues or answers. */
  public void hold() {
    if (!held) {
      held = true;
      if (!request.isEnded()) {
        request.pause();
      }
    }
  }

  /** Answers with {@code status} and a plain-text {@code body} (may be empty). */
  public void answer(int status, Buffer body) {
    answer(status, body, TEXT_PLAIN);
  }

  /**
   * Answers the client; any body it is still sending is read and dropped (a held request is
   * resumed), so the connection stays usable and nothing waits for the body timeout. A gRPC call gets the answer as
   * a gRPC status ({@link GrpcAnswer}); its traffic event keeps {@code status}, the HTTP status it stands for.
   */
  public void answer(int status, Buffer body, CharSequence contentType) {
    track();
    HttpServerResponse response = request.response();
    if (response.ended() || response.closed()) {
      return;
    }
    held = false;
    if (!request.isEnded()) {
      request.resume();
    }
    response.putHeader(TrafficEvent.REQUEST_ID_HEADER, requestId)
        .putHeader(HttpHeaders.DATE, dev.dockgate.edge.HttpDate.now());
    if (GrpcAnswer.wanted(request)) {
      grpcHead(status, body.toString());
      response.end();
      return;
    }
    response.setStatusCode(status);
    if (body.length() > 0 && contentType != null) {
      response.putHeader(HttpHeaders.CONTENT_TYPE, contentType);
    }
    dev.dockgate.edge.AnswerBodies.end(request, body); // none on HEAD, 204 or 304, over HTTP/2 too
  }

  /**
   * When the request is a gRPC call: makes its response the gRPC form of the gateway's answer {@code status} with
   * {@code text} ({@link GrpcAnswer}), left for the caller to end without a body, and says so. The traffic event
   * keeps {@code status} with the gRPC status beside it.
   */
  public boolean grpcAnswer(int status, String text) {
    if (!GrpcAnswer.wanted(request)) {
      return false;
    }
    grpcHead(status, text);
    return true;
  }

  private void grpcHead(int status, String text) {
    this.status = status;
    grpcStatus = GrpcAnswer.statusOf(status);
    HttpServerResponse response = request.response().setStatusCode(200)
        .putHeader(HttpHeaders.CONTENT_TYPE, GrpcAnswer.CONTENT_TYPE)
        .putHeader(GrpcAnswer.GRPC_STATUS, Integer.toString(grpcStatus));
    String message = GrpcAnswer.message(text);
    if (!message.isEmpty()) {
      response.putHeader(GrpcAnswer.GRPC_MESSAGE, message);
    }
  }

  /** A stage or terminal failed unexpectedly: 500, logged with the route; never a request left hanging. */
  public void fail(Throwable err) {
    String route = pipeline == null ? "(no route)" : pipeline.route().pathPrefix();
    LOG.log(Level.WARNING, "request " + requestId + " on route " + route + " failed in the gateway: " + err, err);
    answer(500, Buffer.buffer("internal gateway error\n"));
  }

  /**
   * The request was for the gateway's own endpoints (/stats, liveness), refused before they saw it (413, 417): counted
   * as their answers are, not at all (no traffic event, no span). Before {@link #track}.
   */
  public void uncounted() {
    this.uncounted = true;
  }

  /** Counts the request when its response ends or its client leaves; its server span starts (from arrival). */
  public void track() {
    if (!tracked) {
      tracked = true;
      request.response().endHandler(this);
      if (tracing.enabled() && !uncounted) {
        trace = tracing.start(request, !lineUnread, requestId, arrivalNanos);
      }
    }
  }

  /**
   * The response's end is about to be handed to an HTTP/2 stream, whose client's flow-control window may hold it back
   * (Vert.x ends the response at once, counting only the bytes let out so far): the traffic event waits until the end
   * is written ({@link #endWritten}), so that it counts the bytes the client got and the time it got them, as for
   * HTTP/1 (whose bytes count as they are written to the connection). Nothing for HTTP/1.
   */
  public void endPending() {
    if (request.version() == HttpVersion.HTTP_2) {
      endPending = true;
    }
  }

  /**
   * After {@link #endPending}: the end was written, or wholly handed to the connection, or its write failed (the stream
   * reset): counted now.
   */
  public void endWritten() {
    if (endPending) {
      endPending = false;
      handle(null);
    }
  }

  /**
   * After {@link #endPending}, before {@link #endWritten}: the end's write failed, the stream closed before it left,
   * reset by the gateway ({@code cut}: its client took nothing of the held end for the idle timeout) or by its client
   * (its reset, its connection closed). A gRPC call's status is then the one its client saw, not the one in its
   * backend's trailers, which never left: INTERNAL (the gateway's RST_STREAM INTERNAL_ERROR, as {@link #grpcCut}) or
   * CANCELLED (as for a client that leaves before the answer's end). Nothing once counted.
   */
  public void endLost(boolean cut) {
    if (endPending && GrpcAnswer.wanted(request)) {
      grpcStatus = cut ? GrpcAnswer.INTERNAL : GrpcAnswer.CANCELLED;
    }
  }

  /** Ends the exchange with a status the response cannot tell (a WebSocket tunnel's 101). */
  public void finish(int status) {
    this.status = status;
    handle(null);
  }

  /** The response ended, or the connection closed before it did: publish the one traffic event. */
  @Override
  public void handle(Void ended) {
    if (finished || endPending && !request.response().closed()) {
      return; // (an end still to be written: counted by endWritten)
    }
    finished = true;
    HttpServerResponse response = request.response();
    int code = status != 0 ? status
        : response.ended() || response.headWritten() ? response.getStatusCode() : CLIENT_CLOSED;
    if (grpcStatus < 0 && GrpcAnswer.wanted(request)) {
      // A gRPC call that ended without a status: its answer ended without one (UNKNOWN, or what its HTTP status
      // stands for), or its stream ended before its answer did (the client cancelled or left: CANCELLED). Either
      // way no success.
      grpcStatus = response.ended() ? GrpcAnswer.statusOf(code) : GrpcAnswer.CANCELLED;
    }
    if (closeWhenAnswered != null && request.version() != HttpVersion.HTTP_2
        && "close".equalsIgnoreCase(response.headers().get(HttpHeaders.CONNECTION))) {
      closeWhenAnswered.handle(request); // the rest of the body is not read
    }
    if (uncounted) {
      return;
    }
    String route = null;
    String backend = null;
    if (pipeline != null) {
      route = pipeline.route().pathPrefix();
      backend = pipeline.route().backend();
    }
    TrafficEvent event = TrafficEvent.finished(request, requestId, client, consumer, route, backend, instance, code,
        arrivalNanos, grpcStatus, cut, retries);
    if (lineUnread) {
      event = event.withoutRequestLine();
    }
    events.publish(Addresses.TRAFFIC, event.toJson(), Addresses.TRAFFIC_DELIVERY);
    if (trace != null) {
      trace.end(code, client, consumer, instance);
    }
  }
}
