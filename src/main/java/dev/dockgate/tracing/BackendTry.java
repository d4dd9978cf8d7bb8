package dev.dockgate.tracing;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapSetter;
import io.vertx.core.MultiMap;

/**
 * The client span of one try on a backend instance, from its start to the backend's answer head
 * or the failure; it also writes the try's {@code traceparent} (parent: this span). Confined to
 * the request's event loop.
 */
public final class BackendTry {

  private static final AttributeKey<String> SERVER_ADDRESS = AttributeKey.stringKey("server.address");
  private static final AttributeKey<Long> SERVER_PORT = AttributeKey.longKey("server.port");
  private static final AttributeKey<Long> RESEND_COUNT = AttributeKey.longKey("http.request.resend_count");
  private static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");
  private static final TextMapSetter<MultiMap> HEADERS = (carrier, key, value) -> carrier.set(key, value);

  private final Span span;
  private final Context context;

  BackendTry(Tracer tracer, Context parent, String method, String instance, String host, int port, int retry) {
    io.opentelemetry.api.trace.SpanBuilder builder = tracer.spanBuilder(method)
        .setParent(parent)
        .setSpanKind(SpanKind.CLIENT)
        .setAttribute(RequestTrace.METHOD, method)
        .setAttribute(RequestTrace.INSTANCE, instance)
        .setAttribute(SERVER_ADDRESS, host)
        .setAttribute(SERVER_PORT, (long) port);
    if (retry > 0) {
      builder.setAttribute(RESEND_COUNT, (long) retry);
    }
    this.span = builder.startSpan();
    this.context = parent.with(span);
  }

  /**
   * Sets {@code traceparent} (and {@code tracestate} when the trace has one) toward the backend;
   * whatever the client sent under these names is replaced, a stale tracestate dropped.
   */
  public void inject(MultiMap headers) {
    headers.remove("traceparent");
    headers.remove("tracestate");
    Tracing.W3C.inject(context, headers, HEADERS);
  }

  /** The backend answered with {@code status}; 4xx and 5xx mark the span an error. */
  public void answered(int status) {
    span.setAttribute(RequestTrace.STATUS, status);
    if (status >= 400) {
      span.setStatus(StatusCode.ERROR);
    }
    span.end();
  }

  /** The try failed before an answer: {@code type} is the failure's kind (Refused, Timeout, ...). */
  public void failed(String type, String message) {
    span.setAttribute(ERROR_TYPE, type);
    span.setStatus(StatusCode.ERROR, message);
    span.end();
  }
}
