package dev.dockgate.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The published form of a traffic event: a read-only JSON view with the documented keys, order and values. */
class TrafficEventTest {

  static final TrafficEvent EVENT = new TrafficEvent(1764022800123L, "req-1", "127.0.0.1", "ci", "GET", "/api/orders/7",
      "page=2", "HTTP/1.1", "/api/orders", "orders", "orders-1", 503, 42L, 1.25);

  @Test
  void encodesEveryFieldInTheDocumentedOrder() {
    assertEquals("{\"timestamp\":1764022800123,\"request_id\":\"req-1\",\"client\":\"127.0.0.1\",\"consumer\":\"ci\","
        + "\"method\":\"GET\",\"path\":\"/api/orders/7\",\"query\":\"page=2\",\"protocol\":\"HTTP/1.1\",\"route\":\"/api/orders\","
        + "\"backend\":\"orders\",\"instance\":\"orders-1\",\"status\":503,\"bytes\":42,\"latency_ms\":1.25}",
        EVENT.toJson().encode());
  }

  @Test
  void nullFieldsArePresentAsNull() {
    TrafficEvent unrouted = new TrafficEvent(1L, null, null, null, "GET", "/x", null, "HTTP/2", null, null, null, 404, 0L, 0.5);
    JsonObject json = unrouted.toJson();
    assertTrue(json.containsKey("route"));
    assertNull(json.getString("route"));
    assertEquals(14, json.size());
    assertEquals(unrouted, TrafficEvent.fromJson(new JsonObject(json.encode())));
  }

  @Test
  void withoutARequestLineOnlyTheLinesFieldsAreNull() {
    TrafficEvent unread = EVENT.withoutRequestLine();
    assertEquals(new TrafficEvent(EVENT.timestamp(), "req-1", "127.0.0.1", "ci", null, null, null, null, "/api/orders",
        "orders", "orders-1", 503, 42L, 1.25), unread);
    assertEquals(unread, TrafficEvent.fromJson(new JsonObject(unread.toJson().encode())), "no protocol made up on the way");
  }

  @Test
  void gettersReadTheEventsFields() {
    JsonObject json = EVENT.toJson();
    assertEquals(503, json.getInteger("status"));
    assertEquals(42L, json.getLong("bytes"));
    assertEquals(1.25, json.getDouble("latency_ms"));
    assertEquals("orders-1", json.getString("instance"));
    assertNull(json.getValue("no_such_key"));
    assertEquals(7, json.getInteger("no_such_key", 7));
    List<String> keys = new ArrayList<>();
    json.forEach(e -> keys.add(e.getKey()));
    assertEquals(List.of(TrafficEventView.KEYS).subList(0, 14), keys, "all but grpc_status, cut and retries, which it has not");
  }

  @Test
  void aGrpcStatusComesLastAndOnlyWhenThereIsOne() {
    TrafficEvent call = new TrafficEvent(1L, "r", "::1", null, "POST", "/pkg.Svc/Get", null, "HTTP/2", "/pkg.Svc/",
        "svc", "svc-1", 200, 9L, 0.5, 5);
    JsonObject json = call.toJson();
    assertEquals(15, json.size());
    assertEquals(5, json.getInteger("grpc_status"));
    assertTrue(json.encode().endsWith(",\"latency_ms\":0.5,\"grpc_status\":5}"), json.encode());
    assertEquals(call, TrafficEvent.fromJson(new JsonObject(json.encode())));
    assertEquals(call, TrafficEvent.of(new JsonObject(json.encode())));
    JsonObject plain = EVENT.toJson();
    assertTrue(!plain.containsKey("grpc_status") && plain.getValue("grpc_status") == null);
    assertEquals(-1, TrafficEvent.fromJson(new JsonObject(plain.encode())).grpcStatus());
  }

