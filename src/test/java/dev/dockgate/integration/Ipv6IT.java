package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.dockgate.testing.GatewayJar;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.Ports;
import dev.dockgate.testing.RawHttp;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real jar on a dual-stack listener ({@code ::}), with clients over {@code ::1} and 127.0.0.1 and a backend on
 * {@code ::1}: the addresses it writes (X-Forwarded-For, the access log's {@code client}, rate-limit keys) as RFC
 * 5952 writes them, an IPv4-mapped {@code trusted_proxies} network, Host with an empty port, an IPv6 fixed target's
 * name. 2001:db8::/32 addresses (documentation) appear only as header values, never dialled.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class Ipv6IT {

  static final Vertx vertx = Vertx.vertx();
  static final LinkedBlockingQueue<MultiMap> received = new LinkedBlockingQueue<>();
  static HttpServer backend;

  @TempDir
  Path dir;
  Path log;

  @BeforeAll
  static void start() throws Exception {
    backend = vertx.createHttpServer().requestHandler(req -> {
      received.add(MultiMap.caseInsensitiveMultiMap().addAll(req.headers()));
      String location = req.getHeader("x-answer-location"); // a redirect, PORT standing for the backend's own port
      if (location != null) {
        req.response().setStatusCode(302).putHeader("location", location.replace("PORT", "" + backend.actualPort()));
      }
      req.response().end("ok");
    }).listen(0, "::1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() {
    vertx.close();
  }

  @BeforeEach
  void clear() {
    received.clear();
    log = dir.resolve("access.json");
  }

  GatewayJar gateway(String serverLines, int adminPort) {
    return new GatewayJar(dir, "  host: \"::\"\n  admin_listener: {host: \"::1\", port: " + adminPort + "}\n" + serverLines, """
        docker: {enabled: false}
        access_log: {enabled: true, format: json, path: "%s"}
        routes:
          - {path_prefix: /, backend: v6}
          - {path_prefix: /hosted, backend: v6, host: "::1", strip_prefix: true}
          - {path_prefix: /cors, backend: v6, cors: {allow_origins: ["http://[0:0:0:0:0:0:0:1]:3000"]}}
          - path_prefix: /limited
            backend: v6
            rate_limit: {requests_per_second: 0.001, burst: 1}
          - path_prefix: /per-network
            backend: v6
            rate_limit: {requests_per_second: 0.001, burst: 1, ipv6_prefix: 64}
        backends:
          - {name: v6, targets: ["http://[::1]:%d"]}
        """.formatted(log, backend.actualPort()), 1);
  }

  static HttpResponse<String> get(String host, int port, String path, String... headers) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://" + host + ":" + port + path))
        .timeout(Duration.ofSeconds(10));
    if (headers.length > 0) {
      request.headers(headers);
    }
    return HttpClient.newHttpClient().send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  static MultiMap backendGot() throws InterruptedException {
    MultiMap headers = received.poll(10, TimeUnit.SECONDS);
    if (headers == null) {
      throw new AssertionError("the backend got no request");
    }
    return headers;
  }

  List<JsonObject> logged(int count) {
    Poll.until(Duration.ofSeconds(5), count + " lines logged", () -> lines().size() >= count);
    return lines();
  }

  List<JsonObject> lines() {
    try {
      return Files.exists(log) ? Files.readAllLines(log).stream().map(JsonObject::new).toList() : List.of();
    } catch (IOException e) {
      return List.of();
    }
  }

  /**
   * An IPv6 client is ::1 in X-Forwarded-For and the access log, as nginx writes it: it was 0:0:0:0:0:0:0:1%0 (the
   * JDK's text with the zone of io_uring, the transport users run), which nginx's real_ip and Go's net.ParseIP refuse, so a
   * backend behind the gateway took the gateway for the client. An IPv4 client on the same listener stays 127.0.0.1.
   */
  @Test
  void anIpv6ClientIsWrittenAsRfc5952WritesIt() throws Exception {
    try (GatewayJar gw = gateway("", Ports.free())) {
      forwards(gw, new String[] {"[::1]", null, "::1", "::1"},
          new String[] {"127.0.0.1", null, "127.0.0.1", "127.0.0.1"});
    }
  }

  /**
   * For each case {client's host, its X-Forwarded-For or null, the X-Forwarded-For the backend gets, the access log's
   * client}: one request, in order.
   */
  void forwards(GatewayJar gw, String[]... cases) throws Exception {
    for (String[] c : cases) {
      String[] headers = c[1] == null ? new String[0] : new String[] {"X-Forwarded-For", c[1]};
      assertEquals(200, get(c[0], gw.port(), "/a", headers).statusCode());
      assertEquals(c[2], backendGot().get("X-Forwarded-For"), String.join(" ", c[0], "" + c[1]));
    }
    List<JsonObject> lines = logged(cases.length);
    for (int i = 0; i < cases.length; i++) {
      assertEquals(cases[i][3], lines.get(i).getString("client"), lines.get(i).encode());
    }
  }

  /**
   * {@code trusted_proxies: ["::ffff:127.0.0.0/104"]}, the IPv4-mapped spelling of 127.0.0.0/8, trusts the IPv4 peers
   * of a dual-stack listener, as the JDK hands them over as IPv4 (it was refused: "expected an IP address or CIDR");
   * an IPv6 peer outside it is not trusted: its X-Forwarded-For is replaced.
   */
  @Test
  void anIpv4MappedTrustedNetworkTrustsIpv4PeersOfADualStackListener() throws Exception {
    try (GatewayJar gw = gateway("  trusted_proxies: [\"::ffff:127.0.0.0/104\"]\n", Ports.free())) {
      // 2001:db8::7: a documentation address, a header value only
      forwards(gw, new String[] {"127.0.0.1", "2001:db8::7", "2001:db8::7, 127.0.0.1", "2001:db8::7"},
          new String[] {"[::1]", "2001:db8::7", "::1", "::1"});
    }
  }

  /**
   * An address forwarded by a trusted proxy is one client however it is spelt: upper case, zeros written out, an
   * IPv4-mapped form share one {@code client_ip} budget and are logged as RFC 5952 writes them. Each spelling was a
   * key of its own, with a fresh burst.
   */
  @Test
  void oneForwardedAddressIsOneClientHoweverItIsSpelt() throws Exception {
    try (GatewayJar gw = gateway("  trusted_proxies: [127.0.0.1]\n", Ports.free())) {
      // documentation addresses (2001:db8::/32, 192.0.2.0/24), header values only
      assertEquals(200, get("127.0.0.1", gw.port(), "/limited", "X-Forwarded-For", "2001:db8::7").statusCode());
      assertEquals(429, get("127.0.0.1", gw.port(), "/limited", "X-Forwarded-For", "2001:DB8:0:0:0:0:0:7").statusCode());
      assertEquals(200, get("127.0.0.1", gw.port(), "/limited", "X-Forwarded-For", "::ffff:192.0.2.1").statusCode());
      assertEquals(429, get("127.0.0.1", gw.port(), "/limited", "X-Forwarded-For", "192.0.2.1").statusCode());
      List<JsonObject> lines = logged(4);
      assertEquals(List.of("2001:db8::7", "2001:db8::7", "192.0.2.1", "192.0.2.1"),
          lines.stream().map(line -> line.getString("client")).toList());
    }
  }

  /**
   * A forwarded address written with its port, as Azure Application Gateway and IIS ARR write X-Forwarded-For
   * ({@code 192.0.2.5:4711}), or in RFC 7239's node form ({@code [2001:db8::9]:4711}, {@code [2001:db8::9]}), is that
   * address, as nginx's real_ip reads it: before, such an entry ended the walk at the peer, so every client behind
   * such a proxy was the proxy, one rate-limit budget for all. A zone or any other text still ends it at the peer.
   */
  @Test
  void aForwardedAddressWithItsPortIsThatAddress() throws Exception {
    try (GatewayJar gw = gateway("  trusted_proxies: [127.0.0.1]\n", Ports.free())) {
      // documentation addresses (2001:db8::/32, 192.0.2.0/24), header values only
      assertEquals(200, get("127.0.0.1", gw.port(), "/limited", "X-Forwarded-For", "192.0.2.5:4711").statusCode());
      assertEquals(429, get("127.0.0.1", gw.port(), "/limited", "X-Forwarded-For", "192.0.2.5").statusCode());
      assertEquals(200, get("127.0.0.1", gw.port(), "/limited", "X-Forwarded-For", "[2001:db8::9]:4711").statusCode());
      assertEquals(429, get("127.0.0.1", gw.port(), "/limited", "X-Forwarded-For", "[2001:DB8::9]").statusCode());
      assertEquals(200, get("127.0.0.1", gw.port(), "/limited", "X-Forwarded-For", "fe80::1%eth0").statusCode());
      assertEquals(429, get("127.0.0.1", gw.port(), "/limited", "X-Forwarded-For", "192.0.2.6:x").statusCode());
      List<JsonObject> lines = logged(6);
      assertEquals(List.of("192.0.2.5", "192.0.2.5", "2001:db8::9", "2001:db8::9", "127.0.0.1", "127.0.0.1"),
          lines.stream().map(line -> line.getString("client")).toList());
    }
  }

  /**
   * An X-Forwarded-For entry that other parsers read as another address, or refuse, is no address: the walk ends at
   * the peer, as for any other entry that is not one. A dotted-decimal part with a leading zero ({@code 192.0.2.005}:
   * decimal here, octal for inet_aton, refused by Go's net.ParseIP since CVE-2021-29923), a port of 0 or over 65535,
   * a zone ({@code fe80::1%1}). Each was taken for the address it seemed to hold, so a backend, another proxy and the
   * gateway could each name another client for one request.
   */
  @Test
  void aForwardedEntryThatParsersReadDifferentlyIsNoAddress() throws Exception {
    try (GatewayJar gw = gateway("  trusted_proxies: [127.0.0.1]\n", Ports.free())) {
      // documentation addresses (2001:db8::/32, 192.0.2.0/24), header values only
      List<String> entries = List.of("192.0.2.005", "::ffff:192.0.2.05", "192.0.2.5:0", "192.0.2.5:99999",
          "[2001:db8::7]:70000", "[2001:db8::7]:0", "fe80::1%1", "192.0.2.5:65535", "[2001:db8::7]:1");
      for (String entry : entries) {
        assertEquals(200, get("127.0.0.1", gw.port(), "/a", "X-Forwarded-For", entry).statusCode(), entry);
      }
      List<JsonObject> lines = logged(entries.size());
      assertEquals(List.of("127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.1",
          "192.0.2.5", "2001:db8::7"), lines.stream().map(line -> line.getString("client")).toList(),
          String.join(" | ", entries));
    }
  }

  /**
   * A redirect from the instance at {@code [::1]:PORT} naming it in another spelling ({@code [0:0:0:0:0:0:0:1]},
   * {@code [::0001]}) names the instance: it gets the client's origin, as {@code [::1]} does. It was compared as text
   * and sent on, pointing the client at the internal instance. Another address on that port is left alone.
   */
  @Test
  void aRedirectNamingTheIpv6InstanceInAnotherSpellingGetsTheClientsOrigin() throws Exception {
    try (GatewayJar gw = gateway("", Ports.free())) {
      String origin = "http://127.0.0.1:" + gw.port();
      for (String[] c : new String[][] {
          {"http://[::1]:PORT/x?q=1", origin + "/x?q=1"},
          {"http://[0:0:0:0:0:0:0:1]:PORT/x", origin + "/x"},
          {"http://[::0001]:PORT/x", origin + "/x"},
          {"http://[0::1]:PORT", origin + "/"},
          {"http://[::2]:PORT/x", "http://[::2]:PORT/x"}}) {
        HttpResponse<String> answer = get("127.0.0.1", gw.port(), "/a", "X-Answer-Location", c[0]);
        assertEquals(302, answer.statusCode(), c[0]);
        assertEquals(c[1].replace("PORT", "" + backend.actualPort()), answer.headers().firstValue("location").orElse(null),
            c[0]);
      }
    }
  }

  /**
   * {@code Host: [::1]:} (an empty port, which RFC 3986 allows) is the host without a port, as nginx takes it: the
   * backend was sent {@code Host: [::1]:0} and X-Forwarded-Host {@code [::1]:0}, and a redirect rewritten to the
   * client's origin pointed at port 0. The same for a name, and for an absolute-form target.
   */
  @Test
  void anEmptyPortInHostIsNoPort() throws Exception {
    try (GatewayJar gw = gateway("", Ports.free())) {
      for (String[] sent : new String[][] {
          {"GET /a HTTP/1.1\r\nHost: [::1]:\r\n", "[::1]"},
          {"GET /a HTTP/1.1\r\nHost: a.example:\r\n", "a.example"},
          {"GET http://[::1]:/a HTTP/1.1\r\nHost: b.example\r\n", "[::1]"}}) {
        RawHttp.Exchange exchange = RawHttp.exchange("::1", gw.port(),
            (sent[0] + "Connection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII), 1, 200, 10_000);
        assertEquals(200, exchange.status(), exchange.raw());
        MultiMap got = backendGot();
        assertEquals(sent[1], got.get("Host"), sent[0]);
        assertEquals(sent[1], got.get("X-Forwarded-Host"), sent[0]);
      }
    }
  }

  /**
   * A fixed target {@code http://[::1]:PORT} is named {@code [::1]:PORT} in /admin/routes and the access log (it was
   * {@code ::1:PORT}, which reads as the address ::1:PORT with no port), its id {@code static:[::1]:PORT}; the
   * listeners are said to listen on {@code [::]:PORT} and {@code [::1]:PORT} (they were {@code :::PORT}).
   */
  @Test
  void anIpv6TargetIsNamedWithBrackets() throws Exception {
    int admin = Ports.free();
    try (GatewayJar gw = gateway("", admin)) {
      assertEquals(200, get("[::1]", gw.port(), "/a").statusCode());
      String named = "[::1]:" + backend.actualPort();
      assertEquals(named, logged(1).get(0).getString("instance"));
      JsonObject instance = new JsonObject(get("[::1]", admin, "/admin/routes").body())
          .getJsonArray("backends").getJsonObject(0).getJsonArray("instances").getJsonObject(0);
      assertEquals(named, instance.getString("name"));
      assertEquals("static:" + named, instance.getString("id"));
      assertEquals(named, instance.getString("address"));
      String said = "gateway listening on [::]:" + gw.port() + ", admin endpoints on [::1]:" + admin + " ";
      org.junit.jupiter.api.Assertions.assertTrue(gw.output().contains(said), gw.output());
    }
  }

  /**
   * A route whose host is {@code ::1} (it was refused: "a host name with a port") takes {@code Host: [::1]} alone
   * (its strip_prefix says so in X-Forwarded-Prefix); 127.0.0.1 goes to the host-less route.
   */
  @Test
  void aRouteForAnIpv6HostTakesThatHostAlone() throws Exception {
    try (GatewayJar gw = gateway("", Ports.free())) {
      assertEquals(200, get("[::1]", gw.port(), "/hosted/x").statusCode());
      assertEquals("/hosted", backendGot().get("X-Forwarded-Prefix"));
      assertEquals(200, get("127.0.0.1", gw.port(), "/hosted/x").statusCode());
      assertEquals(null, backendGot().get("X-Forwarded-Prefix"));
    }
  }

  /**
   * An allowed origin written {@code http://[0:0:0:0:0:0:0:1]:3000} is the one a browser sends for that page,
   * {@code http://[::1]:3000} (the WHATWG URL serializer compresses IPv6): its preflight was refused (403), as the
   * origins were compared as written.
   */
  @Test
  void anIpv6OriginIsAllowedHoweverTheConfigSpellsIt() throws Exception {
    try (GatewayJar gw = gateway("", Ports.free())) {
      HttpResponse<String> preflight = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
              URI.create("http://[::1]:" + gw.port() + "/cors/x")).method("OPTIONS", HttpRequest.BodyPublishers.noBody())
          .header("Origin", "http://[::1]:3000").header("Access-Control-Request-Method", "GET")
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(204, preflight.statusCode(), preflight.body());
      assertEquals("http://[::1]:3000", preflight.headers().firstValue("Access-Control-Allow-Origin").orElse(null));
    }
  }

  /**
   * {@code ipv6_prefix: 64} keys IPv6 clients by their /64, the network a host is given and picks source addresses
   * from (a fresh address was a fresh budget); IPv4 clients, IPv4-mapped ones too, keep their address. Addresses in
   * the documentation ranges, as forwarded header values only.
   */
  @Test
  void anIpv6PrefixKeysIpv6ClientsByTheirNetwork() throws Exception {
    try (GatewayJar gw = gateway("  trusted_proxies: [127.0.0.1]\n", Ports.free())) {
      assertEquals(200, get("127.0.0.1", gw.port(), "/per-network", "X-Forwarded-For", "2001:db8:1:2::7").statusCode());
      assertEquals(429, get("127.0.0.1", gw.port(), "/per-network", "X-Forwarded-For", "2001:db8:1:2:a:b:c:d").statusCode());
      assertEquals(200, get("127.0.0.1", gw.port(), "/per-network", "X-Forwarded-For", "2001:db8:1:3::7").statusCode());
      assertEquals(200, get("127.0.0.1", gw.port(), "/per-network", "X-Forwarded-For", "192.0.2.1").statusCode());
      assertEquals(200, get("127.0.0.1", gw.port(), "/per-network", "X-Forwarded-For", "::ffff:192.0.2.2").statusCode());
      assertEquals(429, get("127.0.0.1", gw.port(), "/per-network", "X-Forwarded-For", "192.0.2.2").statusCode());
      // Without it, each address of one /64 is its own client, as before.
      assertEquals(200, get("127.0.0.1", gw.port(), "/limited", "X-Forwarded-For", "2001:db8:1:2::7").statusCode());
      assertEquals(200, get("127.0.0.1", gw.port(), "/limited", "X-Forwarded-For", "2001:db8:1:2::8").statusCode());
    }
  }
}
