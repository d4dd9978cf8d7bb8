package dev.dockgate.discovery;

import static dev.dockgate.discovery.ContainerFixture.container;
import static dev.dockgate.discovery.ContainerFixture.load;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.discovery.AddressResolver.Address;
import dev.dockgate.discovery.AddressResolver.Resolution;
import dev.dockgate.discovery.AddressResolver.Unusable;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class AddressResolverTest {

  /** Never connected to: the resolver only copies it into addresses. */
  private static final String ENGINE = "engine.test";
  private static final String PORT = AddressResolver.PORT_LABEL;
  private static final String NET = AddressResolver.NETWORK_LABEL;

  /** One row: a container, the configured network, and the address (host null: Unusable) and reason parts. */
  record Case(String what, ContainerFixture container, String configuredNetwork, String host, int port,
      List<String> reasonMentions) {
    @Override
    public String toString() {
      return what;
    }
  }

  static Case address(String what, ContainerFixture c, String configured, String host, int port,
      String... mentions) {
    return new Case(what, c, configured, host, port, List.of(mentions));
  }

  static Case unusable(String what, ContainerFixture c, String configured, String... mentions) {
    return new Case(what, c, configured, null, 0, List.of(mentions));
  }

  static Stream<Case> cases() {
    return Stream.of(
        // gateway.port on the host network: engine host + label port
        address("captured host network + gateway.port", load("host-network-labelled.json"), null,
            ENGINE, 18081, "label gateway.port on the host network"),
        address("host network label value is trimmed", container("trim", "host").label(PORT, " 8081 "), null,
            ENGINE, 8081, "label gateway.port on the host network"),
        address("host network label 1 is a port", container("low", "host").label(PORT, "1"), null,
            ENGINE, 1, "label gateway.port"),
        address("host network label 65535 is a port", container("high", "host").label(PORT, "65535"), null,
            ENGINE, 65535, "label gateway.port"),
        address("host network wins over configured network", load("host-network-labelled.json"), "orders_backend",
            ENGINE, 18081, "label gateway.port on the host network"),

        // gateway.port elsewhere: container IP on the chosen network
        address("label on the sole custom network", load("custom-network-labelled.json"), null,
            "172.20.0.5", 18081, "label gateway.port on network orders_backend"),
        address("label on two networks: first by name", load("two-networks-labelled.json"), null,
            "172.20.0.5", 18081, "label gateway.port on network orders_backend",
            "first of [orders_backend, orders_frontend]", "set label gateway.network"),
        address("label on two networks + gateway.network label", load("two-networks-labelled.json")
            .label(NET, "orders_frontend"), null,
            "172.21.0.5", 18081, "label gateway.port on network orders_frontend"),
        address("label on two networks + configured network", load("two-networks-labelled.json"),
            "orders_frontend",
            "172.21.0.5", 18081, "label gateway.port on network orders_frontend"),
        address("gateway.network label beats configured network", load("two-networks-labelled.json")
            .label(NET, "orders_frontend"), "orders_backend",
            "172.21.0.5", 18081, "on network orders_frontend"),
        address("label beats published ports", container("both", "bridge").network("bridge", "172.17.0.9")
            .label(PORT, "7000").published("0.0.0.0", 8080, 49153), null,
            "172.17.0.9", 7000, "label gateway.port on network bridge"),
        unusable("gateway.network label names a missing network", load("two-networks-labelled.json")
            .label(NET, "payments_net"), null,
            "label gateway.port", "no IP on network \"payments_net\"", "[orders_backend, orders_frontend]"),
        address("configured network missing on a two-network container falls back to the first",
            load("two-networks-labelled.json"), "payments_net",
            "172.20.0.5", 18081, "label gateway.port on network orders_backend", "set label gateway.network"),
        address("configured network ignored on a single network", load("bridge-exposed.json"), "backend-net",
            "172.17.0.3", 8080, "single exposed port 8080 on network bridge"),
        unusable("label on network none", load("none-network-exposed.json").label(PORT, "8080"), null,
            "label gateway.port", "no IP address", "network mode \"none\""),

        // invalid gateway.port values: no fallback to other rules
        unusable("label \"abc\"", load("host-network-labelled.json").label(PORT, "abc"), null,
            "label gateway.port=\"abc\" is not a port number"),
        unusable("label \"0\"", load("host-network-labelled.json").label(PORT, "0"), null,
            "label gateway.port=\"0\" is not a port number"),
        unusable("label \"70000\"", load("host-network-labelled.json").label(PORT, "70000"), null,
            "label gateway.port=\"70000\" is not a port number"),
        unusable("label \"-1\"", container("neg", "host").label(PORT, "-1"), null,
            "label gateway.port=\"-1\" is not a port number"),
        unusable("empty label", container("empty", "host").label(PORT, ""), null,
            "label gateway.port=\"\" is not a port number"),
        unusable("invalid label does not fall back to a published port", load("bridge-published-wildcard.json")
            .label(PORT, "http"), null,
            "label gateway.port=\"http\" is not a port number"),

        // one published TCP port
        address("published on 0.0.0.0 and :: (deduplicated): engine host", load("bridge-published-wildcard.json"),
            null, ENGINE, 49153, "published port 49153"),
        address("published on :: only: engine host", container("v6", "bridge").network("bridge", "172.17.0.4")
            .published("::", 8080, 49160), null,
            ENGINE, 49160, "published port 49160"),
        address("published on an empty IP: engine host", container("noip", "bridge")
            .published("", 8080, 49161), null,
            ENGINE, 49161, "published port 49161"),
        address("published on a specific IP", load("bridge-published-specific-ip.json"), null,
            "127.0.0.1", 18080, "published port 18080"),
        address("published on a specific IPv6", container("lo6", "bridge").published("::1", 8080, 18090), null,
            "::1", 18090, "published port 18090"),
        address("published port beats an exposed one", container("mixed", "bridge").network("bridge", "172.17.0.5")
            .published("0.0.0.0", 8080, 49162).exposed(9090), null,
            ENGINE, 49162, "published port 49162"),
        address("published UDP port ignored", container("udp", "bridge").network("bridge", "172.17.0.6")
            .exposed(8080).published("0.0.0.0", 53, 5353, "udp"), null,
            "172.17.0.6", 8080, "single exposed port 8080"),
        unusable("several published ports", load("bridge-published-several.json"), null,
            "several published ports [49153, 49154]", "set label gateway.port"),

        // single exposed port + container IP
        address("single exposed port on bridge", load("bridge-exposed.json"), null,
            "172.17.0.3", 8080, "single exposed port 8080 on network bridge"),
        address("exposed port + gateway.network label", container("ex2", "backend").exposed(8080)
            .network("backend", "10.1.0.2").network("frontend", "10.2.0.2").label(NET, "frontend"), null,
            "10.2.0.2", 8080, "single exposed port 8080 on network frontend"),
        address("exposed port + configured network", container("ex3", "backend").exposed(8080)
            .network("backend", "10.1.0.2").network("frontend", "10.2.0.2"), "frontend",
            "10.2.0.2", 8080, "single exposed port 8080 on network frontend"),
        address("exposed port listed twice counts once", container("dup", "bridge").network("bridge", "172.17.0.7")
            .exposed(8080).exposed(8080), null,
            "172.17.0.7", 8080, "single exposed port 8080"),
        unusable("exposed port without any IP", load("none-network-exposed-port-listed.json"), null,
            "single exposed port 8080", "no IP address", "network mode \"none\""),
        unusable("several exposed ports", container("many", "bridge").network("bridge", "172.17.0.8")
            .exposed(9090).exposed(8080), null,
            "several exposed ports [8080, 9090]", "set label gateway.port"),
        // on the host network the listing shows no port: the importer adds those Config.ExposedPorts names
        address("single exposed port on the host network: the engine's host", container("hostexp", "host")
            .exposed(8080), null,
            ENGINE, 8080, "single exposed port 8080 on the host network"),
        unusable("several exposed ports on the host network", container("hostexp2", "host")
            .exposed(8080).exposed(9090), null,
            "several exposed ports [8080, 9090]", "set label gateway.port"),

        // nothing to go on
        unusable("captured host network without label", load("host-network-unlabelled.json"), null,
            "no gateway.port label, no published port and no exposed port"),
        unusable("captured none + --expose: engine lists no port", load("none-network-exposed.json"), null,
            "no gateway.port label, no published port and no exposed port"),
        unusable("only a UDP port", container("udponly", "bridge").network("bridge", "172.17.0.10")
            .exposed(53, "udp"), null,
            "no gateway.port label, no published port and no exposed port"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void resolves(Case c) {
    Resolution resolution = new AddressResolver(ENGINE, c.configuredNetwork()).resolve(c.container().info());

    if (c.host() == null) {
      assertInstanceOf(Unusable.class, resolution, () -> c.what() + ": expected Unusable, got " + resolution);
    } else {
      Address address = assertInstanceOf(Address.class, resolution, () -> c.what() + ": expected Address, got " + resolution);
      assertEquals(c.host(), address.host(), c.what());
      assertEquals(c.port(), address.port(), c.what());
    }
    for (String mention : c.reasonMentions()) {
      assertTrue(resolution.reason().contains(mention),
          () -> c.what() + ": reason \"" + resolution.reason() + "\" should mention \"" + mention + "\"");
    }
  }

  /** Gateway labels in another letter case or with blanks, which the gateway does not read; exact spellings are fine. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("misspellings")
  void namesMisspelledGatewayLabels(Map<String, String> labels, List<String> expected) {
    assertEquals(expected, AddressResolver.misspelledLabels(labels));
  }

  static Stream<Arguments> misspellings() {
    return Stream.of(
        Arguments.of(Map.of("gateway.port", "80", "gateway.network", "n", "gateway.scheme", "https", "app", "x"),
            List.of()),
        Arguments.of(Map.of("Gateway.Port", "80"), List.of("\"Gateway.Port\" (read: gateway.port)")),
        Arguments.of(Map.of("GATEWAY.PORT", "80", "gateway.port", "81"), List.of("\"GATEWAY.PORT\" (read: gateway.port)")),
        Arguments.of(Map.of("Gateway.Network", "n", "gateway.SCHEME", "https"),
            List.of("\"Gateway.Network\" (read: gateway.network)", "\"gateway.SCHEME\" (read: gateway.scheme)")),
        Arguments.of(Map.of(" gateway.port", "80"), List.of("\" gateway.port\" (read: gateway.port)")),
        Arguments.of(Map.of("gateway.ports", "80", "gateway_port", "80", "app.gateway.port", "80"), List.of()));
  }
}
