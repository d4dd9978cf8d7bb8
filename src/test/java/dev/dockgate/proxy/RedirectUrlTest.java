package dev.dockgate.proxy;

import static dev.dockgate.proxy.StrippedPrefixTest.CLIENT;
import static dev.dockgate.proxy.StrippedPrefixTest.INSTANCE;
import static dev.dockgate.proxy.StrippedPrefixTest.inst;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.dockgate.discovery.Instance;
import io.vertx.core.net.HostAndPort;
import org.junit.jupiter.api.Test;

/**
 * A backend's redirect URL (Location, Content-Location, Refresh) with a strip_prefix route's prefix put back and the
 * instance's address replaced by the client's origin, as a table (StrippedPrefixTest checks which headers of an answer
 * are rewritten, StripPrefixIT the whole path over real sockets).
 */
class RedirectUrlTest {

  static final String PAYMENT = "/api/payment";

  /** On a route stripping /api/payment. */
  static String payment(String url, String forwarded, HostAndPort client, boolean secure, HostAndPort sent,
      Instance instance) {
    return RedirectUrl.withPrefix(url, PAYMENT, forwarded, client, secure, sent, instance);
  }

  /** On a route that strips nothing: the empty prefix. */
  static String plain(String url, String forwarded, HostAndPort client, boolean secure, HostAndPort sent,
      Instance instance) {
    return RedirectUrl.withPrefix(url, "", forwarded, client, secure, sent, instance);
  }

  static String url(String location) {
    return payment(location, PAYMENT, CLIENT, false, CLIENT, INSTANCE);
  }

  /** A route that strips nothing: the prefix is empty, a URL naming the instance gets the client's origin. */
  @Test
  void aRouteThatStripsNothingGivesTheClientsOriginToAUrlNamingTheInstance() {
    String[][] table = {
        // the instance's address, as the gateway connected to it: the client's scheme and Host, path and query kept
        {"http://10.0.0.5:9000/plain/dir/?a=1&b=%2F#f", "http://gw.example:8080/plain/dir/?a=1&b=%2F#f"},
        {"http://10.0.0.5:9000", "http://gw.example:8080/"},
        {"http://10.0.0.5:9000?q", "http://gw.example:8080/?q"},
        {"https://10.0.0.5:9000/x", "http://gw.example:8080/x"},
        {"HTTP://10.0.0.5:9000/x", "http://gw.example:8080/x"},
        {"http://10.0.0.5:9000//evil.example/x", "http://gw.example:8080//evil.example/x"},
        // nginx's port_in_redirect: the name of the Host it was sent, the instance's port
        {"http://gw.example:9000/dir/", "http://gw.example:8080/dir/"},
        {"http://GW.example.:9000/dir/", "http://gw.example:8080/dir/"},
        // anything else as sent: paths, the client's own origin (another route's public URL), other hosts and ports
        {"/login", null}, {"/", null}, {"", null}, {"login", null}, {"//10.0.0.5:9000/x", null},
        {"http://gw.example:8080/api/payment/x", null},
        {"http://gw.example:8080", null},
        {"http://gw.example:9001/x", null},
        {"http://gw.example/x", null},
        {"http://10.0.0.5:9001/x", null},
        {"http://10.0.0.5/x", null},
        {"http://other.example:9000/x", null},
        {"http://10.0.0.5.evil:9000/x", null},
        {"http://u@10.0.0.5:9000/x", null},
        {"ftp://10.0.0.5:9000/x", null},
    };
    for (String[] row : table) {
      assertEquals(row[1], plain(row[0], null, CLIENT, false, CLIENT, INSTANCE), row[0]);
    }
    // The scheme the client used.
    assertEquals("https://gw.example:8080/x", plain("http://10.0.0.5:9000/x", null, CLIENT, true, CLIENT,
        INSTANCE));
    // pass_host: false sent the instance's address (or its TLS server name) as Host: its name on its port.
    HostAndPort sent = HostAndPort.create("api.internal", 9000);
    assertEquals("http://gw.example:8080/x", plain("http://api.internal:9000/x", null, CLIENT, false, sent,
        INSTANCE));
    assertNull(plain("http://api.internal:9001/x", null, CLIENT, false, sent, INSTANCE));
    // A client's Host without a port, or an IPv6 literal, as it sent it.
    HostAndPort bare = HostAndPort.create("gw.example", -1);
    assertEquals("http://gw.example/x", plain("http://gw.example:9000/x", null, bare, false, bare, INSTANCE));
    HostAndPort v6 = HostAndPort.create("[::1]", 8080);
    assertEquals("http://[::1]:8080/x", plain("http://[::1]:9000/x", null, v6, false, v6, inst("::1", 9000)));
    // An instance on port 80 named without its port: the Host's name on it.
    assertEquals("http://gw.example:8080/x", plain("http://gw.example/x", null, CLIENT, false, CLIENT,
        inst("10.0.0.5", 80)));
    // No Host from the client (HTTP/1.0): a path-absolute reference, never one a browser reads as another host.
    assertEquals("/x?q", plain("http://10.0.0.5:9000/x?q", null, null, false, null, INSTANCE));
    assertEquals("/", plain("http://10.0.0.5:9000", null, null, false, null, INSTANCE));
    assertNull(plain("http://10.0.0.5:9000//evil.example/x", null, null, false, null, INSTANCE));
    assertNull(plain("http://10.0.0.5:9000/\\evil.example/x", null, null, false, null, INSTANCE));
    // The Host's name on the instance's port in another scheme than the gateway speaks to it: a redirect to HTTPS
    // meant for another listener (one on the instance's port number): rewritten to the client's origin, it would loop.
    assertNull(plain("https://gw.example:9000/x", null, CLIENT, false, CLIENT, INSTANCE));
    Instance tls = new Instance("static:10.0.0.5:9000", "web", "10.0.0.5", 9000, true);
    assertEquals("https://gw.example:8080/x", plain("https://gw.example:9000/x", null, CLIENT, true, CLIENT, tls));
    assertNull(plain("http://gw.example:9000/x", null, CLIENT, true, CLIENT, tls));
    // The instance's own address in either scheme is the instance (a backend saying https behind a TLS gateway).
    assertEquals("https://gw.example:8080/x", plain("https://10.0.0.5:9000/x", null, CLIENT, true, CLIENT, tls));
    // A dns_targets instance, by the name it was found under.
    Instance named = new Instance("dns:orders.internal@10.0.0.5", "web", "10.0.0.5", 9000, false, "orders.internal.");
    assertEquals("http://gw.example:8080/x", plain("http://orders.internal:9000/x", null, CLIENT, false, CLIENT,
        named));
    assertNull(plain("http://orders.internal:9001/x", null, CLIENT, false, CLIENT, named));
    // No instance known: nothing is the instance.
    assertNull(plain("http://gw.example:9000/x", null, CLIENT, false, CLIENT, null));
    // Refresh.
    assertEquals("0; url=http://gw.example:8080/plain/x", RedirectUrl.refresh("0; url=http://10.0.0.5:9000/plain/x",
        "", null, CLIENT, false, CLIENT, INSTANCE));
  }

