package dev.dockgate.tracing;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.vertx.core.http.HttpServerRequest;
import java.util.concurrent.TimeUnit;

/**
 * One request's server span, from its arrival to the end of its exchange, and the client spans of
 * its backend tries. Made only when tracing is on; confined to the request's event loop.
 */
public final class RequestTrace {

  static final AttributeKey<String> METHOD = AttributeKey.stringKey("http.request.method");
  static final AttributeKey<Long> STATUS = AttributeKey.longKey("http.response.status_code");
  static final AttributeKey<String> BACKEND = AttributeKey.stringKey("gateway.backend");
  static final AttributeKey<String> INSTANCE = AttributeKey.stringKey("gateway.instance");
  private static final AttributeKey<String> PATH = AttributeKey.stringKey("url.path");
  private static final AttributeKey<String> ROUTE = AttributeKey.stringKey("http.route");
  private static final AttributeKey<String> REQUEST_ID = AttributeKey.stringKey("gateway.request_id");
  private static final AttributeKey<String> CONSUMER = AttributeKey.stringKey("gateway.consumer");
  private static final AttributeKey<String> CLIENT = AttributeKey.stringKey("client.address");
  private static final AttributeKey<String> PROTOCOL = AttributeKey.stringKey("network.protocol.version");

  private final Tracer tracer;
  private final Span span;
  private final Context context;
  private final String method;

  /**
   * {@code lineRead}: false for a request whose line the codec could not read, whose span has no path or version and,
   * as OpenTelemetry names a method it does not know, the method {@code _OTHER} and the name {@code HTTP}; then
   * {@code request} may be null (no head was read at all).
   */
  RequestTrace(Tracer tracer, Context parent, HttpServerRequest request, boolean lineRead, String requestId,
      long startEpochNanos) {
    this.tracer = tracer;
    this.method = lineRead ? request.method().name() : "_OTHER";
    SpanBuilder server = tracer.spanBuilder(lineRead ? method : "HTTP")
        .setParent(parent)
        .setSpanKind(SpanKind.SERVER)
        .setStartTimestamp(startEpochNanos, TimeUnit.NANOSECONDS)
        .setAttribute(METHOD, method)
        .setAttribute(REQUEST_ID, requestId);
    if (lineRead) {
      server.setAttribute(PATH, request.path()).setAttribute(PROTOCOL, protocol(request));
    }
    this.span = server.startSpan();
    this.context = parent.with(span);
  }

  private static String protocol(HttpServerRequest request) {
    return switch (request.version()) {
      case HTTP_1_0 -> "1.0";
      case HTTP_1_1 -> "1.1";
      case HTTP_2 -> "2";
    };
  }

  /** The route the request matched: the span is named after it ({@code GET /api}). */
  public void route(String pathPrefix, String backend) {
    span.updateName(method + " " + pathPrefix);
    span.setAttribute(ROUTE, pathPrefix);
    span.setAttribute(BACKEND, backend);
  }

  /** A try on one backend instance: a client span, child of the request's. */
  public BackendTry backendTry(String instance, String host, int port, int retry) {
    return new BackendTry(tracer, context, method, instance, host, port, retry);
  }

  /** The exchange ended with {@code status} (499: the client left first); 5xx marks the span an error. */
  public void end(int status, String client, String consumer, String instance) {
    span.setAttribute(STATUS, status);
    if (client != null) {
      span.setAttribute(CLIENT, client);
    }
    if (consumer != null) {
      span.setAttribute(CONSUMER, consumer);
    }
    if (instance != null) {
      span.setAttribute(INSTANCE, instance);
    }
    if (status >= 500) {
      span.setStatus(StatusCode.ERROR);
    }
    span.end();
  }
}
