package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.dockgate.testing.FakeDns;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.Ports;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A static target whose host name does not resolve, with the jar's DNS pointed at a server on 127.0.0.1 that answers
 * every question "no such name" ({@link FakeDns} told no name; nothing leaves the host): the instance is unreachable (503, as nginx answers), nothing
 * was sent so a POST goes to the other instance, and the log names the name once.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class UnresolvableTargetIT {

  static final String JAR = System.getProperty("gateway.jar", "target/gateway-fat.jar");

  @TempDir
  Path dir;
  HttpServer backend;
  FakeDns dns;
  Process gateway;

  @AfterEach
  void stop() throws InterruptedException {
    if (gateway != null) {
      gateway.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    if (backend != null) {
      backend.stop(0);
    }
    if (dns != null) {
      dns.close();
    }
  }

  @Test
  void anUnresolvableTargetIs503AndARequestNothingWasSentOfGoesToTheOtherInstance() throws Exception {
    dns = new FakeDns(); // knows no name: every question "no such name"
    backend = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    backend.createContext("/", exchange -> {
      exchange.getRequestBody().readAllBytes();
      byte[] body = "from b".getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    backend.start();
    int port = Ports.free();
    Path options = dir.resolve("options.json");
    Files.writeString(options, "{\"addressResolverOptions\": {\"servers\": [\"127.0.0.1:" + dns.port()
        + "\"], \"hostsPath\": \"" + dir.resolve("hosts") + "\"}}");
    Files.writeString(dir.resolve("hosts"), "127.0.0.1 localhost\n");
    Path conf = dir.resolve("gateway.yml");
    Files.writeString(conf, """
        server: {host: 127.0.0.1, port: %d, instances: 1, admin_listener: {port: %d}}
        docker: {enabled: false}
        access_log: {enabled: false}
        routes:
          - {path_prefix: /both, backend: both, retries: {attempts: 1}}
          - {path_prefix: /nowhere, backend: nowhere}
        backends:
          - {name: both, load_balancer: round_robin, targets: ["http://nowhere.dockgate.test:%d", "http://127.0.0.1:%d"],
             circuit_breaker: {max_failures: 100}}
          - {name: nowhere, targets: ["http://nowhere.dockgate.test:%d"], circuit_breaker: {max_failures: 100}}
        """.formatted(port, Ports.free(), backend.getAddress().getPort(), backend.getAddress().getPort(),
        backend.getAddress().getPort()));
    Path log = dir.resolve("gateway.log");
    gateway = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", JAR,
        "-conf", conf.toString(), "-options", options.toString()))
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    Poll.until(Duration.ofSeconds(30), "gateway listening", () -> read(log).contains("gateway listening on"));

    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5)).build();
    for (int i = 0; i < 4; i++) {
      HttpResponse<String> posted = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/both/" + i))
          .timeout(Duration.ofSeconds(10)).POST(HttpRequest.BodyPublishers.ofString("order " + i)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, posted.statusCode(), "POST " + i + ": " + posted.body() + "\n" + read(log));
      assertEquals("from b", posted.body());
    }
    for (int i = 0; i < 3; i++) {
      HttpResponse<String> alone = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/nowhere/x"))
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(503, alone.statusCode(), alone.body());
      assertEquals("backend \"nowhere\" is unreachable\n", alone.body());
    }
    assertTrue(dns.questions() > 0, "the gateway asked the test's DNS server");
    String output = read(log);
    long said = output.lines().filter(l -> l.contains("cannot resolve its host")).count();
    // once per instance and router a minute: the "both" instance and the "nowhere" one
    assertEquals(2, said, output);
    assertTrue(output.contains("backend \"nowhere\" instance nowhere.dockgate.test:"), output);
  }

  static String read(Path log) {
    try {
      return Files.readString(log, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }
}
