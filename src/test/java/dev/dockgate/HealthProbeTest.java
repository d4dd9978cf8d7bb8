package dev.dockgate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class HealthProbeTest {

  private static final Duration TIMEOUT = Duration.ofMillis(500);

  private HttpServer server;
  private final CountDownLatch release = new CountDownLatch(1);

  @AfterEach
  void stop() {
    release.countDown();
    if (server != null) {
      server.stop(0);
    }
  }

  private URI serve(int status) throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/health/live", exchange -> {
      if (status == 0) {
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      byte[] body = "{\"status\":\"UP\"}".getBytes();
      exchange.sendResponseHeaders(status == 0 ? 200 : status, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    server.start();
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/health/live");
  }

  @Test
  void aTwoHundredIsHealthy() throws IOException {
    assertEquals(0, HealthProbe.check(serve(200), TIMEOUT));
  }

  @Test
  void aServiceUnavailableIsUnhealthy() throws IOException {
    assertEquals(1, HealthProbe.check(serve(503), TIMEOUT));
  }

  @Test
  void aRedirectIsUnhealthy() throws IOException {
    assertEquals(1, HealthProbe.check(serve(302), TIMEOUT));
  }

  @Test
  void aRefusedConnectionIsUnhealthy() throws IOException {
    int port;
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = socket.getLocalPort();
    }
    assertEquals(1, HealthProbe.check(URI.create("http://127.0.0.1:" + port + "/health/live"), TIMEOUT));
  }

  @Test
  void noAnswerWithinTheTimeoutIsUnhealthy() throws IOException {
    URI uri = serve(0);
    long start = System.nanoTime();
    assertEquals(1, HealthProbe.check(uri, TIMEOUT));
    long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    assertTrue(elapsedMs >= 400 && elapsedMs < 5_000, "gave up after " + elapsedMs + " ms");
  }
}
