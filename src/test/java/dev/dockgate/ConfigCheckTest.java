package dev.dockgate;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.dockgate.config.ConfigLoader;
import dev.dockgate.config.GatewayConfig;
import io.vertx.core.json.JsonObject;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What {@code -t} prints for a valid config: where each value not written in the file came from. */
class ConfigCheckTest {

  private static final GatewayConfig CONFIG = Features.parse("conf.yml", new JsonObject());

  @Test
  void theCommandLinesInstancesAreNamedAsTheirOrigin() {
    // -instances N wins over the file, DOCKGATE_SERVER_INSTANCES and dockgate.server.instances: -t says so.
    ConfigLoader.Loaded loaded = new ConfigLoader.Loaded(CONFIG, Map.of(
        "server.instances", "environment variable DOCKGATE_SERVER_INSTANCES"));
    assertEquals("""
        conf.yml: ok (0 route(s), 0 backend(s))
        values not written in the file (every other one is, or is its default):
          server.instances: command line -instances (over environment variable DOCKGATE_SERVER_INSTANCES)""",
        ConfigCheck.report("conf.yml", loaded, 1));
    assertEquals("""
        conf.yml: ok (0 route(s), 0 backend(s))
        values not written in the file (every other one is, or is its default):
          server.instances: command line -instances""",
        ConfigCheck.report("conf.yml", new ConfigLoader.Loaded(CONFIG, Map.of()), 2));
    assertEquals("""
        conf.yml: ok (0 route(s), 0 backend(s))
        every value as written in the file, or its default""",
        ConfigCheck.report("conf.yml", new ConfigLoader.Loaded(CONFIG, Map.of()), null));
  }
}
