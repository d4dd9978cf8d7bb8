package dev.dockgate.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which event-bus addresses the bridge may tap: every address of {@link Addresses} is classed, none by default. */
class TapAddressesTest {

  /** The String constants of {@link Addresses}: every fixed address the gateway uses. */
  static List<String> fixedAddresses() throws IllegalAccessException {
    List<String> addresses = new ArrayList<>();
    for (Field f : Addresses.class.getFields()) {
      if (Modifier.isStatic(f.getModifiers()) && f.getType() == String.class) {
        addresses.add((String) f.get(null));
      }
    }
    return addresses;
  }

  @Test
  void theTappableAddressesAreThePublishedEvents() {
    assertEquals(List.of("gateway.traffic", "gateway.health", "gateway.alerts", "gateway.discovery.announce",
        "gateway.cluster.members"), TapAddresses.TAPPABLE);
    for (String address : TapAddresses.TAPPABLE) {
      assertNull(TapAddresses.refusal(address), address);
    }
  }

  /**
   * Each other address of the gateway, the per-node ones included, is refused for what it is: an address added to
   * {@link Addresses} without a place in {@link TapAddresses} would get the reason meant for strangers and fail here.
   */
  @Test
  void everyOtherAddressOfTheGatewayIsRefusedForWhatItIs() throws IllegalAccessException {
    List<String> addresses = fixedAddresses();
    assertTrue(addresses.size() > 25, addresses.toString());
    addresses.add(Addresses.clusterStats("node-1"));
    addresses.add(Addresses.healthClaims("node-1"));
    for (String address : addresses) {
      if (!TapAddresses.TAPPABLE.contains(address)) {
        String refusal = TapAddresses.refusal(address);
        assertTrue(refusal != null && refusal.startsWith(address + " "), address + ": " + refusal);
        assertFalse(refusal.contains("not an address the gateway publishes events on"), refusal);
      }
    }
    assertTrue(TapAddresses.refusal(Addresses.STATS_QUERY).contains("request/reply"));
    assertTrue(TapAddresses.refusal(Addresses.healthClaims("node-1")).contains("request/reply"));
    assertTrue(TapAddresses.refusal(Addresses.CONFIG_RELOAD).contains("command address"));
    assertTrue(TapAddresses.refusal(Addresses.CONFIG_APPLY).contains("Java objects"));
  }

  /** Names nobody publishes on are refused too: exact matches only, no prefix or case folding lets one through. */
  @Test
  void otherNamesAreRefused() {
    for (String address : List.of("gateway.trafic", "Gateway.Traffic", "gateway.traffic.x", "gateway.", "gateway.*",
        "my.app.events", "__vertx.reply.7")) {
      String refusal = TapAddresses.refusal(address);
      assertTrue(refusal != null && refusal.endsWith("; the bridge taps only gateway.traffic, gateway.health,"
          + " gateway.alerts, gateway.discovery.announce, gateway.cluster.members"), address + ": " + refusal);
    }
  }
}
