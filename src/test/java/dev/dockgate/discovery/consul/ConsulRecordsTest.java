package dev.dockgate.discovery.consul;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.dockgate.config.BackendConfig;
import dev.dockgate.config.CircuitBreakerConfig;
import dev.dockgate.config.ConsulService;
import dev.dockgate.config.LabelSelector;
import dev.dockgate.config.LoadBalancer;
import dev.dockgate.config.Target;
import dev.dockgate.discovery.BackendInstances;
import dev.dockgate.discovery.ContainerRecords;
import dev.dockgate.discovery.Instance;
import io.vertx.core.json.JsonObject;
import io.vertx.servicediscovery.Record;
import io.vertx.servicediscovery.types.HttpEndpoint;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Consul instances in the snapshot: selected by the query that found them, together with containers and targets. */
class ConsulRecordsTest {

  static final String CONTAINER_ID = "19a623c437c03256671e3608208149b73980be307ca805762513296c4121bde4";

  static final ConsulEntry ORDERS_1 = new ConsulEntry("node-a", "orders-1", "orders", "10.0.0.1", 8001, List.of("v2"));
  static final ConsulEntry ORDERS_2 = new ConsulEntry("node-b", "orders-2", "orders", "10.0.0.2", 8002, List.of());

  static Record container(String app) {
    JsonObject metadata = new JsonObject().put("app_name", app)
        .put(ContainerRecords.ID_KEY, CONTAINER_ID).put(ContainerRecords.NAME_KEY, "orders-c")
        .put(ContainerRecords.SOURCE_KEY, ContainerRecords.SOURCE_DOCKER);
    return HttpEndpoint.createRecord("orders-c", "127.0.0.1", 18081, "/", metadata);
  }

  static BackendConfig backend(String name, Map<String, String> labels, List<Target> targets, ConsulService consul) {
    return new BackendConfig(name, new LabelSelector(labels), targets, LoadBalancer.RANDOM, CircuitBreakerConfig.DEFAULTS,
        BackendConfig.DEFAULT_CONNECT_TIMEOUT_MS, BackendConfig.DEFAULT_MAX_CONNECTIONS, null,
        BackendConfig.UpstreamTls.DEFAULT, 1, 1_000, null, consul);
  }

  @Test
  void aBackendsInstancesAreTheUnionOfItsSources() {
    ConsulService all = new ConsulService("orders", List.of());
    ConsulService v2 = new ConsulService("orders", List.of("v2"));
    List<Record> records = List.of(container("orders"),
        ConsulImporter.toRecord(all.key(), ORDERS_1), ConsulImporter.toRecord(all.key(), ORDERS_2),
        ConsulImporter.toRecord(v2.key(), ORDERS_1));
    BackendInstances snapshot = BackendInstances.from(records, List.of(
        backend("mixed", Map.of("app_name", "orders"), List.of(new Target("127.0.0.1", 9000)), all),
        backend("v2", Map.of(), List.of(), v2),
        backend("docker-only", Map.of("app_name", "orders"), List.of(), null),
        backend("other-service", Map.of(), List.of(), new ConsulService("payment", List.of()))));

    Instance container = new Instance(CONTAINER_ID, "orders-c", "127.0.0.1", 18081);
    Instance one = new Instance("consul:node-a/orders-1", "orders-1", "10.0.0.1", 8001);
    Instance two = new Instance("consul:node-b/orders-2", "orders-2", "10.0.0.2", 8002);
    Instance fixed = new Instance("static:127.0.0.1:9000", "127.0.0.1:9000", "127.0.0.1", 9000);
    assertEquals(List.of(container, one, two, fixed), snapshot.of("mixed"));
    assertEquals(List.of(one), snapshot.of("v2"), "only what its own query found");
    assertEquals(List.of(container), snapshot.of("docker-only"), "labels never select a Consul instance");
    assertEquals(List.of(), snapshot.of("other-service"));
  }

  @Test
  void aConsulInstanceIsNotSelectedByLabelsItsMetadataHappensToCarry() {
    Record record = ConsulImporter.toRecord("orders", ORDERS_1);
    BackendInstances snapshot = BackendInstances.from(List.of(record),
        List.of(backend("by-label", Map.of("consul.service", "orders"), List.of(), null)));
    assertEquals(List.of(), snapshot.of("by-label"));
  }
}