  @Test
  void locationsTable() {
    String[][] table = {
        // path-absolute: the prefix in front
        {"/login", "/api/payment/login"},
        {"/", "/api/payment/"},
        {"/a/b?c=/d#e", "/api/payment/a/b?c=/d#e"},
        {"/api/paymentx", "/api/payment/api/paymentx"},
        // already under the prefix: as sent
        {"/api/payment", null},
        {"/api/payment/login", null},
        {"/api/payment?x=1", null},
        // relative, network-path, other schemes: as sent
        {"", null}, {"login", null}, {"./login", null}, {"?page=2", null}, {"#top", null},
        {"//gw.example:8080/login", null}, {"/\\evil.example/x", null}, {"mailto:a@example.com", null},
        // the client's Host: absolute, the prefix before the path
        {"http://gw.example:8080/login", "http://gw.example:8080/api/payment/login"},
        {"HTTP://GW.Example:8080/login", "HTTP://GW.Example:8080/api/payment/login"},
        {"http://gw.example:8080", "http://gw.example:8080/api/payment/"},
        {"http://gw.example:8080?x", "http://gw.example:8080/api/payment/?x"},
        {"http://gw.example:8080/api/payment/x", null},
        // another port or host, user information: as sent
        {"http://gw.example/login", null},
        {"http://gw.example:8081/login", null},
        {"http://other.example:8080/login", null},
        {"http://gw.example.evil:8080/login", null},
        {"http://user@gw.example:8080/login", null},
        // the instance's address, or the Host's name on its port: the client's origin, the path under the prefix
        {"http://10.0.0.5:9000/login", "http://gw.example:8080/api/payment/login"},
        {"http://10.0.0.5:9000", "http://gw.example:8080/api/payment/"},
        {"http://10.0.0.5:9000/api/payment/login", "http://gw.example:8080/api/payment/login"},
        {"http://gw.example:9000/login", "http://gw.example:8080/api/payment/login"},
        {"http://10.0.0.5:9001/login", null},
    };
    for (String[] row : table) {
      assertEquals(row[1], url(row[0]), row[0]);
    }
  }

  @Test
  void aHostWithoutPortMatchesTheDefaultPortsOfBothSchemes() {
    HostAndPort bare = HostAndPort.create("gw.example", -1);
    assertEquals("https://gw.example/api/payment/x",
        payment("https://gw.example/x", "/api/payment", bare, false, bare, null));
    assertEquals("http://gw.example:80/api/payment/x",
        payment("http://gw.example:80/x", "/api/payment", bare, false, bare, null));
    assertEquals("http://gw.example:443/api/payment/x",
        payment("http://gw.example:443/x", "/api/payment", bare, false, bare, null));
    assertNull(payment("http://gw.example:8080/x", "/api/payment", bare, false, bare, null));
  }

