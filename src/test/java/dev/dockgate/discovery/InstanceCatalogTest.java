package dev.dockgate.discovery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.config.BackendConfig;
import dev.dockgate.config.CircuitBreakerConfig;
import dev.dockgate.config.LabelSelector;
import dev.dockgate.config.LoadBalancer;
import dev.dockgate.config.Target;
import dev.dockgate.discovery.BackendInstances.Discovered;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The catalog without Vert.x: a probe the test answers, snapshots collected as they are handed on. */
class InstanceCatalogTest {

  private static final BackendConfig ORDERS = backend("orders", 5_000, new Target("127.0.0.1", 9000));

  /** Probes started, answered by the test. */
  private static final class Probes implements InstanceCatalog.Probe {
    final Map<String, Promise<Boolean>> running = new LinkedHashMap<>();
    final Map<String, BooleanSupplier> wanted = new LinkedHashMap<>();
    final Map<String, Long> allowed = new LinkedHashMap<>();

    @Override
    public Future<Boolean> untilOpen(Instance instance, long allowedMs, BooleanSupplier stillWanted) {
      assertTrue(stillWanted.getAsBoolean(), "a new probe is wanted at its first attempt");
      Promise<Boolean> p = Promise.promise();
      running.put(instance.name(), p);
      wanted.put(instance.name(), stillWanted);
      allowed.put(instance.name(), allowedMs);
      return p.future();
    }
  }

  private final Probes probes = new Probes();
  private final List<BackendInstances> published = new ArrayList<>();
  private final InstanceCatalog catalog = new InstanceCatalog(List.of(ORDERS), probes, published::add);

  static Stream<Arguments> healthRules() {
    return Stream.of(
        Arguments.of("Docker reports it healthy: in at once, not probed", ContainerInfo.HEALTHY, true, false),
        Arguments.of("HEALTHCHECK still starting: out, not probed", ContainerInfo.STARTING, false, false),
        Arguments.of("Docker reports it unhealthy: out, not probed", ContainerInfo.UNHEALTHY, false, false),
        Arguments.of("no HEALTHCHECK: out until a connection probe succeeds", ContainerInfo.NO_HEALTHCHECK, false, true));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("healthRules")
  void aNewContainerIsRoutedOnlyWhenReady(String what, String health, boolean routed, boolean probed) {
    catalog.discovered(List.of(container("c1", "orders", health)));

    assertEquals(routed ? List.of("c1", "127.0.0.1:9000") : List.of("127.0.0.1:9000"), names(catalog.current()));
    assertEquals(probed, probes.running.containsKey("c1"));
  }

  @Test
  void aProbedContainerEntersWhenItAcceptsAConnectionAndStaysIn() {
    catalog.discovered(List.of(container("c1", "orders", ContainerInfo.NO_HEALTHCHECK)));
    assertEquals(5_000L, probes.allowed.get("c1"), "probed for up to its backend's startup grace");

    probes.running.get("c1").complete(true);

    assertEquals(List.of("c1", "127.0.0.1:9000"), names(catalog.current()));
    catalog.discovered(List.of(container("c1", "orders", ContainerInfo.NO_HEALTHCHECK)));
    assertEquals(List.of("c1", "127.0.0.1:9000"), names(catalog.current()));
    assertEquals(1, probes.running.size(), "probed once");
  }

  @Test
  void aContainerStillRefusingAfterItsGraceIsRoutedAnyway() {
    catalog.discovered(List.of(container("c1", "orders", ContainerInfo.NO_HEALTHCHECK)));

    probes.running.get("c1").complete(false);

    assertEquals(List.of("c1", "127.0.0.1:9000"), names(catalog.current()));
  }

  @Test
  void aContainerGoneWhileProbedIsForgottenAndItsProbeStops() {
    catalog.discovered(List.of(container("c1", "orders", ContainerInfo.NO_HEALTHCHECK)));
    catalog.discovered(List.of());

    assertFalse(probes.wanted.get("c1").getAsBoolean());
    probes.running.get("c1").complete(true);
    assertEquals(List.of("127.0.0.1:9000"), names(catalog.current()));
  }

  @Test
  void dockerHealthMovesAContainerInAndOut() {
    catalog.discovered(List.of(container("c1", "orders", ContainerInfo.STARTING)));
    assertEquals(List.of("127.0.0.1:9000"), names(catalog.current()));

    catalog.discovered(List.of(container("c1", "orders", ContainerInfo.HEALTHY)));
    assertEquals(List.of("c1", "127.0.0.1:9000"), names(catalog.current()));

    catalog.discovered(List.of(container("c1", "orders", ContainerInfo.UNHEALTHY)));
    assertEquals(List.of("127.0.0.1:9000"), names(catalog.current()));
  }

  @Test
  void noStartupGraceMeansRoutedAtOnce() {
    InstanceCatalog noGrace = new InstanceCatalog(List.of(backend("orders", 0)), probes, published::add);

    noGrace.discovered(List.of(container("c1", "orders", ContainerInfo.NO_HEALTHCHECK)));

    assertEquals(List.of("c1"), names(noGrace.current()));
    assertTrue(probes.running.isEmpty());
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
  void aContainerNoBackendSelectsIsProbedSoAReloadFindsItReady() {
    catalog.discovered(List.of(container("p1", "payment", ContainerInfo.NO_HEALTHCHECK)));
    assertEquals(CircuitBreakerConfig.DEFAULT_STARTUP_GRACE_MS, probes.allowed.get("p1"));
    probes.running.get("p1").complete(true);

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
