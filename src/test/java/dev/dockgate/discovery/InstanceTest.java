package dev.dockgate.discovery;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class InstanceTest {

  static Stream<Arguments> shortIds() {
    return Stream.of(
        Arguments.of("19a623c437c03256671e3608208149b73980be307ca805762513296c4121bde4", "19a623c437c0"),
        Arguments.of("local/19a623c437c03256671e3608208149b73980be307ca805762513296c4121bde4", "local/19a623c437c0"),
        Arguments.of("10.0.0.5:2376/19a623c437c03256671e3608208149b73980be307ca805762513296c4121bde4",
            "10.0.0.5:2376/19a623c437c0"),
        Arguments.of("static:127.0.0.1:19708", "static:127.0.0.1:19708"),
        Arguments.of("static:[::1]:8080", "static:[::1]:8080"),
        Arguments.of("static:backend.internal.example:443", "static:backend.internal.example:443"),
        // not a Docker id: 64 characters, but not all hex digits
        Arguments.of("z9a623c437c03256671e3608208149b73980be307ca805762513296c4121bde4",
            "z9a623c437c03256671e3608208149b73980be307ca805762513296c4121bde4"),
        Arguments.of("a1b2c3", "a1b2c3"));
  }

  @ParameterizedTest
  @MethodSource("shortIds")
  void onlyContainerIdsAreShortened(String id, String shortId) {
    assertEquals(shortId, new Instance(id, "name", "127.0.0.1", 80).shortId());
  }

  /** As log lines name an instance: an IPv6 address in brackets, so that its port reads as one. */
  @org.junit.jupiter.api.Test
  void anInstanceIsNamedWithItsAddressAsAUrlWritesIt() {
    assertEquals("web@[::1]:8080", new Instance("local/abc", "web", "::1", 8080).toString());
    assertEquals("web@127.0.0.1:8080", new Instance("local/abc", "web", "127.0.0.1", 8080).toString());
  }

  @org.junit.jupiter.api.Test
  void theOriginHostOfAFullyQualifiedNameHasNoTrailingDot() {
    assertEquals("orders.internal", new Instance("dns:https://orders.internal.:443@::1", "n", "::1", 443, true,
        "orders.internal.").originHost());
    assertEquals("orders.internal", new Instance("static:orders.internal.:443", "n", "orders.internal.", 443, true)
        .originHost());
    assertEquals("::1", new Instance("static:[::1]:443", "n", "::1", 443, true).originHost());
  }
}
