package dev.dockgate.discovery.consul;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Entries of /v1/health/service/:service in the shape Consul's documentation gives, reduced to what routing needs. */
class ConsulEntryTest {

  static JsonObject entry(String node, String nodeAddress, String id, String address, int port, String... statuses) {
    JsonArray checks = new JsonArray().add(new JsonObject().put("Node", node).put("CheckID", "serfHealth")
        .put("Status", "passing").put("ServiceID", ""));
    for (int i = 0; i < statuses.length; i++) {
      checks.add(new JsonObject().put("Node", node).put("CheckID", "service:" + id + ":" + i).put("Status", statuses[i])
          .put("ServiceID", id));
    }
    return new JsonObject()
        .put("Node", new JsonObject().put("ID", "40e4a748").put("Node", node).put("Address", nodeAddress)
            .put("Datacenter", "dc1"))
        .put("Service", new JsonObject().put("ID", id).put("Service", "redis").put("Tags", new JsonArray().add("primary"))
            .put("Address", address).put("Port", port))
        .put("Checks", checks);
  }

  @Test
  void addressFallsBackToTheNodeAndUnusableEntriesAreNamed() {
    JsonArray answer = new JsonArray()
        .add(entry("foobar", "10.1.10.12", "redis", "10.1.10.99", 8000, "passing"))
        .add(entry("other", "10.1.10.13", "redis-2", "", 8001, "passing"))
        .add(entry("third", "10.1.10.14", "redis-3", "", 8002, "passing", "warning"))
        .add(entry("fourth", "", "redis-4", "", 8003))
        .add(entry("fifth", "10.1.10.15", "redis-5", "", 0))
        .add("not an entry");
    List<ConsulEntry.Unusable> unusable = new ArrayList<>();
    List<ConsulEntry> entries = ConsulEntry.parse(answer, unusable);
    assertEquals(List.of(
        new ConsulEntry("foobar", "redis", "redis", "10.1.10.99", 8000, List.of("primary")),
        new ConsulEntry("other", "redis-2", "redis", "10.1.10.13", 8001, List.of("primary"))), entries);
    assertEquals("consul:other/redis-2", entries.get(1).id());
    assertEquals(List.of(
        new ConsulEntry.Unusable("redis redis-3 on node third", "check service:redis-3:1 (warning) is not passing"),
        new ConsulEntry.Unusable("redis redis-4 on node fourth", "neither Service.Address nor Node.Address is set"),
        new ConsulEntry.Unusable("redis redis-5 on node fifth", "Service.Port 0 is not a port"),
        new ConsulEntry.Unusable("not an entry", "not an object")), unusable);
  }
}
