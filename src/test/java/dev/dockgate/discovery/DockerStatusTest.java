package dev.dockgate.discovery;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The combined status of the engines: readiness while one is followed, the state of one or of several. */
class DockerStatusTest {

  static JsonObject engine(String name, String state, int instances) {
    return new JsonObject().put("name", name).put("engine", "tcp://" + name + ":2376").put("tls", true)
        .put("connected", state.equals("connected")).put("state", state).put("instances", instances)
        .put("last_error", state.equals("connected") ? null : "Connection refused");
  }

  static Stream<Arguments> cases() {
    return Stream.of(
        // engines, connected, ready, state, instances
        Arguments.of(List.of(engine("a", "connected", 2)), true, true, "connected", 2),
        Arguments.of(List.of(engine("a", "connecting", 0)), false, false, "connecting", 0),
        Arguments.of(List.of(engine("a", "waiting", 3)), false, false, "waiting", 3),
        Arguments.of(List.of(engine("a", "connected", 2), engine("b", "connected", 1)), true, true, "connected", 3),
        Arguments.of(List.of(engine("a", "connected", 2), engine("b", "waiting", 1)), false, true, "degraded", 3),
        Arguments.of(List.of(engine("a", "connecting", 0), engine("b", "waiting", 1)), false, false, "waiting", 1));
  }

  @ParameterizedTest
  @MethodSource("cases")
  void combinesTheEngines(List<JsonObject> engines, boolean connected, boolean ready, String state, int instances) {
    JsonObject status = DockerStatus.combine(engines);
    assertEquals(true, status.getBoolean("enabled"));
    assertEquals(connected, status.getBoolean("connected"), status.encode());
    assertEquals(ready, status.getBoolean("ready"), status.encode());
    assertEquals(state, status.getString("state"), status.encode());
    assertEquals(instances, status.getInteger("instances"), status.encode());
    assertEquals(new JsonArray(engines), status.getJsonArray("engines"));
    assertEquals(String.join(", ", engines.stream().map(e -> e.getString("engine")).toList()), status.getString("engine"));
  }
}
