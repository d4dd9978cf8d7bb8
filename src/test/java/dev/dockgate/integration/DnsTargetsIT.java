package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.dockgate.testing.FakeDns;
import dev.dockgate.testing.GatewayJar;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.Ports;
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
import java.util.concurrent.TimeUnit;
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

  @AfterEach
  void stop() throws InterruptedException {
    if (gateway != null) {
      gateway.close();
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
    Path options = dir.resolve("options.json");
    Files.writeString(dir.resolve("hosts"), "127.0.0.1 localhost\n");
    Files.writeString(options, "{\"addressResolverOptions\": {\"servers\": [\"127.0.0.1:" + dns.port()
        + "\"], \"hostsPath\": \"" + dir.resolve("hosts") + "\"}}");
    return new GatewayJar(dir, "", """
        docker: {enabled: false}
        access_log: {enabled: false}
        routes:
          - {path_prefix: /svc, backend: svc, pass_host: false}
          - {path_prefix: /never, backend: never}
        backends:
        """ + backends, 1, Map.of(), List.of(), List.of("-options", options.toString()), Duration.ofSeconds(30));
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
}
