package dev.dockgate.discovery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.discovery.ContainerInfo.Port;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ContainerInfoTest {

  private static final String RUN = "dockgate.test.run";
  private static final String RUN_ID = "capture-3894";

  static Stream<Arguments> fixtures() {
    Map<String, String> ordersLabels = Map.of("app_name", "orders", "env", "production",
        "gateway.port", "18081", RUN, RUN_ID);
    Map<String, String> runOnly = Map.of(RUN, RUN_ID);
    return Stream.of(
        Arguments.of("host-network-labelled.json", new ContainerInfo(
            "19a623c437c03256671e3608208149b73980be307ca805762513296c4121bde4", "dg-host-labelled",
            ordersLabels, "host", Map.of(), List.of())),
        Arguments.of("host-network-unlabelled.json", new ContainerInfo(
            "4b49a8d38f48fbc9d6055d2efc6f6f7e82eb014a9554c54e3158ffda90297dae", "dg-host-unlabelled",
            runOnly, "host", Map.of(), List.of())),
        Arguments.of("none-network-exposed.json", new ContainerInfo(
            "0d7023bedafd65a4ce966dd259031ae7ef0c16b615cc01644a5c1c3aa9c40e90", "dg-none-exposed",
            runOnly, "none", Map.of(), List.of())),
        Arguments.of("none-network-exposed-port-listed.json", new ContainerInfo(
            "a5000000000000000000000000000000000000000000000000000000000000a5", "dg-exposed-no-ip",
            runOnly, "none", Map.of(), List.of(new Port("", 8080, 0, "tcp")))),
        Arguments.of("bridge-published-wildcard.json", new ContainerInfo(
            "a1000000000000000000000000000000000000000000000000000000000000a1", "dg-published-wildcard",
            runOnly, "bridge", Map.of("bridge", "172.17.0.2"),
            List.of(new Port("0.0.0.0", 8080, 49153, "tcp"), new Port("::", 8080, 49153, "tcp")))),
        Arguments.of("bridge-published-specific-ip.json", new ContainerInfo(
            "a2000000000000000000000000000000000000000000000000000000000000a2", "dg-published-specific-ip",
            runOnly, "bridge", Map.of("bridge", "172.17.0.2"),
            List.of(new Port("127.0.0.1", 8080, 18080, "tcp")))),
        Arguments.of("bridge-published-several.json", new ContainerInfo(
            "a3000000000000000000000000000000000000000000000000000000000000a3", "dg-published-several",
            runOnly, "bridge", Map.of("bridge", "172.17.0.2"),
            List.of(new Port("0.0.0.0", 8080, 49153, "tcp"), new Port("::", 8080, 49153, "tcp"),
                new Port("0.0.0.0", 9090, 49154, "tcp"), new Port("::", 9090, 49154, "tcp")))),
        Arguments.of("bridge-exposed.json", new ContainerInfo(
            "a4000000000000000000000000000000000000000000000000000000000000a4", "dg-exposed",
            runOnly, "bridge", Map.of("bridge", "172.17.0.3"), List.of(new Port("", 8080, 0, "tcp")))),
        Arguments.of("custom-network-labelled.json", new ContainerInfo(
            "b1000000000000000000000000000000000000000000000000000000000000b1", "dg-custom-labelled",
            ordersLabels, "orders_backend", Map.of("orders_backend", "172.20.0.5"), List.of())),
        Arguments.of("two-networks-labelled.json", new ContainerInfo(
            "b2000000000000000000000000000000000000000000000000000000000000b2", "dg-two-networks-labelled",
            ordersLabels, "orders_backend",
            Map.of("orders_backend", "172.20.0.5", "orders_frontend", "172.21.0.5"), List.of())));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("fixtures")
  void parsesFixture(String file, ContainerInfo expected) {
    ContainerInfo parsed = ContainerFixture.load(file).info();

    assertEquals(expected.id(), parsed.id());
    assertEquals(expected.name(), parsed.name());
    assertEquals(expected.labels(), parsed.labels());
    assertEquals(expected.networkMode(), parsed.networkMode());
    assertEquals(expected.networkIps(), parsed.networkIps());
    assertEquals(expected.ports(), parsed.ports());
    assertEquals(expected, parsed);
  }

  @Test
  void hostNetworkOnlyForNetworkModeHost() {
    assertTrue(ContainerFixture.load("host-network-labelled.json").info().hostNetwork());
    assertFalse(ContainerFixture.load("none-network-exposed.json").info().hostNetwork());
    assertFalse(ContainerFixture.load("custom-network-labelled.json").info().hostNetwork());
  }

  @Test
  void shortIdIsTwelveCharacters() {
    assertEquals("19a623c437c0", ContainerFixture.load("host-network-labelled.json").info().shortId());
    assertEquals("abc", ContainerFixture.container("x", "bridge").id("abc").info().shortId());
  }

  @Test
  void networkIpsAreOrderedByNetworkName() {
    ContainerInfo c = ContainerFixture.container("multi", "zeta")
        .network("zeta", "10.0.0.9").network("alpha", "10.0.0.1").network("mid", "")
        .info();

    assertEquals(List.of("alpha", "zeta"), List.copyOf(c.networkIps().keySet()));
  }

  @Test
  void portTypeDefaultsToTcpAndUdpIsNotTcp() {
    ContainerInfo c = ContainerFixture.container("ports", "bridge").exposed(53, "udp").info();
    JsonObject noType = new JsonObject().put("Id", "n").put("Ports",
        new JsonArray().add(new JsonObject().put("PrivatePort", 80)));

    assertFalse(c.ports().get(0).tcp());
    assertEquals(List.of(new Port("", 80, 0, "tcp")), ContainerInfo.fromListJson(noType).ports());
    assertTrue(ContainerInfo.fromListJson(noType).ports().get(0).tcp());
    assertFalse(ContainerInfo.fromListJson(noType).ports().get(0).published());
  }

  @Test
  void missingFieldsGiveEmptyValuesAndIdAsName() {
    ContainerInfo c = ContainerInfo.fromListJson(new JsonObject().put("Id", "bare").putNull("Labels"));

    assertEquals(new ContainerInfo("bare", "bare", Map.of(), "", Map.of(), List.of()), c);
  }

  static Stream<Arguments> inspections() {
    return Stream.of(
        Arguments.of("no HEALTHCHECK: no State.Health", "{\"State\":{\"Status\":\"running\"}}", ContainerInfo.NO_HEALTHCHECK),
        Arguments.of("first check not run yet", "{\"State\":{\"Health\":{\"Status\":\"starting\",\"FailingStreak\":0}}}",
            ContainerInfo.STARTING),
        Arguments.of("healthy", "{\"State\":{\"Health\":{\"Status\":\"healthy\"}}}", ContainerInfo.HEALTHY),
        Arguments.of("unhealthy", "{\"State\":{\"Health\":{\"Status\":\"unhealthy\"}}}", ContainerInfo.UNHEALTHY),
        Arguments.of("a check disabled in the image (NONE)", "{\"State\":{\"Health\":{\"Status\":\"none\"}}}",
            ContainerInfo.NO_HEALTHCHECK),
        Arguments.of("no State at all", "{}", ContainerInfo.NO_HEALTHCHECK));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("inspections")
  void healthIsReadFromTheInspectedState(String what, String inspected, String expected) {
    assertEquals(expected, ContainerInfo.healthOf(new JsonObject(inspected)));
  }

  /**
   * The listing's {@code Status} as Docker 20.10.24 (API 1.41) wrote it for a container whose HEALTHCHECK flipped
   * (captured here), and the {@code Health} object of API 1.52 and later, which wins where present.
   */
  static Stream<Arguments> listings() {
    return Stream.of(
        Arguments.of("no HEALTHCHECK", "{\"Status\":\"Up 37 seconds\"}", ContainerInfo.NO_HEALTHCHECK),
        Arguments.of("first check not run yet", "{\"Status\":\"Up Less than a second (health: starting)\"}",
            ContainerInfo.STARTING),
        Arguments.of("healthy", "{\"Status\":\"Up 5 seconds (healthy)\"}", ContainerInfo.HEALTHY),
        Arguments.of("unhealthy", "{\"Status\":\"Up 3 seconds (unhealthy)\"}", ContainerInfo.UNHEALTHY),
        Arguments.of("API 1.52: Health.Status wins", "{\"Status\":\"Up 2 hours (healthy)\","
            + "\"Health\":{\"Status\":\"unhealthy\",\"FailingStreak\":3}}", ContainerInfo.UNHEALTHY),
        Arguments.of("API 1.52: none", "{\"Status\":\"Up 2 hours\",\"Health\":{\"Status\":\"none\"}}",
            ContainerInfo.NO_HEALTHCHECK),
        Arguments.of("API 1.52: an unknown word, Status read", "{\"Status\":\"Up 2 hours (healthy)\","
            + "\"Health\":{\"Status\":\"\"}}", ContainerInfo.HEALTHY),
        Arguments.of("paused: tells nothing", "{\"Status\":\"Up 2 minutes (Paused)\"}", null),
        Arguments.of("restarting: tells nothing", "{\"Status\":\"Restarting (1) 2 seconds ago\"}", null),
        Arguments.of("an empty status word", "{\"Status\":\"Up 2 minutes ()\"}", null),
        Arguments.of("no Status", "{}", null),
        Arguments.of("Status not a string", "{\"Status\":3}", null));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("listings")
  void healthIsReadFromTheListingsStatus(String what, String listed, String expected) {
    assertEquals(expected, ContainerInfo.listedHealth(new JsonObject(listed)));
  }

  @Test
  void aListedContainerHasNoHealthUntilInspected() {
    ContainerInfo listed = ContainerInfo.fromListJson(new JsonObject().put("Id", "c1"));

    assertEquals(ContainerInfo.NO_HEALTHCHECK, listed.health());
    assertEquals(ContainerInfo.HEALTHY, listed.withHealth(ContainerInfo.HEALTHY).health());
    assertEquals(listed, listed.withHealth(ContainerInfo.HEALTHY).withHealth(ContainerInfo.NO_HEALTHCHECK));
  }

  static Stream<Arguments> stopSignals() {
    return Stream.of(
        Arguments.of("none named: SIGTERM", "{\"Config\":{}}", 15),
        Arguments.of("empty: SIGTERM", "{\"Config\":{\"StopSignal\":\"\"}}", 15),
        Arguments.of("Apache httpd's image", "{\"Config\":{\"StopSignal\":\"SIGWINCH\"}}", 28),
        Arguments.of("docker run --stop-signal WINCH", "{\"Config\":{\"StopSignal\":\"WINCH\"}}", 28),
        Arguments.of("nginx's image", "{\"Config\":{\"StopSignal\":\"SIGQUIT\"}}", 3),
        Arguments.of("systemd in a container", "{\"Config\":{\"StopSignal\":\"SIGRTMIN+3\"}}", 37),
        Arguments.of("RTMAX-2", "{\"Config\":{\"StopSignal\":\"RTMAX-2\"}}", 62),
        Arguments.of("a number", "{\"Config\":{\"StopSignal\":\"10\"}}", 10),
        Arguments.of("lower case", "{\"Config\":{\"StopSignal\":\"sigusr1\"}}", 10),
        Arguments.of("unknown name", "{\"Config\":{\"StopSignal\":\"SIGNOPE\"}}", -1),
        Arguments.of("out of range", "{\"Config\":{\"StopSignal\":\"65\"}}", -1),
        Arguments.of("RTMIN beyond RTMAX", "{\"Config\":{\"StopSignal\":\"SIGRTMIN+31\"}}", -1),
        Arguments.of("no Config at all", "{}", 15));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("stopSignals")
  void theStopSignalIsReadFromTheInspectedConfig(String what, String inspected, int expected) {
    assertEquals(expected, ContainerInfo.Inspected.of(new JsonObject(inspected)).stopSignal());
  }

  @Test
  void killEventSignalsAreNumbersOrNames() {
    assertEquals(28, StopSignals.number("28"));
    assertEquals(15, StopSignals.number("SIGTERM"));
    assertEquals(9, StopSignals.number("KILL"));
    assertEquals(-1, StopSignals.number(""));
    assertEquals(-1, StopSignals.number(null));
    assertEquals(-1, StopSignals.number("SIG"));
    assertEquals(-1, StopSignals.number("-1"));
  }

  @Test
  void onTheHostNetworkTheInspectedExposedTcpPortsStandForTheListedOnes() {
    ContainerInfo.Inspected inspected = ContainerInfo.Inspected.of(new JsonObject(
        "{\"Config\":{\"ExposedPorts\":{\"8080/tcp\":{},\"53/udp\":{},\"bad/tcp\":{}}}}"));
    assertEquals(List.of(8080), inspected.exposedTcp());

    ContainerInfo host = new ContainerInfo("h1", "h", Map.of(), "host", Map.of(), List.of());
    assertEquals(List.of(new Port("", 8080, 0, "tcp")), host.with(inspected).ports());
    ContainerInfo bridge = new ContainerInfo("b1", "b", Map.of(), "bridge", Map.of("bridge", "172.17.0.2"), List.of());
    assertEquals(List.of(), bridge.with(inspected).ports(), "elsewhere the listing shows the exposed ports itself");
  }
}