  @Test
  void aCutByItsBackendComesLastAndOnlyThenAndIsNoSuccess() {
    TrafficEvent cut = new TrafficEvent(1L, "r", "::1", null, "GET", "/big", null, "HTTP/1.1", "/", "svc", "svc-1", 200,
        32768L, 0.5, -1, true);
    JsonObject json = cut.toJson();
    assertEquals(15, json.size());
    assertEquals("backend", json.getString("cut"));
    assertTrue(json.encode().endsWith(",\"status\":200,\"bytes\":32768,\"latency_ms\":0.5,\"cut\":\"backend\"}"),
        json.encode());
    assertEquals(cut, TrafficEvent.fromJson(new JsonObject(json.encode())));
    assertFalse(cut.success(), "a 200 its backend cut is an error");
    TrafficEvent call = new TrafficEvent(1L, "r", "::1", null, "POST", "/s/M", null, "HTTP/2", "/s", "svc", "svc-1", 200,
        9L, 0.5, 13, true);
    assertEquals(16, call.toJson().size());
    assertTrue(call.toJson().encode().endsWith(",\"grpc_status\":13,\"cut\":\"backend\"}"), call.toJson().encode());
    List<String> keys = new ArrayList<>();
    call.toJson().forEach(e -> keys.add(e.getKey()));
    assertEquals(List.of(TrafficEventView.KEYS).subList(0, 16), keys, "all but retries");
    assertTrue(!EVENT.toJson().containsKey("cut") && EVENT.toJson().getValue("cut") == null);
    assertTrue(!EVENT.toJson().containsKey("retries") && EVENT.toJson().getValue("retries") == null);
    TrafficEvent retried = new TrafficEvent(1L, "r", "::1", null, "GET", "/x", null, "HTTP/1.1", "/", "svc", "svc-2", 200,
        5L, 0.5, -1, false, 2);
    assertEquals(2, retried.toJson().getInteger("retries"));
    assertEquals(retried, TrafficEvent.fromJson(new JsonObject(retried.toJson().encode())));
    List<String> all = new ArrayList<>();
    new TrafficEvent(1L, "r", "::1", null, "POST", "/s/M", null, "HTTP/2", "/s", "svc", "svc-1", 200, 9L, 0.5, 13, true, 1)
        .toJson().forEach(e -> all.add(e.getKey()));
    assertEquals(List.of(TrafficEventView.KEYS), all, "every key, in the documented order");
    assertFalse(TrafficEvent.fromJson(new JsonObject(EVENT.toJson().encode())).cut());
  }

  @Test
  void isReadOnlyAndItsCopiesAreWritableAndEqual() {
    JsonObject json = EVENT.toJson();
    assertThrows(UnsupportedOperationException.class, () -> json.put("status", 200));
    JsonObject copy = json.copy();
    assertEquals(json, copy);
    assertEquals(json, new JsonObject(json.encode()));
    assertEquals("slow_request", copy.put("type", "slow_request").getString("type"));
  }

  @Test
  void ofGivesThePublishedEventItselfAndParsesOthers() {
    assertSame(EVENT, TrafficEvent.of(EVENT.toJson()));
    JsonObject fromAnotherNode = new JsonObject(EVENT.toJson().encode());
    assertEquals(EVENT, TrafficEvent.of(fromAnotherNode));
    assertNull(TrafficEvent.of(new JsonObject(Map.of("latency_ms", 1.0))), "no status: not a traffic event");
    assertNull(TrafficEvent.of(new JsonObject(Map.of("status", 200))), "no latency: not a traffic event");
  }

  @Test
  void aGrpcCallSucceedsByItsGrpcStatusAnyOtherRequestByItsHttpStatus() {
    TrafficEvent ok = new TrafficEvent(1L, "r", "c", null, "POST", "/s/M", null, "HTTP/2", "/s", "b", "i", 200, 5L, 1.0, 0);
    TrafficEvent notFound = new TrafficEvent(1L, "r", "c", null, "POST", "/s/M", null, "HTTP/2", "/s", "b", "i", 200, 0L,
        1.0, 5);
    TrafficEvent gatewayUnavailable = new TrafficEvent(1L, "r", "c", null, "POST", "/s/M", null, "HTTP/2", "/s", "b",
        null, 503, 0L, 1.0, 14);
    assertTrue(ok.success());
    assertFalse(notFound.success(), "NOT_FOUND in an HTTP 200 answer is no success");
    assertFalse(gatewayUnavailable.success());
    assertFalse(EVENT.success(), "a 503 without gRPC");
    assertTrue(new TrafficEvent(1L, "r", "c", null, "GET", "/", null, "HTTP/1.1", null, null, null, 304, 0L, 1.0)
        .success());
  }
}
