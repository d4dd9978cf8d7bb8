package dev.dockgate.events;

import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;

/**
 * One finished request as published on {@link Addresses#TRAFFIC}. {@code route}, {@code backend} and
 * {@code instance} are null when the request matched no route or reached no instance; {@code query} is
 * the request target's query as the client sent it (after the {@code ?}), null when it had none, but with the values
 * of credential parameters ({@link QueryRedaction}) replaced, so that no consumer of the event logs a secret.
 * Latency is measured from the request's arrival to the end of the response, in milliseconds;
 * {@code bytes} counts the response body bytes sent to the client; {@code consumer} names the API
 * key used or the token's subject (null on open routes); {@code protocol} is HTTP/1.0, HTTP/1.1 or HTTP/2;
 * {@code method}, {@code path}, {@code query} and {@code protocol} are all null for a request whose line the codec
 * could not read;
 * {@code grpcStatus} is a gRPC call's status as its backend answered it (its {@code grpc-status}, 0 for OK), -1 for
 * anything else (not gRPC, or no status came): in JSON {@code grpc_status}, present only when there is one;
 * {@code cut} is true when the backend cut its answer after a part of it had left (a close or reset mid-body, which
 * cuts the client's answer too): in JSON {@code "cut":"backend"}, present only then;
 * {@code retries} is how many times the request was sent again to another instance after a try failed (its
 * route's {@code retries}): in JSON {@code retries}, present only when above 0.
 */
public record TrafficEvent(
    long timestamp,
    String requestId,
    String client,
    String consumer,
    String method,
    String path,
    String query,
    String protocol,
    String route,
    String backend,
    String instance,
    int status,
    long bytes,
    double latencyMs,
    int grpcStatus,
    boolean cut,
    int retries) {

  /** An event of a request sent once (no retry). */
  public TrafficEvent(long timestamp, String requestId, String client, String consumer, String method, String path,
      String query, String protocol, String route, String backend, String instance, int status, long bytes,
      double latencyMs, int grpcStatus, boolean cut) {
    this(timestamp, requestId, client, consumer, method, path, query, protocol, route, backend, instance, status, bytes,
        latencyMs, grpcStatus, cut, 0);
  }

  /** An event its backend did not cut. */
  public TrafficEvent(long timestamp, String requestId, String client, String consumer, String method, String path,
      String query, String protocol, String route, String backend, String instance, int status, long bytes,
      double latencyMs, int grpcStatus) {
    this(timestamp, requestId, client, consumer, method, path, query, protocol, route, backend, instance, status, bytes,
        latencyMs, grpcStatus, false, 0);
  }

  /** An event without a gRPC status. */
  public TrafficEvent(long timestamp, String requestId, String client, String consumer, String method, String path,
      String query, String protocol, String route, String backend, String instance, int status, long bytes,
      double latencyMs) {
    this(timestamp, requestId, client, consumer, method, path, query, protocol, route, backend, instance, status, bytes,
        latencyMs, -1, false, 0);
  }

  /** The {@code cut} value in JSON of an answer its backend cut. */
  public static final String CUT_BY_BACKEND = "backend";

  /** The header carrying the request id, accepted from clients, forwarded and returned. */
  public static final String REQUEST_ID = "x-request-id";

  /** The header carrying the authenticated consumer's name to the backend (never set by clients). */
  public static final String CONSUMER = "x-consumer-name";

  /** {@link #REQUEST_ID} and {@link #CONSUMER} with their hashes cached, for header lookups on the request path. */
  public static final CharSequence REQUEST_ID_HEADER = io.vertx.core.http.HttpHeaders.createOptimized(REQUEST_ID);
  public static final CharSequence CONSUMER_HEADER = io.vertx.core.http.HttpHeaders.createOptimized(CONSUMER);

  /**
   * The event of {@code request}, whose response has just ended (or whose client left, or whose answer was cut:
   * by its backend when {@code cut}), sent again {@code retries} times.
   */
  public static TrafficEvent finished(HttpServerRequest request, String requestId, String client, String consumer,
      String route, String backend, String instance, int status, long arrivalNanos, int grpcStatus, boolean cut,
      int retries) {
    return new TrafficEvent(System.currentTimeMillis(), requestId, client, consumer, request.method().name(), request.path(),
        QueryRedaction.redacted(request.query()), protocol(request.version()), route, backend, instance, status, request.response().bytesWritten(),
        (System.nanoTime() - arrivalNanos) / 1_000_000.0, grpcStatus, cut, retries);
  }

  /** This event without a request line (method, path, query, protocol): for a request whose line was not read. */
  public TrafficEvent withoutRequestLine() {
    return new TrafficEvent(timestamp, requestId, client, consumer, null, null, null, null, route, backend, instance,
        status, bytes, latencyMs, grpcStatus, cut, retries);
  }

  /**
   * The event as published: a read-only JSON object backed by this event (see
   * {@link TrafficEventView}); {@code copy()} it to change it.
   */
  public JsonObject toJson() {
    return new JsonObject(new TrafficEventView(this));
  }

  /**
   * The event behind {@code json}: the event itself when this process published it, else parsed;
   * null when {@code json} lacks the status or the latency (not a traffic event).
   */
  public static TrafficEvent of(JsonObject json) {
    if (json.getMap() instanceof TrafficEventView view) {
      return view.event();
    }
    return json.getValue("status") instanceof Number && json.getValue("latency_ms") instanceof Number
        ? fromJson(json) : null;
  }

  public static TrafficEvent fromJson(JsonObject json) {
    return new TrafficEvent(
        json.getLong("timestamp", 0L),
        json.getString("request_id"),
        json.getString("client"),
        json.getString("consumer"),
        json.getString("method"),
        json.getString("path"),
        json.getString("query"),
        json.getString("protocol", "HTTP/1.1"),
        json.getString("route"),
        json.getString("backend"),
        json.getString("instance"),
        json.getInteger("status", 0),
        json.getLong("bytes", 0L),
        json.getDouble("latency_ms", 0.0),
        json.getValue("grpc_status") instanceof Number n ? n.intValue() : -1,
        CUT_BY_BACKEND.equals(json.getValue("cut")),
        json.getValue("retries") instanceof Number n && n.intValue() > 0 ? n.intValue() : 0);
  }

  private static String protocol(io.vertx.core.http.HttpVersion version) {
    return switch (version) {
      case HTTP_1_0 -> "HTTP/1.0";
      case HTTP_2 -> "HTTP/2";
      default -> "HTTP/1.1";
    };
  }

  /**
   * Whether this request counts as a success in /stats: never when its backend cut its answer (whatever the status
   * sent); else a gRPC call by its gRPC status (OK only: its HTTP status is 200 whatever the outcome), any other request
   * by its HTTP status ({@link #isSuccess(int)}).
   */
  public boolean success() {
    return !cut && (grpcStatus >= 0 ? grpcStatus == 0 : isSuccess(status));
  }

  /** rgate's rule: 200-399 is a success, everything else an error; a WebSocket upgrade (101) succeeded too. */
  public static boolean isSuccess(int status) {
    return status == 101 || (status >= 200 && status < 400);
  }
}
