package dev.dockgate.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Address literals as RFC 5952 writes them, and networks written in IPv4-mapped form. (Documentation addresses.) */
class CidrTest {

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "0:0:0:0:0:0:0:1%0|::1", "0:0:0:0:0:0:0:1|::1", "::1|::1", "0::1|::1", "::1%1|::1",
      "2001:DB8:0:0:0:0:0:7|2001:db8::7", "2001:0db8::0007|2001:db8::7",
      "2001:db8:0:0:1:0:0:1|2001:db8::1:0:0:1", // the first of two equal runs
      "2001:db8:0:1:1:1:1:1|2001:db8:0:1:1:1:1:1", // one zero group is no run
      "2001:0:0:1:0:0:0:1|2001:0:0:1::1", // the longer run
      "fe80:0:0:0:0:0:0:1%2|fe80::1", "0:0:0:0:0:0:0:0|::", "1:0:0:0:0:0:0:0|1::",
      "::ffff:192.0.2.1|192.0.2.1", "::FFFF:c000:0201|192.0.2.1",
      "192.0.2.1|192.0.2.1", "192.000.002.001|192.0.2.1",
      "not-an-address|not-an-address", "[::1]|[::1]"})
  void addressesAreWrittenAsRfc5952WritesThem(String address, String canonical) {
    assertEquals(canonical, Cidr.canonical(address));
  }

  @Test
  void canonicalTextIsToldWithoutMakingIt() {
    assertTrue(Cidr.isCanonical("192.0.2.1", Cidr.literal("192.0.2.1")));
    assertFalse(Cidr.isCanonical("192.0.2.01", Cidr.literal("192.0.2.01")));
    assertFalse(Cidr.isCanonical("::ffff:1.2.3.4", Cidr.literal("::ffff:1.2.3.4")));
    assertTrue(Cidr.isCanonical("2001:db8::7", Cidr.literal("2001:db8::7")));
    assertFalse(Cidr.isCanonical("2001:DB8::7", Cidr.literal("2001:DB8::7")));
  }

  /** The JDK hands a dual-stack listener's IPv4 peers over as IPv4: a mapped network is its IPv4 network. */
  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "::ffff:127.0.0.0/104|127.0.0.0/8", "::ffff:127.0.0.1/128|127.0.0.1/32", "::ffff:127.0.0.1|127.0.0.1/32",
      "::ffff:0:0/96|0.0.0.0/0", "127.0.0.0/8|127.0.0.0/8", "::1|0:0:0:0:0:0:0:1/128", "2001:db8::/32|2001:db8:0:0:0:0:0:0/32"})
  void mappedNetworksAreTheirIpv4Networks(String written, String network) {
    assertEquals(network, Cidr.parse(written).toString());
  }

  @ParameterizedTest
  @ValueSource(strings = {"::ffff:0:0/95", "::ffff:127.0.0.0/129", "127.0.0.0/33", "[::1]", "2001:db8::/129", "::1/-1"})
  void otherPrefixesAreRefused(String written) {
    assertNull(Cidr.parse(written));
  }

  @Test
  void aMappedNetworkContainsItsIpv4Peers() {
    assertTrue(Cidr.parse("::ffff:127.0.0.0/104").contains(Cidr.literal("127.0.0.1")));
    assertTrue(Cidr.parse("::ffff:127.0.0.0/104").contains(Cidr.literal("::ffff:127.1.2.3")));
    assertFalse(Cidr.parse("::ffff:127.0.0.0/104").contains(Cidr.literal("128.0.0.1")));
    assertFalse(Cidr.parse("::ffff:127.0.0.0/104").contains(Cidr.literal("::1")));
  }
}
