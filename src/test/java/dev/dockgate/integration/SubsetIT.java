package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.Backends;
import dev.dockgate.testing.GatewayJar;
import dev.dockgate.testing.Ports;
import dev.dockgate.testing.RawHttp;
import dev.dockgate.testing.TestBackend;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code subset_size}, with the real jar: each router picks among its window of a backend's instances, and a window
 * whose instances all failed fails over to the backend's others. One keep-alive connection is served by one router,
 * so its requests show that router's window.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SubsetIT {

  @RegisterExtension
  static final Backends backends = new Backends();

  @TempDir
  Path dir;

  /** One keep-alive client connection: every request on it is served by the router that accepted it. */
  static final class Connection implements AutoCloseable {
    private final Socket socket;

    Connection(int port) throws IOException {
      socket = new Socket("127.0.0.1", port);
      socket.setTcpNoDelay(true);
    }

    /** The answer to GET {@code path} (with {@code extraHeaders}, each ending in CRLF). */
    RawHttp.Response get(String path, String extraHeaders) throws IOException {
      socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: subset.test\r\n" + extraHeaders + "\r\n")
          .getBytes(StandardCharsets.ISO_8859_1));
      socket.getOutputStream().flush();
      RawHttp.Exchange exchange = RawHttp.read(socket, 1, 20, 10_000);
      assertEquals(1, exchange.responses().size(), "one answer to " + path + ": " + exchange.raw());
      return exchange.responses().get(0);
    }

    RawHttp.Response get(String path) throws IOException {
      return get(path, "");
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  static String served(RawHttp.Response response) {
    for (String line : response.head().split("\r\n")) {
      if (line.regionMatches(true, 0, "x-backend:", 0, 10)) {
        return line.substring(10).trim();
      }
    }
    return "none";
  }

  @Test
  void eachRouterPicksAmongItsWindowAndFailsOverBeyondIt() throws Exception {
    Map<String, TestBackend> byName = start("i", 6);
    String targets = targets(byName);
    int adminPort = Ports.free();
    // /s retries a refused try (and so goes on beyond the window when both of it refused); /once does not, and
    // passes over instances whose circuit is open. One failure opens a circuit, for a minute; no startup grace, so
    // that a refusal counts at once.
    try (GatewayJar gateway = new GatewayJar(dir, "  admin_listener: {port: " + adminPort + "}\n",
        retriedAndNot(2, targets), 2)) {
      Set<String> reached = new HashSet<>();
      Set<Set<String>> windows = new HashSet<>();
      for (int c = 0; c < 24; c++) {
        try (Connection connection = new Connection(gateway.port())) {
          Set<String> seen = new HashSet<>();
          for (int i = 0; i < 12; i++) {
            RawHttp.Response response = connection.get("/s/" + c + "/" + i);
            assertEquals(200, response.status(), response.head());
            seen.add(served(response));
          }
          assertTrue(seen.size() <= 2, "one connection, one router, its window of 2: " + seen);
          reached.addAll(seen);
          windows.add(seen);
        }
      }
      // Two routers, windows of two: at most four instances get this gateway's traffic (here the two windows are
      // disjoint, starting half the ring apart, and both routers took connections).
      assertEquals(4, reached.size(), "instances reached: " + reached + " by connection: " + windows);

      // The route report shows, per instance, how many of the process's routers have it in their window.
      JsonObject report = new JsonObject(admin(adminPort, "/admin/routes").body());
      JsonObject backend = report.getJsonArray("backends").getJsonObject(0);
      assertEquals(2, backend.getInteger("subset_size"));
      Set<String> covered = new HashSet<>();
      int windowsTotal = 0;
      for (Object o : backend.getJsonArray("instances")) {
        JsonObject instance = (JsonObject) o;
        int routers = instance.getInteger("routers");
        assertTrue(routers <= 1, "R*N = 4 < 6 instances: each in one window at most: " + backend.encodePrettily());
        windowsTotal += routers;
        if (routers == 1) {
          covered.add(instance.getString("address"));
        }
      }
      assertEquals(4, windowsTotal, backend.encodePrettily());
      Set<String> reachedAddresses = new HashSet<>();
      reached.forEach(name -> reachedAddresses.add("127.0.0.1:" + byName.get(name).port()));
      assertEquals(reachedAddresses, covered, backend.encodePrettily());

      // One connection's window: both its instances stop. Its following requests go to the others.
      try (Connection connection = new Connection(gateway.port())) {
        Set<String> window = new HashSet<>();
        for (int i = 0; i < 40 && window.size() < 2; i++) {
          window.add(served(connection.get("/s/before/" + i)));
        }
        assertEquals(2, window.size(), "the router's window: " + window);
        for (String name : window) {
          byName.get(name).close();
        }
        for (String name : window) {
          int port = byName.get(name).port();
          dev.dockgate.testing.Poll.until(Duration.ofSeconds(5), name + " closed", () -> refuses(port));
        }
        for (int i = 0; i < 10; i++) {
          RawHttp.Response response = connection.get("/s/after/" + i);
          assertEquals(200, response.status(), "retried beyond the window: " + response.head() + response.body());
          assertFalse(window.contains(served(response)), served(response) + " is closed");
        }
        // Both circuits of the window are open now: a request that is not retried passes over both, beyond it.
        for (int i = 0; i < 10; i++) {
          RawHttp.Response response = connection.get("/once/after/" + i);
          assertEquals(200, response.status(), "failed over beyond the window: " + response.head() + response.body());
          assertFalse(window.contains(served(response)), served(response) + " is closed");
        }
        // A WebSocket upgrade too: the test backends refuse it with their own answer, which names them.
        RawHttp.Response upgrade = connection.get("/once/ws", "Connection: Upgrade\r\nUpgrade: websocket\r\n"
            + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n");
        assertTrue(upgrade.status() != 503 && upgrade.status() != 502, "upgrade: " + upgrade.head());
        assertFalse(window.contains(served(upgrade)), served(upgrade) + " is closed: " + upgrade.head());
        assertTrue(byName.containsKey(served(upgrade)), "answered by an instance: " + upgrade.head());
      }
    }
  }

  @Test
  void aWindowWithInstancesThatCanAnswerKeepsItsRequests() throws Exception {
    Map<String, TestBackend> byName = start("w", 8);
    int adminPort = Ports.free();
    // One router, a window of four of the eight. /s retries a refused try (within the window while it has others);
    // /once does not. One failure opens a circuit, for a minute.
    try (GatewayJar gateway = new GatewayJar(dir, "  admin_listener: {port: " + adminPort + "}\n",
        retriedAndNot(4, targets(byName)), 1)) {
      Set<String> window = new HashSet<>();
      try (Connection connection = new Connection(gateway.port())) {
        for (int i = 0; i < 200 && window.size() < 4; i++) {
          window.add(served(connection.get("/once/before/" + i)));
        }
      }
      assertEquals(4, window.size(), "the router's window: " + window);
      List<String> stopped = window.stream().sorted().limit(2).toList();
      Set<String> left = new HashSet<>(window);
      stopped.forEach(left::remove);
      Set<String> stoppedAddresses = new HashSet<>();
      for (String name : stopped) {
        byName.get(name).close();
        int port = byName.get(name).port();
        stoppedAddresses.add("127.0.0.1:" + port);
        dev.dockgate.testing.Poll.until(Duration.ofSeconds(5), name + " closed", () -> refuses(port));
      }
      // Requests until both stopped instances' circuits are open (a refused try goes on to another of the window).
      try (Connection connection = new Connection(gateway.port())) {
        int open = 0;
        for (int i = 0; i < 100 && open < 2; i++) {
          assertEquals(200, connection.get("/s/opening/" + i).status());
          open = 0;
          for (Object o : new JsonObject(admin(adminPort, "/admin/routes").body()).getJsonArray("backends")
              .getJsonObject(0).getJsonArray("instances")) {
            JsonObject instance = (JsonObject) o;
            if (stoppedAddresses.contains(instance.getString("address")) && "OPEN".equals(instance.getString("circuit"))) {
              open++;
            }
          }
        }
        assertEquals(2, open, "both stopped instances' circuits open");
        // Two of the window can answer: every request goes to them, none to an instance beyond the window (when
        // both of its first two picks were open circuits, one request in six went beyond).
        for (int i = 0; i < 60; i++) {
          RawHttp.Response response = connection.get("/once/after/" + i);
          assertEquals(200, response.status(), response.head());
          assertTrue(left.contains(served(response)), "served by " + served(response) + ", not by the window's "
              + left + " that can answer (request " + i + ")");
        }
      }
      // A WebSocket upgrade picks the same way (the test backends refuse it with their own answer, which names them).
      for (int i = 0; i < 30; i++) {
        try (Connection connection = new Connection(gateway.port())) {
          RawHttp.Response upgrade = connection.get("/once/ws/" + i, "Connection: Upgrade\r\nUpgrade: websocket\r\n"
              + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n");
          assertTrue(left.contains(served(upgrade)), "upgrade " + i + " answered by " + served(upgrade) + ", not by the"
              + " window's " + left + ": " + upgrade.head());
        }
      }
    }
  }

  @Test
  void aReloadNarrowsTheRoutersToTheirWindowsLive() throws Exception {
    String targets = targets(start("r", 6));
    int adminPort = Ports.free();
    String yaml = """
        docker: {enabled: false}
        routes:
          - {path_prefix: /s, backend: many}
        backends:
          - name: many
            load_balancer: round_robin
            targets: [%s]
        """.formatted(targets);
    try (GatewayJar gateway = new GatewayJar(dir, "  admin_listener: {port: " + adminPort + "}\n", yaml, 2)) {
      try (Connection connection = new Connection(gateway.port())) {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 12; i++) {
          seen.add(served(connection.get("/s/" + i)));
        }
        assertEquals(6, seen.size(), "without subset_size, every instance in turn: " + seen);
      }
      String config = Files.readString(gateway.config());
      Files.writeString(gateway.config(), config.replace("load_balancer: round_robin",
          "load_balancer: round_robin\n    subset_size: 2"));
      dev.dockgate.testing.Poll.until(Duration.ofSeconds(15), "the reload applied", () -> {
        try {
          return Integer.valueOf(2).equals(new JsonObject(admin(adminPort, "/admin/routes").body())
              .getJsonArray("backends").getJsonObject(0).getInteger("subset_size"));
        } catch (Exception e) {
          return false;
        }
      });
      // Each router installs the reloaded routes on its own loop: a new connection's router, once it has.
      dev.dockgate.testing.Poll.until(Duration.ofSeconds(10), "every new connection in a window of two", () -> {
        for (int c = 0; c < 6; c++) {
          try (Connection connection = new Connection(gateway.port())) {
            Set<String> seen = new HashSet<>();
            for (int i = 0; i < 6; i++) {
              seen.add(served(connection.get("/s/" + c + "/" + i)));
            }
            if (seen.size() > 2) {
              return false;
            }
          } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        }
        return true;
      });
      // Once every router runs the reloaded config, the route report counts its windows alone: none of the routers'
      // publications of all six instances before the reload is left (each instance in one window of two at most).
      dev.dockgate.testing.Poll.until(Duration.ofSeconds(10), "the routers' windows reported", () -> {
        try {
          int windows = 0;
          int most = 0;
          for (Object o : new JsonObject(admin(adminPort, "/admin/routes").body()).getJsonArray("backends")
              .getJsonObject(0).getJsonArray("instances")) {
            int routers = ((JsonObject) o).getInteger("routers");
            windows += routers;
            most = Math.max(most, routers);
          }
          return windows == 4 && most == 1;
        } catch (Exception e) {
          return false;
        }
      });
    }
  }

  @Test
  void aSubsetSizeOfZeroIsRefusedWithFileFieldAndProblem() throws IOException {
    Path conf = dir.resolve("subset.yml");
    Files.writeString(conf, """
        server: {host: 127.0.0.1, admin_listener: false}
        docker: {enabled: false}
        routes: [{path_prefix: /s, backend: many}]
        backends: [{name: many, targets: ["http://127.0.0.1:9000"], subset_size: 0}]
        """);
    GatewayJar.Exit run = GatewayJar.run(dir, Map.of(), List.of(), "-t", "-conf", conf.toString());
    assertEquals(1, run.status(), run.toString());
    assertEquals(List.of(
        conf + ": backends[0].subset_size: must be between 1 and 100000, got 0",
        conf + ": invalid (1 problem)"), run.err().lines().toList(), run.toString());
  }

  /** {@code count} recording instances named {@code prefix}0, {@code prefix}1..., by name. */
  private static Map<String, TestBackend> start(String prefix, int count) {
    Map<String, TestBackend> started = new java.util.LinkedHashMap<>();
    for (int i = 0; i < count; i++) {
      started.put(prefix + i, backends.start(prefix + i));
    }
    return started;
  }

  /**
   * Routes /s (a refused try retried, twice) and /once (not retried) to backend "many" of {@code targets} with
   * {@code subset_size}; one failure opens a circuit, for a minute, and there is no startup grace (a refusal counts
   * at once).
   */
  private static String retriedAndNot(int subsetSize, String targets) {
    return """
        docker: {enabled: false}
        routes:
          - {path_prefix: /s, backend: many, retries: {attempts: 2, backoff_ms: 0}}
          - {path_prefix: /once, backend: many}
        backends:
          - name: many
            subset_size: %d
            circuit_breaker: {max_failures: 1, reset_timeout_ms: 60000, startup_grace_ms: 0}
            targets: [%s]
        """.formatted(subsetSize, targets);
  }

  /** The {@code targets:} list of {@code instances}. */
  private static String targets(Map<String, TestBackend> instances) {
    return String.join(", ", instances.values().stream().map(b -> "http://127.0.0.1:" + b.port()).toList());
  }

  private static boolean refuses(int port) {
    try (Socket s = new Socket("127.0.0.1", port)) {
      return false;
    } catch (IOException e) {
      return true;
    }
  }

  private static HttpResponse<String> admin(int port, String path) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
  }
}
