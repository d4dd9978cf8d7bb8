package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.Ports;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The fat jar under a low open-file limit ({@code prlimit --nofile}), flooded with connections beyond it: the start
 * warns that max_connections does not fit the limit, accepting pauses while no descriptor is left (one warning, no
 * stack traces, no spinning acceptor) and the gateway serves again as soon as the flood lets go.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class DescriptorLimitIT {

  static final String JAR = System.getProperty("gateway.jar", "target/gateway-fat.jar");
  static final int LIMIT = 300;

  @TempDir
  Path dir;
  HttpServer backend;
  Process gateway;

  @BeforeEach
  void backend() throws IOException {
    backend = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    backend.createContext("/", exchange -> {
      byte[] body = "ok".getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    backend.start();
  }

  @AfterEach
  void stop() throws InterruptedException {
    if (gateway != null) {
      gateway.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    backend.stop(0);
  }

  @ParameterizedTest
  @ValueSource(strings = {"io_uring", "epoll"})
  void aConnectionFloodPastTheLimitPausesAcceptingWithOneWarningAndServesAgainAfter(String transport) throws Exception {
    Assumptions.assumeTrue(transport.equals("epoll") ? io.netty.channel.epoll.Epoll.isAvailable()
        : io.netty.channel.uring.IoUring.isAvailable(), transport + " is not available here");
    int port = Ports.free();
    Path conf = dir.resolve("gateway.yml");
    Files.writeString(conf, """
        server: {host: 127.0.0.1, port: %d, instances: 2, admin_listener: {port: %d}}
        docker: {enabled: false}
        access_log: {enabled: false}
        routes: [{path_prefix: /, backend: app}]
        backends: [{name: app, targets: ["http://127.0.0.1:%d"]}]
        """.formatted(port, Ports.free(), backend.getAddress().getPort()));
    Path log = dir.resolve("gateway.log");
    List<String> command = new ArrayList<>(List.of("prlimit", "--nofile=" + LIMIT + ":" + LIMIT,
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:-MaxFDLimit",
        "-Dgateway.transport=" + transport, "-jar", JAR, "-conf", conf.toString()));
    gateway = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    Poll.until(Duration.ofSeconds(30), "gateway listening", () -> read(log).contains("gateway listening on"));
    String started = read(log);
    assertTrue(started.contains("the process may open " + LIMIT + " file descriptors, and server.max_connections 10000"
        + " and admin_listener.max_connections 256 need up to 20384"), started);

    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(2)).build();
    HttpRequest get = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/x"))
        .timeout(Duration.ofSeconds(3)).build();
    assertEquals(200, http.send(get, HttpResponse.BodyHandlers.ofString()).statusCode());

    // More connections than the gateway has descriptors, held for 3 s: the kernel completes them all (its queue), the
    // gateway accepts until none is left.
    List<Socket> flood = new ArrayList<>();
    try {
      for (int i = 0; i < LIMIT + 200; i++) {
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", port), 2_000);
        flood.add(socket);
      }
      Thread.sleep(3_000);
    } finally {
      for (Socket socket : flood) {
        socket.close();
      }
    }
    int[] status = {0};
    Poll.until(Duration.ofSeconds(10), "a request answered after the flood", () -> {
      try {
        status[0] = http.send(get, HttpResponse.BodyHandlers.ofString()).statusCode();
      } catch (IOException e) {
        return false;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
      return status[0] == 200;
    });

    String output = read(log);
    long lines = output.lines().count();
    long warnings = output.lines().filter(l -> l.contains("cannot accept connections on")).count();
    assertTrue(warnings >= 1 && warnings <= 2, "one warning per 10 s, got " + warnings + ":\n" + tail(output));
    assertTrue(output.contains("the process's limit is " + LIMIT + " file descriptors); accepting pauses 500 ms"), tail(output));
    assertFalse(output.contains("exceptionCaught"), tail(output));
    assertFalse(output.contains("reached at the tail of the pipeline"), tail(output));
    assertFalse(output.contains("SEVERE"), tail(output));
    assertTrue(lines < 60, lines + " log lines:\n" + tail(output));
  }

  static String read(Path log) {
    try {
      return Files.readString(log, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  static String tail(String output) {
    return output.length() <= 4000 ? output : "..." + output.substring(output.length() - 4000);
  }
}
