package dev.dockgate.observability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.config.AccessLogConfig;
import dev.dockgate.events.TrafficEvent;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

class AccessLogLineTest {

  static final TrafficEvent EVENT = new TrafficEvent(1764022800123L, "req-1", "203.0.113.7", "ci", "GET", "/api/orders/7", "page=2&sort=id",
      "HTTP/2",
      "/api/orders", "orders", "orders-1", 200, 512, 1.482);
  static final TrafficEvent DEFAULT = new TrafficEvent(1764022800123L, null, "::1", null, "POST", "/nowhere", null, "HTTP/1.0",
      null, null, null, 404, 9, 0.25);

  @Test
  void jsonCarriesEveryFieldWithAnIsoTime() {
    assertEquals("{\"time\":\"2025-11-24T22:20:00.123Z\",\"timestamp\":1764022800123,\"request_id\":\"req-1\",\"client\":\"203.0.113.7\",\"consumer\":\"ci\","
        + "\"method\":\"GET\",\"path\":\"/api/orders/7\",\"query\":\"page=2&sort=id\",\"protocol\":\"HTTP/2\",\"route\":\"/api/orders\",\"backend\":\"orders\","
        + "\"instance\":\"orders-1\",\"status\":200,\"bytes\":512,\"latency_ms\":1.482}",
        AccessLogLine.format(AccessLogConfig.Format.JSON, EVENT.toJson()));
  }

  @Test
  void theJsonTimeKeepsItsMillisecondsOnAWholeSecond() {
    // Instant.toString() writes 22:20:00Z for a whole second: one line in a thousand had another width, failed
    // fixed-layout parsers (yyyy-MM-dd'T'HH:mm:ss.SSS'Z') and sorted after the lines of the same second.
    JsonObject event = new TrafficEvent(1764022800000L, "req-1", "::1", null, "GET", "/", null, "HTTP/1.1",
        null, null, null, 404, 9, 0.25).toJson();
    String line = AccessLogLine.format(AccessLogConfig.Format.JSON, event);
    assertTrue(line.startsWith("{\"time\":\"2025-11-24T22:20:00.000Z\",\"timestamp\":1764022800000,"), line);
  }

  @Test
  void combinedFormatThenTheGatewaysFields() {
    assertEquals("203.0.113.7 - - [24/Nov/2025:22:20:00 +0000] \"GET /api/orders/7?page=2&sort=id HTTP/2\" 200 512 \"-\" \"-\" "
        + "request_id=req-1 consumer=ci route=/api/orders backend=orders instance=orders-1 latency_ms=1.482",
        AccessLogLine.format(AccessLogConfig.Format.COMBINED, EVENT.toJson()));
    assertEquals("::1 - - [24/Nov/2025:22:20:00 +0000] \"POST /nowhere HTTP/1.0\" 404 9 \"-\" \"-\" "
        + "request_id=- consumer=- route=- backend=- instance=- latency_ms=0.25",
        AccessLogLine.format(AccessLogConfig.Format.COMBINED, DEFAULT.toJson()));
  }

  @Test
  void aRequestLineNotReadIsADashAndNullsInJson() {
    JsonObject unread = DEFAULT.withoutRequestLine().toJson();
    assertEquals("::1 - - [24/Nov/2025:22:20:00 +0000] \"-\" 404 9 \"-\" \"-\" "
        + "request_id=- consumer=- route=- backend=- instance=- latency_ms=0.25",
        AccessLogLine.format(AccessLogConfig.Format.COMBINED, unread));
    assertTrue(AccessLogLine.format(AccessLogConfig.Format.JSON, unread)
        .contains(",\"method\":null,\"path\":null,\"query\":null,\"protocol\":null,"));
  }

  @Test
  void aGrpcCallsStatusFollowsInBothFormats() {
    TrafficEvent call = new TrafficEvent(1764022800123L, "req-2", "::1", null, "POST", "/pkg.Orders/Get", null, "HTTP/2",
        "/pkg.Orders/", "orders", "orders-1", 200, 7, 0.5, 14);
    assertTrue(AccessLogLine.format(AccessLogConfig.Format.COMBINED, call.toJson())
        .endsWith(" instance=orders-1 latency_ms=0.5 grpc_status=14"));
    assertTrue(AccessLogLine.format(AccessLogConfig.Format.JSON, call.toJson()).endsWith(",\"latency_ms\":0.5,\"grpc_status\":14}"));
  }

  @Test
  void anAnswerCutByItsBackendEndsWithCutBackendAfterTheCombinedFields() {
    TrafficEvent cut = new TrafficEvent(1764022800123L, "req-3", "::1", null, "GET", "/big", null, "HTTP/1.1",
        "/", "svc", "svc-1", 200, 32768, 0.5, -1, true);
    assertEquals("::1 - - [24/Nov/2025:22:20:00 +0000] \"GET /big HTTP/1.1\" 200 32768 \"-\" \"-\" "
        + "request_id=req-3 consumer=- route=/ backend=svc instance=svc-1 latency_ms=0.5 cut=backend",
        AccessLogLine.format(AccessLogConfig.Format.COMBINED, cut.toJson()));
    assertTrue(AccessLogLine.format(AccessLogConfig.Format.JSON, cut.toJson()).endsWith(",\"cut\":\"backend\"}"));
  }

  @Test
  void aRetriedRequestSaysItsRetriesBeforeTheCut() {
    TrafficEvent retried = new TrafficEvent(1764022800123L, "req-4", "::1", null, "GET", "/big", null, "HTTP/1.1",
        "/", "svc", "svc-2", 200, 32768, 0.5, -1, true, 2);
    assertTrue(AccessLogLine.format(AccessLogConfig.Format.COMBINED, retried.toJson())
        .endsWith(" instance=svc-2 latency_ms=0.5 retries=2 cut=backend"));
    assertTrue(AccessLogLine.format(AccessLogConfig.Format.JSON, retried.toJson())
        .endsWith(",\"cut\":\"backend\",\"retries\":2}"));
  }

  @Test
  void theRequestLineIsEscapedAsNginxDoes() {
    TrafficEvent forged = new TrafficEvent(1764022800123L, "req-1", "::1", null, "GET", "/a\"b",
        "q=\" 200 1 \"-\" \"-\"\nx\\y\u007f\u00e9", "HTTP/1.1", null, null, null, 404, 9, 0.25);
    assertEquals("::1 - - [24/Nov/2025:22:20:00 +0000] \"GET /a\\x22b?q=\\x22 200 1 \\x22-\\x22 \\x22-\\x22\\x0Ax\\x5Cy\\x7F\\xC3\\xA9 HTTP/1.1\" "
        + "404 9 \"-\" \"-\" request_id=req-1 consumer=- route=- backend=- instance=- latency_ms=0.25",
        AccessLogLine.format(AccessLogConfig.Format.COMBINED, forged.toJson()));
    assertEquals("/plain?a=1&b=%22", AccessLogLine.escaped("/plain?a=1&b=%22"));
  }

  @Test
  void eventJsonRoundTrips() {
    JsonObject json = EVENT.toJson();
    assertEquals(EVENT, TrafficEvent.fromJson(json));
  }
}
