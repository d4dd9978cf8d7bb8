package dev.dockgate.limits;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The key of an IPv6 client under {@code ipv6_prefix}: its network, whatever bits the prefix cuts. */
class ClientNetworkTest {

  @Test
  void anIpv6ClientIsItsNetwork() {
    assertEquals("2001:db8:1:2::/64", RateLimitStage.clientNetwork("2001:db8:1:2:a:b:c:d", 64));
    assertEquals("2001:db8:1:2::/64", RateLimitStage.clientNetwork("2001:db8:1:2::7", 64));
    assertEquals("2001:db8:1::/56", RateLimitStage.clientNetwork("2001:db8:1:ff:a:b:c:d", 56));
    // A prefix inside a byte: /57 keeps the top bit of the eighth byte only.
    assertEquals("2001:db8:1:80::/57", RateLimitStage.clientNetwork("2001:db8:1:ff::1", 57));
    assertEquals("2001:db8:1:0:a:b:c:d/128", RateLimitStage.clientNetwork("2001:db8:1:0:a:b:c:d", 128));
    assertEquals("::/1", RateLimitStage.clientNetwork("7fff::1", 1));
  }

  @Test
  void ipv4ClientsAndTextThatIsNoAddressKeepTheirKey() {
    assertEquals("192.0.2.1", RateLimitStage.clientNetwork("192.0.2.1", 64));
    // An IPv4-mapped address is an IPv4 client (the gateway writes it 192.0.2.1): kept, never made a network.
    assertEquals("::ffff:192.0.2.1", RateLimitStage.clientNetwork("::ffff:192.0.2.1", 64));
    assertEquals("not:an:address:x", RateLimitStage.clientNetwork("not:an:address:x", 64));
    assertEquals(null, RateLimitStage.clientNetwork(null, 64));
  }
}
