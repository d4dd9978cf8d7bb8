package dev.dockgate.observability;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

class SlowRequestAlerterTest {

  private static JsonObject event(String method, String path) {
    JsonObject event = new JsonObject().put("backend", "app").put("instance", "127.0.0.1:8080").put("request_id", "r1");
    if (method != null) {
      event.put("method", method).put("path", path);
    }
    return event;
  }

  @Test
  void theWarningNamesTheRequestLine() {
    assertEquals("slow request: GET /app/x took 250.5 ms (threshold 200 ms), backend app, instance 127.0.0.1:8080,"
        + " request id r1", SlowRequestAlerter.warning(event("GET", "/app/x"), 250.5, 200));
  }

  @Test
  void whatTheEventLacksIsADashAsInTheAccessLog() {
    assertEquals("slow request: - took 250.5 ms (threshold 200 ms), backend -, instance -, request id r1",
        SlowRequestAlerter.warning(event(null, null).put("backend", (String) null).put("instance", (String) null),
            250.5, 200));
  }
}
