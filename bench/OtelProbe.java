import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import io.vertx.core.*;
import io.vertx.core.json.JsonObject;
import io.vertx.tracing.opentelemetry.OpenTelemetryOptions;
import io.vertx.tracing.opentelemetry.OpenTelemetryTracingFactory;
import java.net.URI;
import java.net.http.*;
import java.nio.file.*;
import java.util.*;
import java.util.concurrent.*;

/**
 * What vertx-opentelemetry (Vert.x's own HTTP server and client tracing) would make of the gateway's
 * request path: the gateway (tracing: off) on a Vert.x with that tracer, an in-memory exporter, and per
 * kind of request the spans made and the traceparent the backend saw. Run by bench/otel-probe.sh.
 */
public class OtelProbe {
  static final List<SpanData> spans = new CopyOnWriteArrayList<>();
  static final BlockingQueue<String> seen = new LinkedBlockingQueue<>();

  public static void main(String[] a) throws Exception {
    SpanExporter exporter = new SpanExporter() {
      public CompletableResultCode export(Collection<SpanData> s) { spans.addAll(s); return CompletableResultCode.ofSuccess(); }
      public CompletableResultCode flush() { return CompletableResultCode.ofSuccess(); }
      public CompletableResultCode shutdown() { return CompletableResultCode.ofSuccess(); }
    };
    OpenTelemetrySdk otel = OpenTelemetrySdk.builder()
        .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(exporter)).build())
        .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance())).build();
    Vertx plain = Vertx.vertx();
    int backend = plain.createHttpServer().webSocketHandshakeHandler(h -> { seen.add("ws " + h.headers().get("traceparent")); h.accept(); })
        .webSocketHandler(ws -> ws.writeTextMessage("hi"))
        .requestHandler(r -> { seen.add(r.method() + " " + r.path() + " traceparent=" + r.getHeader("traceparent")); r.response().end("ok"); })
        .listen(0, "127.0.0.1").await().actualPort();
    int port = free(), admin = free(), closed = free();
    Path conf = Files.createTempFile("gw", ".yml");
    Files.writeString(conf, "server: {host: 127.0.0.1, port: " + port + ", admin_listener: {port: " + admin + "}}\n"
        + "docker: {enabled: false}\nroutes:\n  - {path_prefix: /app, backend: app}\n  - {path_prefix: /down, backend: gone}\n"
        + "backends:\n  - {name: app, targets: [\"http://127.0.0.1:" + backend + "\"]}\n  - {name: gone, targets: [\"http://127.0.0.1:" + closed + "\"]}\n");
    Vertx traced = Vertx.builder().with(new VertxOptions().setTracingOptions(new OpenTelemetryOptions())).withTracer(new OpenTelemetryTracingFactory(otel)).build();
    traced.deployVerticle(new dev.dockgate.MainVerticle(), new DeploymentOptions().setConfig(new JsonObject()
        .put("config_path", conf.toString()).put("instances", 1))).await();
    HttpClient http = HttpClient.newHttpClient();
    for (String path : new String[] {"/app/x", "/down/x", "/stats", "/nowhere"}) {
      spans.clear();
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(), HttpResponse.BodyHandlers.ofString());
      Thread.sleep(500);
      report("GET " + path + " -> " + r.statusCode());
    }
    spans.clear();
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
    Thread.sleep(500);
    report("admin GET /metrics -> " + r.statusCode());
    spans.clear();
    CompletableFuture<String> msg = new CompletableFuture<>();
    WebSocket ws = http.newWebSocketBuilder().buildAsync(URI.create("ws://127.0.0.1:" + port + "/app/ws"), new WebSocket.Listener() {
      public CompletionStage<?> onText(WebSocket w, CharSequence d, boolean last) { msg.complete(d.toString()); return null; }
    }).get(5, TimeUnit.SECONDS);
    msg.get(5, TimeUnit.SECONDS);
    ws.sendClose(1000, "").get(5, TimeUnit.SECONDS);
    Thread.sleep(800);
    report("WebSocket /app/ws");
    System.exit(0);
  }

  static void report(String what) {
    System.out.println("== " + what);
    String s;
    while ((s = seen.poll()) != null) System.out.println("  backend saw: " + s);
    for (SpanData d : spans) System.out.println("  span " + d.getKind() + " '" + d.getName() + "' trace=" + d.getTraceId().substring(0, 8)
        + " parent=" + (d.getParentSpanContext().isValid() ? d.getParentSpanId().substring(0, 8) : "-") + " id=" + d.getSpanId().substring(0, 8)
        + " attrs=" + d.getAttributes().asMap().keySet());
  }

  static int free() throws Exception { try (var s = new java.net.ServerSocket(0)) { return s.getLocalPort(); } }
}
