package dev.dockgate.discovery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.config.BackendConfig;
import dev.dockgate.config.CircuitBreakerConfig;
import dev.dockgate.config.LabelSelector;
import dev.dockgate.config.LoadBalancer;
import dev.dockgate.config.Target;
import dev.dockgate.discovery.BackendInstances.Discovered;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The catalog without Vert.x: snapshots collected as they are handed on. */
class InstanceCatalogTest {

  private static final BackendConfig ORDERS = backend("orders", 5_000, new Target("127.0.0.1", 9000));

  private final List<BackendInstances> published = new ArrayList<>();
  private final InstanceCatalog catalog = new InstanceCatalog(List.of(ORDERS), published::add);

  @Test
  void eachBackendGetsItsTargetsThenTheContainersItSelects() {
    catalog.discovered(List.of(container("c1", "orders", ContainerInfo.HEALTHY),
        container("p1", "payment", ContainerInfo.HEALTHY)));

    assertEquals(List.of("c1", "127.0.0.1:9000"), names(catalog.current()));
  }

  @Test
  void snapshotsAreHandedOnOncePerChangeWithGrowingVersions() {
    List<Discovered> both = List.of(container("c1", "orders", ContainerInfo.HEALTHY),
        container("c2", "orders", ContainerInfo.HEALTHY));
    catalog.discovered(both);
    catalog.discovered(both);

    assertEquals(1, published.size(), "an unchanged listing is not handed on again");
    catalog.discovered(List.of(container("c1", "orders", ContainerInfo.HEALTHY)));
    assertEquals(2, published.size());
    assertTrue(published.get(1).version() > published.get(0).version());
    assertSame(catalog.current(), published.get(1));
  }

  @Test
  void aReloadedBackendFindsTheInstancesAlreadyDiscovered() {
    catalog.discovered(List.of(container("p1", "payment", ContainerInfo.HEALTHY)));

    BackendConfig payment = backend("payment", 5_000);
    assertEquals(List.of("p1"), names(catalog.current().forBackends(List.of(ORDERS, payment)), "payment"),
        "a router that reloads before the catalog resolves the held snapshot again");
    catalog.backends(List.of(ORDERS, payment));
    assertEquals(List.of("p1"), names(catalog.current(), "payment"));
    assertSame(catalog.current(), catalog.current().forBackends(List.of(ORDERS, payment)));
  }

  // --- fixtures -----------------------------------------------------------------------------

  private static List<String> names(BackendInstances snapshot) {
    return names(snapshot, "orders");
  }

  private static List<String> names(BackendInstances snapshot, String backend) {
    return snapshot.of(backend).stream().map(Instance::name).toList();
  }

  private static Discovered container(String name, String app, String health) {
    Instance instance = new Instance("id-" + name, name, "127.0.0.1", 10_000 + Math.abs(name.hashCode() % 1000));
    return new Discovered(instance, Map.of("app_name", app), health);
  }

  private static BackendConfig backend(String name, long graceMs, Target... targets) {
    return new BackendConfig(name, new LabelSelector(Map.of("app_name", name)), List.of(targets), LoadBalancer.RANDOM,
        new CircuitBreakerConfig(5, 10_000, graceMs), BackendConfig.DEFAULT_CONNECT_TIMEOUT_MS,
        BackendConfig.DEFAULT_MAX_CONNECTIONS, null);
  }
}
