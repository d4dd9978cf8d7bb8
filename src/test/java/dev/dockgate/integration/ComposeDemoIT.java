package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.Poll;
import dev.dockgate.testing.Ports;
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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The Dockerfile, the demo services and docker-compose.yml as a user runs them, offline: a local
 * base image (scripts/jre-image.sh, cached by tag), the gateway and demo images built from their
 * Dockerfiles on it, and the compose file run with the README's host-network override
 * (docker-compose.host-network.yml) and conf/demo.yml as they are, every container on 127.0.0.1 and ports
 * picked now. The demo routes must answer through the gateway container, which
 * runs as a non-root user and turns healthy. Everything the run made carries its id and is removed.
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class ComposeDemoIT {

  private static final Logger LOG = Logger.getLogger(ComposeDemoIT.class.getName());
  private static final Path ROOT = Path.of("").toAbsolutePath();
  private static final String RUN = UUID.randomUUID().toString().substring(0, 8);
  private static final String RUN_LABEL = "dockgate.test.run";
  private static final String PROJECT = "dockgateit" + RUN;
  private static final String GATEWAY_IMAGE = "dockgate-it:" + RUN;
  private static final String DEMO_IMAGE = "dockgate-demo-it:" + RUN;
  private static final String DEMO_BUILD_IMAGE = "dockgate-demo-it:" + RUN + "-build";
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(2)).build();

  private static final Map<String, String> env = new HashMap<>();
  private static int gatewayPort;
  private static final int adminPort = Ports.free();
  private static final Map<String, Integer> servicePorts = new HashMap<>();
  private static long startNanos;

  record Result(int code, String output) {
  }

  @BeforeAll
  @Timeout(value = 8, unit = TimeUnit.MINUTES)
  static void buildAndStartTheDemo() throws Exception {
    startNanos = System.nanoTime();
    // Other tests may restart the engine (DockerRestartIT): give it a moment, then fail loudly.
    Poll.until(Duration.ofSeconds(60), "a Docker engine answering (scripts/ensure-docker.sh starts one)",
        () -> run(Duration.ofSeconds(20), "docker", "version").code() == 0);
    Result compose = run(Duration.ofSeconds(30), "docker-compose", "version");
    assertEquals(0, compose.code(), "docker-compose is missing; scripts/test.sh installs Debian's\n"
        + compose.output());
    assertTrue(Files.isRegularFile(ROOT.resolve("target/gateway-fat.jar")), "package the jar before this test");

    Map<String, String> jdk = Map.of("JAVA_HOME", System.getProperty("java.home"));
    // The script prints the tag last, after its progress lines (on stderr, merged here).
    String[] lines = check(Duration.ofMinutes(5), jdk, ROOT.resolve("scripts/jre-image.sh").toString())
        .strip().split("\n");
    String base = lines[lines.length - 1].strip();
    LOG.info("base image " + base);

    check(Duration.ofMinutes(3), Map.of(), "docker", "build", "-q", "--label", RUN_LABEL + "=" + RUN,
        "--build-arg", "BASE_IMAGE=" + base, "-t", GATEWAY_IMAGE, ROOT.toString());
    // The demo's build stage is tagged too, so that removing the tags removes every layer made here.
    for (String[] target : List.of(new String[] {"--target", "build", "-t", DEMO_BUILD_IMAGE},
        new String[] {"-t", DEMO_IMAGE})) {
      List<String> build = new ArrayList<>(List.of("docker", "build", "-q", "--label", RUN_LABEL + "=" + RUN,
          "--build-arg", "BUILD_IMAGE=" + base, "--build-arg", "BASE_IMAGE=" + base));
      build.addAll(List.of(target));
      build.add(ROOT.resolve("demo").toString());
      check(Duration.ofMinutes(3), Map.of(), build.toArray(String[]::new));
    }

    gatewayPort = Ports.free();
    for (String service : List.of("users", "orders", "payment")) {
      servicePorts.put(service, Ports.free());
    }
    env.put("DOCKGATE_IMAGE", GATEWAY_IMAGE);
    env.put("DEMO_IMAGE", DEMO_IMAGE);
    // conf/demo.yml as it is: docker-compose.host-network.yml moves both listeners to 127.0.0.1 and these ports.
    env.put("DOCKGATE_PORT", Integer.toString(gatewayPort));
    env.put("DOCKGATE_ADMIN_PORT", Integer.toString(adminPort));
    env.put("DOCKGATE_TEST_RUN", RUN);
    env.put("DOCKER_GID", Files.getAttribute(Path.of("/var/run/docker.sock"), "unix:gid").toString());
    servicePorts.forEach((service, port) -> env.put(service.toUpperCase() + "_PORT", Integer.toString(port)));
    LOG.info("images built in " + seconds() + " s; compose up, gateway on 127.0.0.1:" + gatewayPort);
    compose(Duration.ofMinutes(2), "up", "-d", "--no-build");
  }

  @AfterAll
  @Timeout(value = 2, unit = TimeUnit.MINUTES)
  static void tearDown() {
    if (!env.isEmpty()) {
      Result down = compose(Duration.ofSeconds(60), "down", "-t", "5", "--remove-orphans");
      if (down.code() != 0) {
        LOG.warning("compose down failed: " + down.output());
      }
    }
    String left = run(Duration.ofSeconds(30), "docker", "ps", "-aq", "--filter", "label=" + RUN_LABEL + "=" + RUN)
        .output().strip();
    for (String id : left.isEmpty() ? new String[0] : left.split("\\s+")) {
      run(Duration.ofSeconds(30), "docker", "rm", "-f", id);
    }
    for (String image : List.of(GATEWAY_IMAGE, DEMO_IMAGE, DEMO_BUILD_IMAGE)) {
      run(Duration.ofSeconds(60), "docker", "rmi", image);
    }
    LOG.info("ComposeDemoIT took " + seconds() + " s in all");
  }

  @Test
  void theDemoRoutesAnswerThroughTheGatewayContainer() throws Exception {
    Poll.until(Duration.ofSeconds(60), "all three demo routes answering", () ->
        List.of("/api/users", "/api/orders", "/api/payment").stream().allMatch(p -> get(p).statusCode() == 200));
    JsonObject before = stats();

    HttpResponse<String> users = get("/api/users");
    assertTrue(users.body().contains("\"name\":\"Ada Lovelace\""), users.body());
    assertEquals("application/json", users.headers().firstValue("content-type").orElse(""));
    assertTrue(get("/api/orders/101").body().contains("\"item\":\"notebook\""));
    HttpResponse<String> missing = get("/api/orders/999");
    assertEquals(404, missing.statusCode());
    assertEquals("{\"error\":\"not found\"}", missing.body(), "the service's own 404, passed through");
    HttpResponse<String> paid = send(HttpRequest.newBuilder(uri("/api/payment"))
        .header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"order_id\":103,\"amount\":9.75}")).build());
    assertEquals(201, paid.statusCode(), paid.body());
    assertTrue(paid.body().contains("\"status\":\"accepted\",\"request\":{\"order_id\":103,\"amount\":9.75}"),
        paid.body());
    assertTrue(get("/api/payment/p-1001").body().contains("\"status\":\"settled\""));
    HttpResponse<String> noRoute = get("/elsewhere");
    assertEquals(404, noRoute.statusCode());
    assertEquals("no route; try /api/users, /api/orders or /api/payment", noRoute.body());

    JsonObject after = stats();
    assertEquals(4, count(after, "success") - count(before, "success"), after.encode());
    assertEquals(2, count(after, "error") - count(before, "error"), after.encode());

    // Found by their labels on the host network: the Docker host (127.0.0.1) and the gateway.port label.
    String routes = send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/admin/routes")).build())
        .body();
    servicePorts.forEach((service, port) ->
        assertTrue(routes.contains("\"address\":\"127.0.0.1:" + port + "\""), service + " not found in " + routes));
  }

  @Test
  void theGatewayRunsAsANonRootUserAndTurnsHealthy() {
    String gateway = containerOf("gateway");
    assertEquals("10001:10001", inspect(gateway, "{{.Config.User}}"));
    for (String service : servicePorts.keySet()) {
      assertEquals("10001:10001", inspect(containerOf(service), "{{.Config.User}}"), service);
    }
    Poll.until(Duration.ofSeconds(90), "the gateway's HEALTHCHECK reporting healthy", () -> {
      String status = inspect(gateway, "{{.State.Health.Status}}");
      assertNotEquals("unhealthy", status, () -> inspect(gateway, "{{json .State.Health.Log}}"));
      return status.equals("healthy");
    });
    // The process itself, seen from the host: every uid (real, effective, saved, filesystem) 10001.
    String pid = inspect(gateway, "{{.State.Pid}}");
    String status = check(Duration.ofSeconds(10), Map.of(), "cat", "/proc/" + pid + "/status");
    assertTrue(status.contains("\nUid:\t10001\t10001\t10001\t10001\n"), status);
  }

  private static String containerOf(String service) {
    String id = check(Duration.ofSeconds(30), Map.of(), "docker", "ps", "-q",
        "--filter", "label=com.docker.compose.project=" + PROJECT,
        "--filter", "label=com.docker.compose.service=" + service).strip();
    assertTrue(!id.isEmpty() && !id.contains("\n"), "one running container for " + service + ": " + id);
    return id;
  }

  private static String inspect(String container, String format) {
    return check(Duration.ofSeconds(30), Map.of(), "docker", "inspect", "-f", format, container).strip();
  }

  private static Result compose(Duration timeout, String... args) {
    List<String> command = new ArrayList<>(List.of("docker-compose", "-p", PROJECT,
        "-f", ROOT.resolve("docker-compose.yml").toString(),
        "-f", ROOT.resolve("docker-compose.host-network.yml").toString(),
        "-f", ROOT.resolve("src/test/resources/compose/host-network.yml").toString()));
    command.addAll(List.of(args));
    Result result = run(timeout, env, command.toArray(String[]::new));
    if (result.code() != 0 && args[0].equals("up")) {
      throw new AssertionError("docker-compose up failed (" + result.code() + "):\n" + result.output());
    }
    return result;
  }

  private static JsonObject stats() {
    return new JsonObject(get("/stats").body());
  }

  private static long count(JsonObject stats, String kind) {
    return stats.getJsonObject("requests_count").getLong(kind);
  }

  private static URI uri(String path) {
    return URI.create("http://127.0.0.1:" + gatewayPort + path);
  }

  private static HttpResponse<String> get(String path) {
    return send(HttpRequest.newBuilder(uri(path)).build());
  }

  private static HttpResponse<String> send(HttpRequest request) {
    try {
      return HTTP.send(HttpRequest.newBuilder(request, (n, v) -> true).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new IllegalStateException(request.uri() + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  private static long seconds() {
    return TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - startNanos);
  }

  private static String check(Duration timeout, Map<String, String> extraEnv, String... command) {
    Result result = run(timeout, extraEnv, command);
    if (result.code() != 0) {
      throw new AssertionError(String.join(" ", command) + " failed (" + result.code() + "):\n" + result.output());
    }
    return result.output();
  }

  private static Result run(Duration timeout, String... command) {
    return run(timeout, Map.of(), command);
  }

  /** Runs a command with its output in a file (no pipe to fill up), killed with its children at the timeout. */
  private static Result run(Duration timeout, Map<String, String> extraEnv, String... command) {
    try {
      Path out = Files.createTempFile("compose-demo-it", ".log");
      try {
        ProcessBuilder builder = new ProcessBuilder(command).directory(ROOT.toFile())
            .redirectErrorStream(true).redirectOutput(out.toFile());
        builder.environment().putAll(extraEnv);
        Process process = builder.start();
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
          process.descendants().forEach(ProcessHandle::destroyForcibly);
          process.destroyForcibly();
          return new Result(-1, "timed out after " + timeout.toSeconds() + " s: " + String.join(" ", command)
              + "\n" + Files.readString(out, StandardCharsets.UTF_8));
        }
        return new Result(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
      } finally {
        Files.deleteIfExists(out);
      }
    } catch (IOException e) {
      return new Result(-1, e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Result(-1, "interrupted");
    }
  }
}