  @Test
  void anIpv6InstanceMatchesWithOrWithoutBrackets() {
    assertEquals("/api/payment/x",
        payment("http://[::1]:9000/x", "/api/payment", null, false, null, inst("::1", 9000)));
    HostAndPort bracketed = HostAndPort.create("[::1]", 9000);
    assertEquals("/api/payment/x",
        payment("http://[::1]:9000/x", "/api/payment", null, false, bracketed, null));
    assertNull(payment("http://[::2]:9000/x", "/api/payment", null, false, bracketed, inst("::1", 9000)));
  }

  /**
   * An IPv6 instance named in another spelling of its address is the instance (compared by address, no name looked
   * up); a zone, another address or another port is not; IPv4 is compared as text (documentation addresses).
   */
  @Test
  void anIpv6InstanceMatchesHoweverItsAddressIsSpelt() {
    Instance v6 = inst("2001:db8::7", 9000);
    for (String same : new String[] {"http://[2001:DB8::7]:9000/x", "http://[2001:db8:0:0:0:0:0:7]:9000/x",
        "http://[2001:0db8::0007]:9000/x"}) {
      assertEquals("http://gw.example:8080/x", plain(same, "", CLIENT, false, CLIENT, v6), same);
    }
    for (String other : new String[] {"http://[2001:db8::7%251]:9000/x", "http://[2001:db8::8]:9000/x",
        "http://[2001:db8:0:0:0:0:0:7]:9001/x", "http://[::ffff:192.0.2.7]:9000/x", "http://2001:db8::7:9000/x"}) {
      assertNull(plain(other, "", CLIENT, false, CLIENT, v6), other);
    }
    assertNull(plain("http://192.000.002.007:9000/x", "", CLIENT, false, CLIENT, inst("192.0.2.7", 9000)));
    assertNull(plain("http://[::ffff:192.0.2.7]:9000/x", "", CLIENT, false, CLIENT, inst("192.0.2.7", 9000)));
  }

  @Test
  void aLocationUnderTheWholeForwardedPrefixIsLeftAlone() {
    // Behind a trusted proxy that stripped /outer: a backend reading X-Forwarded-Prefix already says it all.
    assertNull(payment("/outer/api/payment/login", "/outer/api/payment", CLIENT, false, CLIENT, null));
    assertEquals("/api/payment/login", payment("/login", "/outer/api/payment", CLIENT, false, CLIENT, null));
  }

  @Test
  void refreshTable() {
    String[][] table = {
        {"5; url=/login", "5; url=/api/payment/login"},
        {"0;URL='/login'", "0;URL='/api/payment/login'"},
        {"0; url = \"/login\"", "0; url = \"/api/payment/login\""},
        {"3, /login", "3, /api/payment/login"},
        {"0; url=http://gw.example:8080/x", "0; url=http://gw.example:8080/api/payment/x"},
        {"5", null},
        {"5;", null},
        {"5; url=login", null},
        {"5; url=https://other.example/", null},
        {"5; url=/api/payment/x", null},
    };
    for (String[] row : table) {
      assertEquals(row[1], RedirectUrl.refresh(row[0], PAYMENT, PAYMENT, CLIENT, false, CLIENT, null), row[0]);
    }
  }

  /** An IPv6 literal with something after its bracket but a port is not that address. */
  @Test
  void anIpv6LiteralFollowedByOtherTextIsNotTheAddress() {
    assertNull(payment("http://[::1]evil.example/x", "/api/payment", null, false, null, inst("::1", 80)));
    assertNull(payment("http://[::1]evil.example:9000/x", "/api/payment", null, false, null, inst("::1", 9000)));
    assertEquals("/api/payment/x",
        payment("http://[::1]:9000/x", "/api/payment", null, false, null, inst("::1", 9000)));
  }

  /** A fully qualified name ("gw.example.") is the same host as without its root dot, on either side. */
  @Test
  void aHostWithItsRootDotIsTheSameHost() {
    HostAndPort dotted = HostAndPort.create("gw.example.", 8080);
    assertEquals("http://gw.example:8080/api/payment/x",
        payment("http://gw.example:8080/x", "/api/payment", dotted, false, dotted, null));
    assertEquals("http://gw.example.:8080/api/payment/x",
        payment("http://gw.example.:8080/x", "/api/payment", CLIENT, false, CLIENT, null));
    assertNull(payment("http://gw.example..:8080/x", "/api/payment", CLIENT, false, CLIENT, null));
    assertNull(payment("http://.:8080/x", "/api/payment", HostAndPort.create("", 8080), false, null, null));
  }

  /**
   * A path under the prefix with path parameters (a servlet container's {@code ;jsessionid=}, sent before its cookie
   * is known) is under it: the route takes the prefix as a string, so the client's next request reaches the backend
   * as {@code /;jsessionid=...}; it was given the prefix a second time.
   */
  @Test
  void aPathParameterAfterThePrefixIsUnderIt() {
    assertNull(url("/api/payment;jsessionid=A1B2"));
    assertEquals("http://gw.example:8080/api/payment;jsessionid=A1B2",
        url("http://10.0.0.5:9000/api/payment;jsessionid=A1B2"));
    assertEquals("/api/payment/api/paymentx;a", url("/api/paymentx;a"));
  }
}
