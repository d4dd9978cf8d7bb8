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

  /**
   * Text of address characters that no address starts with ({@code .:}, {@code %:}: an X-Forwarded-For entry, its
   * port taken off {@code [.:]:80}, an admin listener's Host {@code [.:]}) is no literal, and no name is looked up for
   * it: the JDK reads a string with a colon as a literal only when it starts with a hex digit or a colon, and resolved
   * these, a blocking DNS lookup on the event loop. A lookup is seen by the security manager's checkConnect(host, -1).
   */
  @SuppressWarnings("removal")
  @ParameterizedTest
  @ValueSource(strings = {".:", "%:", ".::1", "%1::1"})
  void textThatNoAddressStartsWithIsNoLiteralAndNotLookedUp(String text) {
    java.util.List<String> lookedUp = new java.util.concurrent.CopyOnWriteArrayList<>();
    SecurityManager before = System.getSecurityManager();
    System.setSecurityManager(new SecurityManager() {
      @Override
      public void checkConnect(String host, int port) {
        if (port == -1) {
          lookedUp.add(host);
        }
      }

      @Override
      public void checkPermission(java.security.Permission perm) {
      }
    });
    try {
      assertNull(Cidr.literal(text));
    } finally {
      System.setSecurityManager(before);
    }
    assertEquals(java.util.List.of(), lookedUp, "names looked up");
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

  /**
   * An address another party wrote is read strictly: a leading zero in a dotted-decimal part (octal for inet_aton,
   * refused by Go's net.ParseIP) and a zone are no address; other spellings of one address are (documentation ranges).
   */
  @ParameterizedTest
  @CsvSource(delimiter = '|', nullValues = "none", value = {
      "192.0.2.5|192.0.2.5", "0.0.0.0|0.0.0.0", "192.0.2.0|192.0.2.0", "10.0.0.100|10.0.0.100",
      "192.0.2.005|none", "010.0.0.1|none", "192.0.2.05|none", "00.0.0.0|none",
      "::ffff:192.0.2.5|192.0.2.5", "::ffff:192.0.2.05|none", "::ffff:0192.0.2.5|none",
      "2001:0db8::0007|2001:db8::7", "::0001|::1", "0:0:0:0:0:0:0:1|::1",
      "fe80::1%1|none", "fe80::1%eth0|none", "::1%|none"})
  void aStrictLiteralRefusesLeadingZerosAndZones(String written, String read) {
    byte[] bytes = Cidr.strictLiteral(written);
    assertEquals(read, bytes == null ? null : Cidr.text(bytes));
  }

  @Test
  void aMappedNetworkContainsItsIpv4Peers() {
    assertTrue(Cidr.parse("::ffff:127.0.0.0/104").contains(Cidr.literal("127.0.0.1")));
    assertTrue(Cidr.parse("::ffff:127.0.0.0/104").contains(Cidr.literal("::ffff:127.1.2.3")));
    assertFalse(Cidr.parse("::ffff:127.0.0.0/104").contains(Cidr.literal("128.0.0.1")));
    assertFalse(Cidr.parse("::ffff:127.0.0.0/104").contains(Cidr.literal("::1")));
  }
}
