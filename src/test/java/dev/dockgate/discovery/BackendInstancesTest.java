package dev.dockgate.discovery;

import static dev.dockgate.discovery.ContainerFixture.load;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.dockgate.config.BackendConfig;
import dev.dockgate.config.CircuitBreakerConfig;
import dev.dockgate.config.LabelSelector;
import dev.dockgate.discovery.AddressResolver;
import dev.dockgate.discovery.ContainerFixture;
import dev.dockgate.discovery.ContainerInfo;
import dev.dockgate.discovery.ContainerRecords;
import io.vertx.core.json.JsonObject;
import io.vertx.servicediscovery.Record;
import io.vertx.servicediscovery.types.HttpEndpoint;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class BackendInstancesTest {

  private static final AddressResolver RESOLVER = new AddressResolver("127.0.0.1", null);

  private static final String HOST_ID = "19a623c437c03256671e3608208149b73980be307ca805762513296c4121bde4";
  private static final String CUSTOM_ID = "b1000000000000000000000000000000000000000000000000000000000000b1";
  private static final String STAGING_ID = "b2000000000000000000000000000000000000000000000000000000000000b2";
  private static final String PAYMENT_ID = "a1000000000000000000000000000000000000000000000000000000000000a1";

  private static final Instance HOST_ORDERS = new Instance("local/" + HOST_ID, "dg-host-labelled", "127.0.0.1", 18081);
  private static final Instance CUSTOM_ORDERS = new Instance("local/" + CUSTOM_ID, "dg-custom-labelled", "172.20.0.5", 18081);
  private static final Instance STAGING_ORDERS =
      new Instance("local/" + STAGING_ID, "dg-two-networks-labelled", "172.20.0.5", 18081);
  private static final Instance PAYMENT = new Instance("local/" + PAYMENT_ID, "dg-published-wildcard", "127.0.0.1", 49153);

  /** Docker records in an order that is not the id order, plus records from other sources. */
  static List<Record> records() {
    return List.of(
        docker(load("custom-network-labelled.json")),
        docker(load("bridge-published-wildcard.json").label("app_name", "payment")),
        docker(load("two-networks-labelled.json").label("env", "staging")),
        docker(load("host-network-labelled.json")),
        notFromDocker(null),
        notFromDocker("static"));
  }

  static Record docker(ContainerFixture fixture) {
    return docker(fixture, "local", RESOLVER);
  }

  static Record docker(ContainerFixture fixture, String engine, AddressResolver resolver) {
    ContainerInfo info = fixture.info();
    return ContainerRecords.toRecord(info, (AddressResolver.Address) resolver.resolve(info), engine);
  }

  /** Carries labels that every selector below would accept, but no docker source mark. */
  static Record notFromDocker(String source) {
    JsonObject metadata = new JsonObject().put("app_name", "orders").put("env", "production")
        .put(ContainerRecords.ID_KEY, "00-static");
    if (source != null) {
      metadata.put(ContainerRecords.SOURCE_KEY, source);
    }
    return HttpEndpoint.createRecord("orders-static", "127.0.0.1", 9000, "/", metadata);
  }

  static BackendConfig backend(String name, Map<String, String> labels) {
    return new BackendConfig(name, new LabelSelector(labels), CircuitBreakerConfig.DEFAULTS,
        BackendConfig.DEFAULT_CONNECT_TIMEOUT_MS, BackendConfig.DEFAULT_MAX_CONNECTIONS);
  }

  static Stream<Arguments> selections() {
    return Stream.of(
        Arguments.of("full match on two labels, sorted by id", Map.of("app_name", "orders", "env", "production"),
            List.of(HOST_ORDERS, CUSTOM_ORDERS)),
        Arguments.of("one label matches all its carriers", Map.of("app_name", "orders"),
            List.of(HOST_ORDERS, CUSTOM_ORDERS, STAGING_ORDERS)),
        Arguments.of("other value of a label", Map.of("app_name", "orders", "env", "staging"),
            List.of(STAGING_ORDERS)),
        Arguments.of("published-port container", Map.of("app_name", "payment"),
            List.of(PAYMENT)),
        Arguments.of("partial match is not selected", Map.of("app_name", "payment", "env", "staging"),
            List.of()),
        Arguments.of("no carrier", Map.of("app_name", "inventory"),
            List.of()),
        Arguments.of("label key absent", Map.of("tier", "production"),
            List.of()));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("selections")
  void selectsDockerInstancesCarryingEveryLabel(String what, Map<String, String> labels, List<Instance> expected) {
    BackendInstances instances = BackendInstances.from(records(), List.of(backend("b", labels)));

    assertEquals(expected, instances.of("b"));
  }

  @Test
  void orderDoesNotDependOnRecordOrder() {
    List<Record> reversed = new ArrayList<>(records());
    Collections.reverse(reversed);
    List<BackendConfig> backends = List.of(backend("orders", Map.of("app_name", "orders")));

    assertEquals(List.of(HOST_ORDERS, CUSTOM_ORDERS, STAGING_ORDERS),
        BackendInstances.from(reversed, backends).of("orders"));
    assertEquals(List.of(HOST_ORDERS, CUSTOM_ORDERS, STAGING_ORDERS),
        BackendInstances.from(records(), backends).of("orders"));
  }

  @Test
  void eachBackendGetsItsOwnListAndUnknownBackendsNone() {
    BackendInstances instances = BackendInstances.from(records(), List.of(
        backend("orders", Map.of("app_name", "orders", "env", "production")),
        backend("payment", Map.of("app_name", "payment"))));

    assertEquals(List.of(HOST_ORDERS, CUSTOM_ORDERS), instances.of("orders"));
    assertEquals(List.of(PAYMENT), instances.of("payment"));
    assertEquals(List.of(), instances.of("inventory"));
  }

  @Test
  void nonDockerRecordsAloneGiveNoInstance() {
    BackendInstances instances = BackendInstances.from(List.of(notFromDocker(null), notFromDocker("static")),
        List.of(backend("orders", Map.of("app_name", "orders"))));

    assertEquals(List.of(), instances.of("orders"));
  }

  @Test
  void theSameContainerOnTwoEnginesIsTwoInstances() {
    // One engine listed twice, or a container id copied between engines: same id, same name.
    List<Record> records = List.of(docker(load("host-network-labelled.json")),
        docker(load("host-network-labelled.json"), "edge", new AddressResolver("10.0.0.7", null)));

    assertEquals(List.of(new Instance("edge/" + HOST_ID, "dg-host-labelled", "10.0.0.7", 18081), HOST_ORDERS),
        BackendInstances.from(records, List.of(backend("orders", Map.of("app_name", "orders")))).of("orders"));
  }

  /** An IPv6 fixed target is named as a URL writes it, [::1]:8080: ::1:8080 read as the address ::1:8080. */
  @Test
  void anIpv6FixedTargetIsNamedWithBrackets() {
    BackendConfig fixed = new BackendConfig("v6", new LabelSelector(Map.of()),
        List.of(new dev.dockgate.config.Target("::1", 8080), new dev.dockgate.config.Target("127.0.0.1", 8080)),
        dev.dockgate.config.LoadBalancer.RANDOM, CircuitBreakerConfig.DEFAULTS, 1_000, 10, null,
        BackendConfig.UpstreamTls.DEFAULT, 1, 10, null, null, BackendConfig.Protocol.HTTP1, List.of(), 5_000);

    assertEquals(List.of(new Instance("static:127.0.0.1:8080", "127.0.0.1:8080", "127.0.0.1", 8080),
        new Instance("static:[::1]:8080", "[::1]:8080", "::1", 8080)),
        BackendInstances.resolve(1, List.of(), List.of(fixed)).of("v6"));
  }

  @Test
  void aDnsTargetsAddressIsAnInstanceOfTheBackendsNamingItKnownByItsName() {
    dev.dockgate.config.Target target = new dev.dockgate.config.Target("orders.internal", 8443, true);
    BackendConfig named = new BackendConfig("orders", new LabelSelector(Map.of()), List.of(),
        dev.dockgate.config.LoadBalancer.RANDOM, CircuitBreakerConfig.DEFAULTS, 1_000, 10, null,
        BackendConfig.UpstreamTls.DEFAULT, 1, 10, null, null, BackendConfig.Protocol.HTTP1, List.of(target), 5_000);
    BackendConfig other = backend("payment", Map.of("app_name", "payment"));
    List<Record> records = List.of(DnsImporter.toRecord(target, "::1"), DnsImporter.toRecord(target, "127.0.0.1"));

    BackendInstances instances = BackendInstances.from(records, List.of(named, other));

    assertEquals(List.of(
        new Instance("dns:https://orders.internal:8443@127.0.0.1", "orders.internal:8443@127.0.0.1", "127.0.0.1", 8443, true,
            "orders.internal"),
        new Instance("dns:https://orders.internal:8443@::1", "orders.internal:8443@::1", "::1", 8443, true,
            "orders.internal")), instances.of("orders"));
    assertEquals(List.of(), instances.of("payment"));
    assertEquals("orders.internal", instances.of("orders").get(1).originHost());
    assertEquals("[::1]", instances.of("orders").get(1).uriHost());
    // Each address its own name (the access log's instance=, health lines), which says the address already.
    assertEquals("orders.internal:8443@::1", instances.of("orders").get(1).toString());
  }

  @Test
  void instanceListsAreImmutable() {
    BackendInstances instances = BackendInstances.from(records(),
        List.of(backend("orders", Map.of("app_name", "orders"))));

    assertThrows(UnsupportedOperationException.class, () -> instances.of("orders").add(PAYMENT));
  }
}
