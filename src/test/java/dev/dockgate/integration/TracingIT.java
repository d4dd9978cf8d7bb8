package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.Backends;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.Ports;
import dev.dockgate.testing.RawHttp;
import dev.dockgate.testing.RawHttp2;
import dev.dockgate.testing.TestBackend;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.opentelemetry.proto.trace.v1.Status;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tracing against an OTLP/HTTP receiver the test runs (POST /v1/traces, protobuf decoded with the
 * OpenTelemetry proto classes): the server and client spans of a request, their attributes, the
 * traceparent the backend got, a client's trace continued, a malformed one replaced; and with
 * tracing off, trace headers pass through untouched and none is added.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class TracingIT {

  static final String CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
  static final String CLIENT_PARENT = "00f067aa0ba902b7";

  @RegisterExtension
  static final Backends backends = new Backends();
  static TestBackend backend;
  static final Vertx vertx = Vertx.vertx();
  static HttpServer receiver;
  /** Every span the receiver got, with the service.name of its resource. */
  static final List<Span> spans = new CopyOnWriteArrayList<>();
  static final Map<String, String> serviceOf = new ConcurrentHashMap<>();
  static volatile String contentType;

  @TempDir
  Path dir;

  @BeforeAll
  static void start() throws Exception {
    backend = backends.start("traced");
    receiver = vertx.createHttpServer()
        .requestHandler(req -> {
          if (!req.method().name().equals("POST") || !req.path().equals("/v1/traces")) {
            req.response().setStatusCode(404).end();
            return;
          }
          contentType = req.getHeader("content-type");
          req.body().onSuccess(body -> {
            try {
              record(ExportTraceServiceRequest.parseFrom(body.getBytes()));
              req.response().putHeader("content-type", "application/x-protobuf")
                  .end(Buffer.buffer(ExportTraceServiceResponse.getDefaultInstance().toByteArray()));
            } catch (Exception e) {
              req.response().setStatusCode(400).end(e.toString());
            }
          });
        })
        .listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  static void record(ExportTraceServiceRequest request) {
    for (ResourceSpans resource : request.getResourceSpansList()) {
      String service = attribute(resource.getResource(), "service.name");
      for (ScopeSpans scope : resource.getScopeSpansList()) {
        for (Span span : scope.getSpansList()) {
          serviceOf.put(hex(span.getSpanId().toByteArray()), service);
          spans.add(span);
        }
      }
    }
  }

  @AfterAll
  static void stop() {
    vertx.close();
  }

  @BeforeEach
  void clear() {
    backend.clear();
  }

  GatewayHarness gateway(String tracing) {
    int closed = Ports.free(); // nothing listens here: a refused try
    return new GatewayHarness(dir, """
        docker: {enabled: false}
        %s
        routes:
          - {path_prefix: /traced, backend: app}
          - {path_prefix: /down, backend: gone}
        backends:
          - {name: app, targets: ["http://127.0.0.1:%d"]}
          - {name: gone, targets: ["http://127.0.0.1:%d"]}
        """.formatted(tracing, backend.port(), closed), 1);
  }

  GatewayHarness traced() {
    return gateway("tracing: {enabled: true, endpoint: \"http://127.0.0.1:%d/v1/traces\", service_name: gw-under-test}"
        .formatted(receiver.actualPort()));
  }

  HttpResponse<String> get(GatewayHarness gw, String path, String... headers) {
    HttpRequest.Builder request = HttpRequest.newBuilder(gw.uri(path)).timeout(Duration.ofSeconds(10));
    for (int i = 0; i < headers.length; i += 2) {
      request.header(headers[i], headers[i + 1]);
    }
    return gw.send(request.build());
  }

  /** The trace's spans once both the server span and {@code clients} client spans arrived. */
  static List<Span> trace(String traceId, int clients) {
    Poll.until(Duration.ofSeconds(15), "server span and " + clients + " client span(s) of trace " + traceId,
        () -> ofTrace(traceId, Span.SpanKind.SPAN_KIND_SERVER).size() == 1
            && ofTrace(traceId, Span.SpanKind.SPAN_KIND_CLIENT).size() == clients);
    return spans.stream().filter(s -> hex(s.getTraceId().toByteArray()).equals(traceId)).toList();
  }

  static List<Span> ofTrace(String traceId, Span.SpanKind kind) {
    return spans.stream()
        .filter(s -> s.getKind() == kind && hex(s.getTraceId().toByteArray()).equals(traceId)).toList();
  }

  static Span only(List<Span> trace, Span.SpanKind kind) {
    List<Span> found = trace.stream().filter(s -> s.getKind() == kind).toList();
    assertEquals(1, found.size(), kind + " spans: " + found);
    return found.get(0);
  }

  /** A W3C traceparent's parts: version, trace id, parent id, flags. */
  static String[] parts(String traceparent) {
    assertTrue(traceparent != null && traceparent.matches("00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}"),
        "not a traceparent: " + traceparent);
    return traceparent.split("-");
  }

  @Test
  void aRequestGetsAServerSpanAndAClientSpanPerTryAndTheBackendItsTraceparent() {
    try (GatewayHarness gw = traced()) {
      HttpResponse<String> response = get(gw, "/traced/orders?id=7");
      assertEquals(200, response.statusCode());
      String requestId = response.headers().firstValue("x-request-id").orElseThrow();
      TestBackend.Received got = backend.take();
      String[] sent = parts(got.headers().get("traceparent"));
      assertEquals(1, Integer.parseInt(sent[3], 16) & 1, "a new trace is sampled at sample_ratio 1: " + sent[3]);

      List<Span> trace = trace(sent[1], 1);
      Span server = only(trace, Span.SpanKind.SPAN_KIND_SERVER);
      Span client = only(trace, Span.SpanKind.SPAN_KIND_CLIENT);
      assertTrue(server.getParentSpanId().isEmpty(), "no traceparent from the client: the server span is a root");
      assertEquals(hex(server.getSpanId().toByteArray()), hex(client.getParentSpanId().toByteArray()));
      assertEquals(hex(client.getSpanId().toByteArray()), sent[2], "the backend's parent is the client span");
      assertEquals("gw-under-test", serviceOf.get(hex(server.getSpanId().toByteArray())));

      assertEquals("GET /traced", server.getName());
      assertEquals("/traced", attribute(server, "http.route"));
      assertEquals("GET", attribute(server, "http.request.method"));
      assertEquals("/traced/orders", attribute(server, "url.path"));
      assertEquals("200", attribute(server, "http.response.status_code"));
      assertEquals(requestId, attribute(server, "gateway.request_id"));
      assertEquals("app", attribute(server, "gateway.backend"));
      assertEquals(Status.StatusCode.STATUS_CODE_UNSET, server.getStatus().getCode());

      String instance = "127.0.0.1:" + backend.port();
      assertEquals(instance, attribute(client, "gateway.instance"));
      assertEquals("127.0.0.1", attribute(client, "server.address"));
      assertEquals(String.valueOf(backend.port()), attribute(client, "server.port"));
      assertEquals("200", attribute(client, "http.response.status_code"));
      assertNull(attribute(client, "error.type"));
      // the server span covers the try
      assertTrue(server.getStartTimeUnixNano() <= client.getStartTimeUnixNano(), "client span starts within the server span");
      assertTrue(server.getEndTimeUnixNano() >= client.getEndTimeUnixNano(), "client span ends within the server span");
      assertEquals("application/x-protobuf", contentType);
    }
  }

  @Test
  void aClientsTraceIsContinuedAndAMalformedOneReplaced() {
    try (GatewayHarness gw = traced()) {
      String given = "00-" + CLIENT_TRACE + "-" + CLIENT_PARENT + "-01";
      assertEquals(200, get(gw, "/traced/a", "traceparent", given, "tracestate", "vendor=opaque").statusCode());
      TestBackend.Received got = backend.take();
      String[] sent = parts(got.headers().get("traceparent"));
      assertEquals(CLIENT_TRACE, sent[1], "same trace as the client's");
      assertNotEquals(CLIENT_PARENT, sent[2], "the gateway's client span is the backend's parent");
      assertEquals("vendor=opaque", got.headers().get("tracestate"));
      List<Span> trace = trace(CLIENT_TRACE, 1);
      Span server = only(trace, Span.SpanKind.SPAN_KIND_SERVER);
      Span client = only(trace, Span.SpanKind.SPAN_KIND_CLIENT);
      assertEquals(CLIENT_PARENT, hex(server.getParentSpanId().toByteArray()));
      assertEquals(hex(client.getSpanId().toByteArray()), sent[2]);

      // An invalid trace id (all zeros is forbidden) and a garbled header: both replaced by a new trace.
      for (String malformed : new String[] {"00-00000000000000000000000000000000-" + CLIENT_PARENT + "-01",
          "00-" + CLIENT_TRACE + "-0000000000000000-01", "ff-" + CLIENT_TRACE + "-" + CLIENT_PARENT + "-01",
          "00-not-a-trace-at-all", "zz-" + CLIENT_TRACE + "-" + CLIENT_PARENT + "-01"}) {
        backend.clear();
        assertEquals(200, get(gw, "/traced/b", "traceparent", malformed, "tracestate", "vendor=stale").statusCode());
        TestBackend.Received replaced = backend.take();
        String[] fresh = parts(replaced.headers().get("traceparent"));
        assertNotEquals(CLIENT_TRACE, fresh[1]);
        assertNotEquals("00000000000000000000000000000000", fresh[1]);
        assertNull(replaced.headers().get("tracestate"), "the state of a trace the gateway did not continue is dropped");
        Span root = only(trace(fresh[1], 1), Span.SpanKind.SPAN_KIND_SERVER);
        assertTrue(root.getParentSpanId().isEmpty(), malformed + ": the server span starts a new trace");
      }
    }
  }

  @Test
  void aWebSocketUpgradeCarriesTheTryTraceparent() {
    try (GatewayHarness gw = traced()) {
      // The test backend answers an upgrade with a plain 200: the gateway relays that refusal.
      String upgrade = "GET /traced/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
      RawHttp.Exchange answer = RawHttp.exchange(gw.port(), upgrade.getBytes(StandardCharsets.ISO_8859_1), 1, 500, 10_000);
      assertEquals(200, answer.status(), answer.raw());
      String[] sent = parts(backend.take().headers().get("traceparent"));
      List<Span> trace = trace(sent[1], 1);
      Span server = only(trace, Span.SpanKind.SPAN_KIND_SERVER);
      Span client = only(trace, Span.SpanKind.SPAN_KIND_CLIENT);
      assertEquals(hex(server.getSpanId().toByteArray()), hex(client.getParentSpanId().toByteArray()));
      assertEquals(hex(client.getSpanId().toByteArray()), sent[2]);
      assertEquals("200", attribute(client, "http.response.status_code"));
    }
  }

  /**
   * A head whose request line the codec could not read gets a server span without a method, path or version it never
   * saw: named {@code HTTP}, method {@code _OTHER}. Before, it bore Vert.x's stand-in, {@code GET /bad-request}.
   */
  @Test
  void aRequestLineTheCodecCouldNotReadGetsASpanWithoutOne() {
    try (GatewayHarness gw = traced()) {
      RawHttp.Exchange got = RawHttp.exchange(gw.port(), "GET /traced/a#f HTTP/1.1\r\nHost: a\r\n\r\n"
          .getBytes(StandardCharsets.ISO_8859_1), 1, 300, 5_000);
      assertEquals(400, got.status(), got.raw());
      String requestId = AccessLogIT.requestId(got);
      unreadSpan(requestId, "400");
    }
  }

  /** The one server span of request {@code requestId}, whose head was not read: no method, path or version. */
  static Span unreadSpan(String requestId, String status) {
    Poll.until(Duration.ofSeconds(15), "a server span for the refused request " + requestId, () -> spans.stream()
        .anyMatch(s -> requestId.equals(attribute(s, "gateway.request_id"))));
    List<Span> found = spans.stream().filter(s -> requestId.equals(attribute(s, "gateway.request_id"))).toList();
    assertEquals(1, found.size(), "one span: " + found);
    Span server = found.get(0);
    assertEquals(Span.SpanKind.SPAN_KIND_SERVER, server.getKind());
    assertEquals("HTTP", server.getName());
    assertEquals("_OTHER", attribute(server, "http.request.method"));
    assertNull(attribute(server, "url.path"));
    assertNull(attribute(server, "network.protocol.version"));
    assertEquals(status, attribute(server, "http.response.status_code"));
    return server;
  }

  /**
   * Netty's 431 to an HTTP/2 header list over {@code max_header_bytes}, answered before a request exists, is counted
   * (a traffic event, /stats, the access log): it gets its server span too, without the head it never read (named
   * {@code HTTP}, method {@code _OTHER}), with the event's request id and status, as every counted request does.
   * Before, it had none: the traces held one request less than the other accounts.
   */
  @Test
  void anHttp2HeaderListOverTheLimitGetsAServerSpanAsItIsCounted() throws Exception {
    Path log = dir.resolve("access.json");
    try (GatewayHarness gw = new GatewayHarness(dir, "  h2c: true\n  max_header_bytes: 2048\n", """
        docker: {enabled: false}
        tracing: {enabled: true, endpoint: "http://127.0.0.1:%d/v1/traces"}
        access_log: {enabled: true, format: json, path: "%s"}
        routes:
          - {path_prefix: /traced, backend: app}
        backends:
          - {name: app, targets: ["http://127.0.0.1:%d"]}
        """.formatted(receiver.actualPort(), log, backend.port()), 1);
        Http2FloodIT.Connection c = new Http2FloodIT.Connection(gw.port(), new byte[0])) {
      java.io.ByteArrayOutputStream head = new java.io.ByteArrayOutputStream();
      head.write(RawHttp2.headers("GET", "/traced/big"));
      head.write(RawHttp2.literal("x-big", "a".repeat(2100))); // over 2048, under Netty's GOAWAY size (2560)
      java.io.ByteArrayOutputStream msg = new java.io.ByteArrayOutputStream();
      RawHttp2.frame(msg, RawHttp2.HEADERS, 0x5, 1, head.toByteArray());
      c.send(msg);
      Poll.until(Duration.ofSeconds(5), "the 431 logged", () -> Http2FloodIT.lines(log).size() == 1);
      io.vertx.core.json.JsonObject line = new io.vertx.core.json.JsonObject(Http2FloodIT.lines(log).get(0));
      assertEquals(431, line.getInteger("status"), line.encode());
      Poll.until(Duration.ofSeconds(5), "counted once: " + gw.stats(), () -> gw.statsTotal() == 1);
      String requestId = line.getString("request_id");
      Span server = unreadSpan(requestId, "431");
      assertNull(attribute(server, "http.route"));
      assertEquals("127.0.0.1", attribute(server, "client.address"));
      assertTrue(server.getParentSpanId().isEmpty(), "no head read, no traceparent: a root span");
    }
  }

  @Test
  void anUnsampledNewTraceIsStillPropagated() {
    try (GatewayHarness gw = gateway("tracing: {enabled: true, endpoint: \"http://127.0.0.1:%d/v1/traces\", sample_ratio: 0}"
        .formatted(receiver.actualPort()))) {
      assertEquals(200, get(gw, "/traced/unsampled").statusCode());
      String[] sent = parts(backend.take().headers().get("traceparent"));
      assertEquals(0, Integer.parseInt(sent[3], 16) & 1, "sample_ratio 0: not sampled, flags " + sent[3]);
    }
  }

  @Test
  void aFailedTryIsAnErrorClientSpanAndTheRequestsStatusIsOnTheServerSpan() {
    try (GatewayHarness gw = traced()) {
      long before = spans.size();
      assertEquals(503, get(gw, "/down/x").statusCode());
      Poll.until(Duration.ofSeconds(15), "spans of the refused request", () -> spans.stream().skip(before)
          .anyMatch(s -> s.getKind() == Span.SpanKind.SPAN_KIND_SERVER && "/down".equals(attribute(s, "http.route"))));
      Span server = spans.stream().skip(before)
          .filter(s -> s.getKind() == Span.SpanKind.SPAN_KIND_SERVER && "/down".equals(attribute(s, "http.route")))
          .findFirst().orElseThrow();
      List<Span> trace = trace(hex(server.getTraceId().toByteArray()), 1);
      Span client = only(trace, Span.SpanKind.SPAN_KIND_CLIENT);
      assertEquals("503", attribute(server, "http.response.status_code"));
      assertEquals(Status.StatusCode.STATUS_CODE_ERROR, server.getStatus().getCode());
      assertEquals("Refused", attribute(client, "error.type"));
      assertEquals(Status.StatusCode.STATUS_CODE_ERROR, client.getStatus().getCode());
      assertFalse(client.getStatus().getMessage().isEmpty());
      assertNull(attribute(client, "http.response.status_code"));
    }
  }

  @Test
  void withTracingOffTraceHeadersPassThroughAndNoneIsAdded() {
    try (GatewayHarness gw = gateway("")) {
      assertEquals(200, get(gw, "/traced/plain").statusCode());
      TestBackend.Received plain = backend.take();
      assertNull(plain.headers().get("traceparent"));
      assertNull(plain.headers().get("tracestate"));

      String given = "00-" + CLIENT_TRACE + "-" + CLIENT_PARENT + "-01";
      assertEquals(200, get(gw, "/traced/given", "traceparent", given, "tracestate", "vendor=opaque").statusCode());
      TestBackend.Received passed = backend.take();
      assertEquals(given, passed.headers().get("traceparent"));
      assertEquals("vendor=opaque", passed.headers().get("tracestate"));

      String malformed = "00-not-a-trace-at-all";
      assertEquals(200, get(gw, "/traced/odd", "traceparent", malformed).statusCode());
      assertEquals(malformed, backend.take().headers().get("traceparent"), "off: even a malformed one is not touched");
    }
  }

  static String hex(byte[] bytes) {
    return HexFormat.of().formatHex(bytes);
  }

  static String attribute(Span span, String key) {
    return value(span.getAttributesList(), key);
  }

  static String attribute(Resource resource, String key) {
    return value(resource.getAttributesList(), key);
  }

  private static String value(List<KeyValue> attributes, String key) {
    for (KeyValue kv : attributes) {
      if (kv.getKey().equals(key)) {
        AnyValue v = kv.getValue();
        return v.hasIntValue() ? String.valueOf(v.getIntValue()) : v.getStringValue();
      }
    }
    return null;
  }
}
