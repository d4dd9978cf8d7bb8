package dev.dockgate.tracing;

import dev.dockgate.config.TracingConfig;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.common.Clock;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpServerRequest;
import java.util.concurrent.TimeUnit;

/**
 * The process's tracer, built once at start from the {@code tracing:} block and shared by every
 * router (the OpenTelemetry SDK is thread-safe): W3C trace context in, spans out through a batch
 * processor and the OTLP/HTTP exporter, both on their own threads. {@link #OFF} when disabled:
 * then no request gets a trace, and nothing is allocated for one.
 */
public final class Tracing {

  public static final Tracing OFF = new Tracing(null, null);
  /** How long ended spans wait for a batch (at most 512 per export, 2048 queued; more are dropped). */
  static final long EXPORT_DELAY_MS = 1_000;

  static final W3CTraceContextPropagator W3C = W3CTraceContextPropagator.getInstance();
  private static final TextMapGetter<MultiMap> HEADERS = new TextMapGetter<>() {
    @Override
    public Iterable<String> keys(MultiMap carrier) {
      return carrier.names();
    }

    @Override
    public String get(MultiMap carrier, String key) {
      return carrier == null ? null : carrier.get(key);
    }
  };

  private final SdkTracerProvider provider;
  private final Tracer tracer;
  private final Clock clock = Clock.getDefault();

  private Tracing(SdkTracerProvider provider, Tracer tracer) {
    this.provider = provider;
    this.tracer = tracer;
  }

  /** The tracer {@code config} asks for, or {@link #OFF}. */
  public static Tracing of(TracingConfig config) {
    if (!config.enabled()) {
      return OFF;
    }
    OtlpHttpSpanExporter exporter = OtlpHttpSpanExporter.builder().setEndpoint(config.endpoint()).build();
    SdkTracerProvider provider = SdkTracerProvider.builder()
        .setResource(Resource.getDefault().merge(Resource.create(
            Attributes.of(io.opentelemetry.api.common.AttributeKey.stringKey("service.name"), config.serviceName()))))
        // A client's sampling decision is kept; new traces are kept in the configured ratio.
        .setSampler(Sampler.parentBased(Sampler.traceIdRatioBased(config.sampleRatio())))
        .addSpanProcessor(BatchSpanProcessor.builder(exporter)
            .setScheduleDelay(EXPORT_DELAY_MS, TimeUnit.MILLISECONDS).build())
        .build();
    return new Tracing(provider, provider.get("dev.dockgate"));
  }

  public boolean enabled() {
    return tracer != null;
  }

  /**
   * The server span of a request that arrived at {@code arrivalNanos} (System.nanoTime), child of
   * the client's {@code traceparent} when it is valid, else the root of a new trace. {@code lineRead}: false for a
   * request whose line the codec could not read (its method, target and version are a stand-in's).
   */
  public RequestTrace start(HttpServerRequest request, boolean lineRead, String requestId, long arrivalNanos) {
    Context parent = W3C.extract(Context.root(), request.headers(), HEADERS);
    long startEpochNanos = clock.now() - (clock.nanoTime() - arrivalNanos);
    return new RequestTrace(tracer, parent, request, lineRead, requestId, startEpochNanos);
  }

  /**
   * The server span of a request refused before its head was read (Netty's 431 to an HTTP/2 header list over the
   * limit): counted like any request, so it gets its span, without a parent, method, path or version it never saw;
   * it starts and ends now, as its traffic event has no latency. Nothing when tracing is off.
   */
  public void refusedUnread(String requestId, String client, int status) {
    if (tracer != null) {
      new RequestTrace(tracer, Context.root(), null, false, requestId, clock.now()).end(status, client, null, null);
    }
  }

  /** Exports the spans still buffered and stops the exporter; blocks, so call it off the event loop. */
  public void close(long timeoutMs) {
    if (provider != null) {
      CompletableResultCode done = provider.shutdown();
      done.join(timeoutMs, TimeUnit.MILLISECONDS);
    }
  }
}
