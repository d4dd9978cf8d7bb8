package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.dockgate.testing.FakeDns;
import dev.dockgate.testing.GatewayJar;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.Ports;
import dev.dockgate.testing.TestCerts;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code dns_targets}: a name resolving to 127.0.0.1 and ::1 (the jar's DNS pointed at {@link FakeDns} on 127.0.0.1,
 * so no lookup leaves the host) is two instances, each on its own backend server with the same port: both serve, each
 * has its own circuit, the backend is asked with the name as Host; an address the name loses leaves rotation, one it
 * gains joins, and while the DNS server fails the addresses last found keep serving.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class DnsTargetsIT {

  static final String NAME = "svc.dockgate.test";

  @TempDir
  Path dir;
  final List<HttpServer> servers = new ArrayList<>();
  FakeDns dns;
  GatewayJar gateway;
  Vertx vertx;

  @AfterEach
  void stop() throws InterruptedException {
    if (gateway != null) {
      gateway.close();
    }
    if (vertx != null) {
      vertx.close().await();
    }
    servers.forEach(s -> s.stop(0));
    if (dns != null) {
      dns.close();
    }
  }

  /** A server on {@code host}:{@code port} answering "{@code tag} HOST-HEADER". */
  HttpServer serve(String host, int port, String tag) throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 0);
    server.createContext("/", exchange -> {
      exchange.getRequestBody().readAllBytes();
      byte[] body = (tag + " " + exchange.getRequestHeaders().getFirst("Host")).getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    server.start();
    servers.add(server);
    return server;
  }

  /** One server on 127.0.0.1 and one on ::1, on the same port number; returns the port. */
  int twoServers() throws IOException {
    for (int tries = 0; ; tries++) {
      HttpServer v4 = serve("127.0.0.1", 0, "v4");
      int port = v4.getAddress().getPort();
      try {
        serve("::1", port, "v6");
        return port;
      } catch (BindException taken) {
        servers.remove(v4);
        v4.stop(0);
        if (tries == 10) {
          throw taken;
        }
      }
    }
  }

  GatewayJar start(String backends) throws IOException {
    return start("", """
        access_log: {enabled: false}
        routes:
          - {path_prefix: /svc, backend: svc, pass_host: false}
          - {path_prefix: /never, backend: never}
        """, backends);
  }

  /** The jar with its resolver on {@link #dns} and a hosts file of localhost and {@code hosts}; {@code sections}: routes and more. */
  GatewayJar start(String hosts, String sections, String backends) throws IOException {
    Path options = dir.resolve("options.json");
    Files.writeString(dir.resolve("hosts"), "127.0.0.1 localhost\n" + hosts);
    Files.writeString(options, "{\"addressResolverOptions\": {\"servers\": [\"127.0.0.1:" + dns.port()
        + "\"], \"hostsPath\": \"" + dir.resolve("hosts") + "\"}}");
    return new GatewayJar(dir, "", "docker: {enabled: false}\n" + sections + "backends:\n" + backends, 1, Map.of(),
        List.of(), List.of("-options", options.toString()), Duration.ofSeconds(30));
  }

  /** The tags of the servers that answered {@code n} requests (all must be 200). */
  Set<String> answeredBy(int n) throws Exception {
    Set<String> tags = new HashSet<>();
    for (int i = 0; i < n; i++) {
      HttpResponse<String> reply = gateway.get("/svc/" + i);
      assertEquals(200, reply.statusCode(), reply.body() + "\n" + gateway.output());
      tags.add(reply.body());
    }
    return tags;
  }

  JsonArray instances(String backend) {
    HttpResponse<String> routes;
    try {
      String admin = Files.readString(gateway.config()).replaceAll("(?s).*admin_listener: \\{port: (\\d+)}.*", "$1");
      routes = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + admin + "/admin/routes")).timeout(Duration.ofSeconds(5)).build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
    for (Object b : new JsonObject(routes.body()).getJsonArray("backends")) {
      if (((JsonObject) b).getString("name").equals(backend)) {
        return ((JsonObject) b).getJsonArray("instances");
      }
    }
    throw new AssertionError("no backend " + backend + " in " + routes.body());
  }

  /**
   * The name resolving to 127.0.0.1 and ::1, a server on each, and the gateway with backend "svc" on the name
   * ({@code svcOptions}: more of its keys) and "never" on a name that does not resolve; returns the name:port.
   */
  String nameOnBothLoopbacks(String svcOptions) throws IOException {
    dns = new FakeDns();
    dns.answer(NAME, "127.0.0.1", "::1");
    int port = twoServers();
    String host = NAME + ":" + port;
    gateway = start("""
          - {name: svc, load_balancer: round_robin, dns_targets: ["http://%s"], dns_refresh_ms: 200%s}
          - {name: never, dns_targets: ["http://nowhere.dockgate.test:%d"]}
        """.formatted(host, svcOptions, port));
    return host;
  }

  @Test
  void everyAddressOfTheNameIsAnInstanceAndFollowsTheDns() throws Exception {
    String host = nameOnBothLoopbacks("");
    int port = Integer.parseInt(host.substring(host.indexOf(':') + 1));

    assertEquals(Set.of("v4 " + host, "v6 " + host), answeredBy(6),
        "both addresses serve, asked as the name (pass_host: false)\n" + gateway.output());
    JsonArray both = instances("svc");
    assertEquals(2, both.size(), both.encode());
    Set<String> addresses = new HashSet<>();
    both.forEach(i -> addresses.add(((JsonObject) i).getString("address")));
    assertEquals(Set.of("127.0.0.1:" + port, "[::1]:" + port), addresses);
    assertTrue(both.encode().contains("\"id\":\"dns:http://" + host + "@::1\""), both.encode());
    HttpResponse<String> never = gateway.get("/never/x");
    assertEquals(503, never.statusCode(), never.body());

    // The name loses ::1: that instance leaves rotation within the TTL (1 s) and a refresh.
    dns.answer(NAME, "127.0.0.1");
    Poll.until(Duration.ofSeconds(10), "::1 out of the backend", () -> instances("svc").size() == 1);
    assertEquals(Set.of("v4 " + host), answeredBy(6));

    // The DNS server fails: the address last found keeps serving, the failure is said once.
    dns.failing(true);
    int asked = dns.questions();
    Poll.until(Duration.ofSeconds(10), "the gateway asking the failing server", () -> dns.questions() >= asked + 4);
    assertEquals(Set.of("v4 " + host), answeredBy(4));
    assertEquals(1, instances("svc").size());
    String output = gateway.output();
    assertEquals(1, output.lines().filter(l -> l.contains("dns target http://" + host + " does not resolve")).count(),
        output);
    assertTrue(output.contains("keeping its last addresses (127.0.0.1)"), output);

    // Back, with ::1 again: both serve.
    dns.failing(false);
    dns.answer(NAME, "127.0.0.1", "::1");
    Poll.until(Duration.ofSeconds(10), "::1 back", () -> instances("svc").size() == 2);
    assertEquals(Set.of("v4 " + host, "v6 " + host), answeredBy(6));
    assertTrue(gateway.output().contains("dns target http://" + host + " resolves again"), gateway.output());
  }

  @Test
  void eachAddressHasItsOwnCircuit() throws Exception {
    String host = nameOnBothLoopbacks(", circuit_breaker: {max_failures: 1, reset_timeout_ms: 60000, startup_grace_ms: 0}");
    assertEquals(Set.of("v4 " + host, "v6 " + host), answeredBy(4));

    servers.get(1).stop(0); // the server on ::1
    int failed = 0;
    for (int i = 0; i < 6; i++) {
      if (gateway.get("/svc/" + i).statusCode() != 200) {
        failed++;
      }
    }
    assertTrue(failed <= 1, "only the try that found ::1 down fails, then its circuit is open: " + failed);
    JsonArray instances = instances("svc");
    for (Object i : instances) {
      JsonObject instance = (JsonObject) i;
      boolean v6 = instance.getString("address").startsWith("[::1]");
      assertEquals(v6 ? "OPEN" : "CLOSED", instance.getString("circuit"), instances.encode());
    }
    assertEquals(Set.of("v4 " + host), answeredBy(4));
  }

  static final String OTHER = "other.dockgate.test";

  /**
   * An HTTPS server with {@code cert} on 127.0.0.1 and one on ::1, same port; each answers "v4|v6 SNI HOST" and keeps
   * that line for each /health request in {@code checks}. Returns the port.
   */
  int tlsServers(TestCerts.Pem cert, List<String> checks) throws Exception {
    if (vertx == null) {
      vertx = Vertx.vertx();
    }
    for (int tries = 0; ; tries++) {
      int port = tlsServer("127.0.0.1", 0, "v4", cert, checks);
      try {
        tlsServer("::1", port, "v6", cert, checks);
        return port;
      } catch (Exception taken) {
        if (tries == 10) {
          throw taken;
        }
      }
    }
  }

  int tlsServer(String host, int port, String tag, TestCerts.Pem cert, List<String> checks) throws Exception {
    HttpServerOptions options = new HttpServerOptions().setHost(host).setPort(port).setSsl(true).setSni(true)
        .setKeyCertOptions(new PemKeyCertOptions().setCertPath(cert.cert().toString()).setKeyPath(cert.key().toString()));
    return vertx.createHttpServer(options).requestHandler(req -> {
      String line = tag + " " + req.connection().indicatedServerName() + " " + req.getHeader("host");
      if (req.path().equals("/health")) {
        checks.add(line);
      }
      req.response().end(line);
    }).listen().await(10, TimeUnit.SECONDS).actualPort();
  }

  /**
   * An https dns_target whose certificate names only the DNS name: connections go to each address (127.0.0.1 and
   * ::1), SNI, the certificate check and Host use the name; health checks too.
   */
  @Test
  void httpsAddressesAreCheckedAgainstTheName() throws Exception {
    TestCerts.Pem cert = TestCerts.forNames(dir, "svc", "dns:" + NAME);
    List<String> checks = new CopyOnWriteArrayList<>();
    dns = new FakeDns();
    dns.answer(NAME, "127.0.0.1", "::1");
    int port = tlsServers(cert, checks);
    String host = NAME + ":" + port;
    gateway = start("""
          - {name: svc, load_balancer: round_robin, dns_targets: ["https://%s"], dns_refresh_ms: 200,
             tls: {ca_file: "%s"}, health_check: {path: /health, interval_ms: 500, healthy_threshold: 1, unhealthy_threshold: 3}}
          - {name: never, dns_targets: ["http://nowhere.dockgate.test:%d"]}
        """.formatted(host, cert.cert(), port));
    try {
      Poll.until(Duration.ofSeconds(15), "both addresses checked",
          () -> checks.contains("v4 " + NAME + " " + host) && checks.contains("v6 " + NAME + " " + host));
      Poll.until(Duration.ofSeconds(15), "both healthy",
          () -> instances("svc").stream().allMatch(i -> ((JsonObject) i).getBoolean("healthy")));
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + ": " + checks + " " + instances("svc").encode() + "\n" + gateway.output(), e);
    }
    assertEquals(Set.of("v4 " + NAME + " " + host, "v6 " + NAME + " " + host), answeredBy(6), gateway.output());
    assertEquals(Set.of("v4 " + NAME + " " + host, "v6 " + NAME + " " + host), Set.copyOf(checks), checks.toString());
    for (Object i : instances("svc")) {
      assertEquals(true, ((JsonObject) i).getBoolean("healthy"), instances("svc").encode());
    }
    assertTrue(!gateway.output().contains("SEVERE"), gateway.output());
  }

  /**
   * A name written as a fully qualified one, with its trailing dot (no search domain tried, as Kubernetes users write
   * them): looked up as written; SNI, the certificate check and Host take it without the dot (an SNI host name may not
   * end with one: every TLS connection failed, 502 and a stack trace each).
   */
  @Test
  void aFullyQualifiedNameIsSentWithoutItsTrailingDot() throws Exception {
    TestCerts.Pem cert = TestCerts.forNames(dir, "svc", "dns:" + NAME);
    dns = new FakeDns();
    dns.answer(NAME, "127.0.0.1", "::1");
    int port = tlsServers(cert, new CopyOnWriteArrayList<>());
    gateway = start("""
          - {name: svc, load_balancer: round_robin, dns_targets: ["https://%s.:%d"], tls: {ca_file: "%s"},
             connect_timeout_ms: 10000}
          - {name: never, dns_targets: ["http://nowhere.dockgate.test:%d"]}
        """.formatted(NAME, port, cert.cert(), port));
    Poll.until(Duration.ofSeconds(10), "two instances", () -> instances("svc").size() == 2);
    String host = NAME + ":" + port;
    assertEquals(Set.of("v4 " + NAME + " " + host, "v6 " + NAME + " " + host), answeredBy(4), gateway.output());
    assertTrue(!gateway.output().contains("trailing dot"), gateway.output());
  }

  /**
   * Two names on one address (virtual hosts behind one IP, as an ingress serves them): each name's connections carry
   * its own SNI, never the other's connection reused.
   */
  @Test
  void twoNamesOnOneAddressKeepTheirOwnTlsConnections() throws Exception {
    TestCerts.Pem cert = TestCerts.forNames(dir, "both", "dns:" + NAME + ",dns:" + OTHER);
    dns = new FakeDns();
    dns.answer(NAME, "127.0.0.1", "::1");
    dns.answer(OTHER, "127.0.0.1", "::1");
    int port = tlsServers(cert, new CopyOnWriteArrayList<>());
    gateway = start("""
          - {name: svc, load_balancer: round_robin, dns_targets: ["https://%s:%d", "https://%s:%d"], tls: {ca_file: "%s"},
             connect_timeout_ms: 10000}
          - {name: never, dns_targets: ["http://nowhere.dockgate.test:%d"]}
        """.formatted(NAME, port, OTHER, port, cert.cert(), port));
    Poll.until(Duration.ofSeconds(10), "four instances", () -> instances("svc").size() == 4);
    // (connect_timeout_ms covers the TLS handshake: a cold JVM's first ones can take seconds on a busy machine.)
    Set<String> answers = answeredBy(12);
    for (String answer : answers) {
      String[] parts = answer.split(" ");
      assertEquals(parts[1] + ":" + port, parts[2], "SNI and Host name one backend: " + answers);
    }
    assertEquals(4, answers.size(), answers.toString());
  }

  /** A name in the hosts file with an IPv4 and an IPv6 address is two instances, as a name in DNS is. */
  @Test
  void aHostsFileNameWithBothFamiliesIsTwoInstances() throws Exception {
    dns = new FakeDns();
    int port = twoServers();
    String host = "hosts.dockgate.test:" + port;
    gateway = start("127.0.0.1 hosts.dockgate.test\n::1 hosts.dockgate.test\n", """
        access_log: {enabled: false}
        routes:
          - {path_prefix: /svc, backend: svc, pass_host: false}
        """, """
          - {name: svc, load_balancer: round_robin, dns_targets: ["http://%s"], dns_refresh_ms: 200}
        """.formatted(host));
    assertEquals(2, instances("svc").size(), instances("svc").encode());
    assertEquals(Set.of("v4 " + host, "v6 " + host), answeredBy(6));
    assertEquals(0, dns.questions("hosts.dockgate.test"), "the hosts file answers, not DNS");
  }

  /** Records with a TTL of 30 s are not asked for again every dns_refresh_ms (200 ms): the cache answers. */
  @Test
  void theRecordsTtlIsKept() throws Exception {
    int before = twoInstances(30, 30, 200);
    Thread.sleep(2_000);
    int during30 = dns.questions(NAME) - before;
    assertTrue(during30 == 0, "a TTL of 30 s: asked " + during30 + " times in 2 s");

    dns.ttl(0);
    dns.answer(NAME, "127.0.0.1"); // the cached records (30 s) still answer
    Thread.sleep(1_000);
    assertEquals(2, instances("svc").size(), "cached for 30 s");
    assertEquals(before, dns.questions(NAME));
  }

  /**
   * A and AAAA records with different TTLs (a caching server in between gives each what is left of its own): when the
   * shorter one runs out, both families are asked again; neither leaves rotation meanwhile.
   */
  @Test
  void aAndAaaaWithDifferentTtlsKeepBothFamilies() throws Exception {
    int before = twoInstances(1, 30, 200);
    for (int i = 0; i < 25; i++) {
      Thread.sleep(100);
      assertEquals(2, instances("svc").size(), "at " + i * 100 + " ms: " + instances("svc").encode());
    }
    int asked = dns.questions(NAME) - before;
    assertTrue(asked >= 2 && asked <= 16, "asked " + asked + " times in 2.5 s (25 refreshes: 50 questions)");
    System.out.println("A TTL 1 s, AAAA TTL 30 s: asked " + asked + " times in 2.5 s");
  }

  @Test
  void aTtlOfZeroIsAskedOncePerRefresh() throws Exception {
    int before = twoInstances(0, 0, 200);
    Thread.sleep(2_000);
    int asked = dns.questions(NAME) - before;
    // Every 200 ms one lookup, A and AAAA: about 20 in 2 s, never more than one lookup per refresh.
    assertTrue(asked >= 8 && asked <= 24, "asked " + asked + " times in 2 s");
    System.out.println("TTL 0, refresh 200 ms: asked " + asked + " times in 2 s");
  }

  /**
   * The name on 127.0.0.1 and ::1 with these TTLs (A, AAAA), asked again every {@code refreshMs}, both in rotation;
   * returns how many questions about it the DNS server had by then.
   */
  int twoInstances(int a, int aaaa, long refreshMs) throws IOException {
    dns = new FakeDns();
    dns.ttl(a, aaaa);
    dns.answer(NAME, "127.0.0.1", "::1");
    int port = twoServers();
    gateway = start("""
          - {name: svc, load_balancer: round_robin, dns_targets: ["http://%s:%d"], dns_refresh_ms: %d}
          - {name: never, dns_targets: ["http://nowhere.dockgate.test:%d"]}
        """.formatted(NAME, port, refreshMs, port));
    Poll.until(Duration.ofSeconds(10), "two instances", () -> instances("svc").size() == 2);
    return dns.questions(NAME);
  }

  /**
   * A DNS server that stops answering: one lookup in flight per name (no pile-up behind the refresh), the addresses kept
   * and serving, one warning; a SIGTERM with a lookup in flight stops at once, with no SEVERE line nor stack trace.
   */
  @Test
  void aSilentDnsServerKeepsTheAddressesAndDoesNotPileUpLookups() throws Exception {
    String host = nameOnBothLoopbacks("");
    assertEquals(Set.of("v4 " + host, "v6 " + host), answeredBy(4));
    dns.silent(true);
    int before = dns.questions(NAME);
    long end = System.nanoTime() + Duration.ofSeconds(8).toNanos();
    int requests = 0;
    while (System.nanoTime() < end && requests < 400) {
      HttpResponse<String> reply = gateway.get("/svc/" + requests++);
      assertEquals(200, reply.statusCode(), reply.body());
      Thread.sleep(20);
    }
    int asked = dns.questions(NAME) - before;
    String output = gateway.output();
    System.out.println("silent DNS: asked " + asked + " times in 8 s; " + requests + " requests, all 200");
    assertEquals(2, instances("svc").size());
    assertTrue(asked <= 24, "one lookup in flight: asked " + asked + " times in 8 s");
    long stopping = System.nanoTime();
    gateway.close();
    long stopMs = (System.nanoTime() - stopping) / 1_000_000;
    output = gateway.output();
    assertTrue(stopMs < 5_000, "stopped in " + stopMs + " ms\n" + output);
    assertTrue(!output.contains("SEVERE") && !output.contains("Exception") && !output.contains("\tat "), output);
    gateway = null;
  }

  /**
   * Reloads while requests flow: changing dns_refresh_ms, adding a dns target (its own name, on 127.0.0.1), then
   * removing it: no answer but 200 for the unchanged name.
   */
  @Test
  void reloadsWhileRequestsFlowLeaveAnUnchangedNameServing() throws Exception {
    String host = nameOnBothLoopbacks("");
    dns.answer(OTHER, "127.0.0.1");
    HttpServer other = serve("127.0.0.1", 0, "other");
    String config = Files.readString(gateway.config());
    AtomicBoolean run = new AtomicBoolean(true);
    AtomicInteger ok = new AtomicInteger();
    List<String> bad = new CopyOnWriteArrayList<>();
    Thread load = new Thread(() -> {
      for (int i = 0; run.get() && i < 20_000; i++) {
        HttpResponse<String> reply = gateway.get("/svc/" + i);
        if (reply.statusCode() == 200) {
          ok.incrementAndGet();
        } else {
          bad.add(reply.statusCode() + " " + reply.body());
        }
      }
    });
    load.start();
    try {
      String[] versions = {
          config.replace("dns_refresh_ms: 200", "dns_refresh_ms: 300"),
          config.replace("dns_refresh_ms: 200", "dns_refresh_ms: 300")
              .replace("dns_targets: [\"http://" + host + "\"]",
                  "dns_targets: [\"http://" + host + "\", \"http://" + OTHER + ":" + other.getAddress().getPort() + "\"]"),
          config};
      for (int v = 0; v < versions.length; v++) {
        Files.writeString(gateway.config(), versions[v]);
        gateway.signal("HUP");
        int reloads = v + 1;
        Poll.until(Duration.ofSeconds(10), "reload " + reloads, () -> gateway.output().lines()
            .filter(l -> l.contains("config reloaded from") || l.contains("running config")).count() >= reloads);
        Thread.sleep(1_000);
        if (v == 1) {
          assertEquals(3, instances("svc").size(), instances("svc").encode());
        }
      }
      Poll.until(Duration.ofSeconds(10), "the added name gone", () -> instances("svc").size() == 2);
    } finally {
      run.set(false);
      load.join(20_000);
    }
    assertTrue(bad.isEmpty(), bad.size() + " failed of " + (ok.get() + bad.size()) + ": " + bad.subList(0, Math.min(5, bad.size())) + "\n" + gateway.output());
    assertTrue(ok.get() > 50, "requests: " + ok.get());
  }

  /**
   * A reload adding a route on a name serves it from its first request: the new config applies once the name's first
   * answer is in (3 s at most), as at start, so the route is never live without its instances. Before, the route
   * answered 503 until the lookup came back (here 400 ms, the DNS server slow).
   */
  @Test
  void aReloadAddingANameServesItFromItsFirstRequest() throws Exception {
    dns = new FakeDns();
    HttpServer server = serve("127.0.0.1", 0, "v4");
    int port = server.getAddress().getPort();
    String svc = "  - {name: svc, targets: [\"http://127.0.0.1:" + port + "\"]}\n";
    gateway = start("", "access_log: {enabled: false}\nroutes:\n  - {path_prefix: /svc, backend: svc}\n", svc);
    assertEquals(404, gateway.get("/late/0").statusCode());
    dns.answer(NAME, "127.0.0.1");
    dns.delay(400);

    String config = Files.readString(gateway.config());
    Files.writeString(gateway.config(), config
        .replace("routes:\n", "routes:\n  - {path_prefix: /late, backend: late, pass_host: false}\n")
        .replace(svc, svc + "  - {name: late, dns_targets: [\"http://" + NAME + ":" + port + "\"]}\n"));
    gateway.signal("HUP");
    List<Integer> seen = new ArrayList<>();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (seen.isEmpty() || seen.get(seen.size() - 1) != 200) {
      assertTrue(System.nanoTime() < deadline, "no 200 within 15 s: " + seen + "\n" + gateway.output());
      int status = gateway.get("/late/1").statusCode();
      if (seen.isEmpty() || seen.get(seen.size() - 1) != status) {
        seen.add(status);
      }
    }
    assertEquals(List.of(404, 200), seen, "the new route's answers, each change once\n" + gateway.output());
    assertEquals("v4 " + NAME + ":" + port, gateway.get("/late/2").body());
  }

  /**
   * A reload moving a backend to another name serves throughout: the old name stays followed until every router runs
   * the new config. Here the reload also adds 5,000 routes, so the router serves the old config while it builds the
   * new one; before, the old name's addresses left at the reload and the old config's backend had none: 503s.
   */
  @Test
  void aReloadMovingABackendToAnotherNameServesThroughout() throws Exception {
    Move move = startMove();
    Files.writeString(gateway.config(), move.config().replace("routes:\n", "routes:\n" + move.filler("filler"))
        .replace(move.from(), move.to()));
    gateway.signal("HUP");
    assertEquals(List.of("first", "second"), answersDuringTheMove(),
        "the answers during the move, each change once\n" + gateway.output());
  }

  /**
   * Two reloads in quick succession: the first (B) adds many routes, so the router builds it for a while; the second
   * (C) moves the backend to another name, whose first answer it waits for before it applies. B then running
   * everywhere must not stop following C's name, prepared meanwhile: C would apply with no instance (503s).
   */
  @Test
  void aReloadLiveEverywhereKeepsTheNameOfTheReloadPreparedAfterIt() throws Exception {
    Move move = startMove();
    String b = move.config().replace("routes:\n", "routes:\n" + move.filler("filler"));
    Files.writeString(gateway.config(), b);
    gateway.signal("HUP");
    Thread.sleep(150); // read while the router builds B
    Files.writeString(gateway.config(), move.config().replace("routes:\n", "routes:\n" + move.filler("other"))
        .replace(move.from(), move.to()));
    gateway.signal("HUP");
    assertEquals(List.of("first", "second"), answersDuringTheMove(),
        "the answers during the moves, each change once\n" + gateway.output());
  }

  /** A backend {@code svc} on {@code from} (NAME, server "first"), moved by a test to {@code to} (OTHER, "second"). */
  private record Move(String config, String from, String to) {
    /** 5,000 routes under {@code /prefix/}: a router builds them for a while, serving the previous routes. */
    String filler(String prefix) {
      StringBuilder more = new StringBuilder();
      for (int i = 0; i < 5_000; i++) {
        more.append("  - {path_prefix: /").append(prefix).append('/').append(i).append(", backend: svc}\n");
      }
      return more.toString();
    }
  }

  /** Starts the gateway with {@code svc} on NAME; OTHER answers too, both after 400 ms from now on. */
  private Move startMove() throws Exception {
    dns = new FakeDns();
    int first = serve("127.0.0.1", 0, "first").getAddress().getPort();
    int second = serve("127.0.0.1", 0, "second").getAddress().getPort();
    dns.answer(NAME, "127.0.0.1");
    dns.answer(OTHER, "127.0.0.1");
    String svc = "  - {name: svc, dns_targets: [\"http://" + NAME + ":" + first + "\"]}\n";
    gateway = start("", "access_log: {enabled: false}\nroutes:\n  - {path_prefix: /svc, backend: svc, pass_host: false}\n",
        svc);
    assertEquals(Set.of("first " + NAME + ":" + first), answeredBy(5));
    dns.delay(400);
    return new Move(Files.readString(gateway.config()), svc,
        "  - {name: svc, dns_targets: [\"http://" + OTHER + ":" + second + "\"]}\n");
  }

  /** Who answers /svc/x (or the status), each change once, until "second" answers ten times in a row after a reload. */
  private List<String> answersDuringTheMove() throws Exception {
    List<String> seen = new ArrayList<>();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    int onlySecond = 0;
    while (onlySecond < 10) {
      assertTrue(System.nanoTime() < deadline, "not moved within 20 s: " + seen + "\n" + gateway.output());
      HttpResponse<String> reply = gateway.get("/svc/x");
      String who = reply.statusCode() == 200 ? reply.body().split(" ")[0] : "" + reply.statusCode();
      if (seen.isEmpty() || !seen.get(seen.size() - 1).equals(who)) {
        seen.add(who);
      }
      onlySecond = who.equals("second") && gateway.output().contains(" live on the router") ? onlySecond + 1 : 0;
    }
    return seen;
  }

  /** A reload making dns_refresh_ms shorter asks the name again by the new period, not after the old one. */
  @Test
  void aReloadShorteningTheRefreshTakesEffectAtOnce() throws Exception {
    twoInstances(1, 1, 3_600_000);
    dns.answer(NAME, "127.0.0.1");
    Thread.sleep(1_500); // the records' TTL (1 s) ran out; the next lookup is an hour away
    assertEquals(2, instances("svc").size());

    Files.writeString(gateway.config(), Files.readString(gateway.config())
        .replace("dns_refresh_ms: 3600000", "dns_refresh_ms: 200"));
    gateway.signal("HUP");
    Poll.until(Duration.ofSeconds(10), "reloaded", () -> gateway.output().contains("config reloaded from"));
    Poll.until(Duration.ofSeconds(3), "::1 out within the new refresh", () -> instances("svc").size() == 1);
  }

  /**
   * No UDP socket for DNS while no backend has dns_targets (the lookup's resolver binds one on the wildcard address: an
   * unexplained open port to whoever lists them); a reload adding a name opens one, one removing the last closes it.
   * (Vert.x opens one per router event loop at the first proxied request, literal addresses included: counted apart.)
   */
  @Test
  void theDnsSocketIsOpenOnlyWhileANameIsFollowed() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(Path.of("/proc/self/fd")), "Linux /proc");
    dns = new FakeDns();
    dns.answer(NAME, "127.0.0.1");
    HttpServer server = serve("127.0.0.1", 0, "v4");
    String fixed = "targets: [\"http://127.0.0.1:" + server.getAddress().getPort() + "\"]";
    String named = "dns_targets: [\"http://" + NAME + ":" + server.getAddress().getPort() + "\"]";
    gateway = start("  - {name: svc, " + fixed + "}\n  - {name: never, " + fixed + "}\n");
    assertEquals(0, udpSockets(gateway.pid()), "no dns_targets, no request yet: no UDP socket");
    answeredBy(2);
    long routers = udpSockets(gateway.pid());

    String config = Files.readString(gateway.config());
    Files.writeString(gateway.config(), config.replace("{name: svc, " + fixed, "{name: svc, " + named));
    gateway.signal("HUP");
    Poll.until(Duration.ofSeconds(10), "the name's instance", () -> instances("svc").size() == 1
        && ((JsonObject) instances("svc").getValue(0)).getString("id").startsWith("dns:"));
    assertEquals(Set.of("v4 " + NAME + ":" + server.getAddress().getPort()), answeredBy(2));
    assertEquals(routers + 1, udpSockets(gateway.pid()), "a name followed: the lookup's socket");

    Files.writeString(gateway.config(), config);
    gateway.signal("HUP");
    Poll.until(Duration.ofSeconds(10), "the lookup's socket closed", () -> udpSockets(gateway.pid()) == routers);
  }

  /** How many UDP sockets process {@code pid} holds: its socket descriptors found in /proc/net/udp and udp6. */
  static long udpSockets(long pid) {
    try {
      Set<String> udp = new HashSet<>();
      for (String table : List.of("/proc/net/udp", "/proc/net/udp6")) {
        Files.readAllLines(Path.of(table)).stream().skip(1).map(l -> l.trim().split("\\s+"))
            .filter(f -> f.length > 9).forEach(f -> udp.add(f[9]));
      }
      try (var fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
        return fds.map(fd -> {
          try {
            return Files.readSymbolicLink(fd).toString();
          } catch (IOException gone) {
            return "";
          }
        }).filter(link -> link.startsWith("socket:[") && udp.contains(link.substring(8, link.length() - 1))).count();
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** The access log tells the addresses of one name apart (instance=), as Envoy's %UPSTREAM_HOST% does. */
  @Test
  void theAccessLogNamesTheAddress() throws Exception {
    dns = new FakeDns();
    dns.answer(NAME, "127.0.0.1", "::1");
    int port = twoServers();
    gateway = start("", """
        access_log: {enabled: true, format: combined}
        routes:
          - {path_prefix: /svc, backend: svc}
        """, """
          - {name: svc, load_balancer: round_robin, dns_targets: ["http://%s:%d"]}
        """.formatted(NAME, port));
    answeredBy(4);
    Poll.until(Duration.ofSeconds(5), "four lines", () -> gateway.output().lines().filter(l -> l.contains(" instance=")).count() >= 4);
    Set<String> instances = new HashSet<>();
    gateway.output().lines().filter(l -> l.contains(" instance=")).forEach(l -> instances.add(l.replaceAll(".* instance=(\\S+).*", "$1")));
    assertEquals(2, instances.size(), instances.toString());
    assertEquals(Set.of(NAME + ":" + port + "@127.0.0.1", NAME + ":" + port + "@::1"), instances);

    // Metrics: each address its own breaker row, the id's ':', '@' and '/' as they are in a quoted label value.
    String metrics = admin("/metrics");
    assertTrue(metrics.contains("backend_instance=\"svc/" + NAME + ":" + port + "@::1/dns:http://" + NAME + ":" + port
        + "@::1\""), metrics);
  }

  String admin(String path) throws Exception {
    String port = Files.readString(gateway.config()).replaceAll("(?s).*admin_listener: \\{port: (\\d+)}.*", "$1");
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).body();
  }
}
