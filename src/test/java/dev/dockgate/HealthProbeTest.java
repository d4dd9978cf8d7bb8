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
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class HealthProbeTest {

  private static final Duration TIMEOUT = Duration.ofMillis(500);

  private HttpServer server;

  @TempDir
  java.nio.file.Path dir;
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
  void aTwoHundredOverHttpsIsHealthyWhateverTheCertificate() throws Exception {
    // With server.tls the main port speaks HTTPS only, with the operator's certificate (often one the
    // JVM does not trust, for another name than 127.0.0.1): the probe asks whether the process answers.
    dev.dockgate.testing.TestCerts.Pem pem = dev.dockgate.testing.TestCerts.selfSigned(dir, "probe");
    java.security.cert.Certificate cert;
    try (java.io.InputStream in = java.nio.file.Files.newInputStream(pem.cert())) {
      cert = java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
    String base64 = java.nio.file.Files.readString(pem.key()).replaceAll("-----[A-Z ]+-----|\\s", "");
    java.security.PrivateKey key = java.security.KeyFactory.getInstance("EC")
        .generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(java.util.Base64.getDecoder().decode(base64)));
    java.security.KeyStore store = java.security.KeyStore.getInstance("PKCS12");
    store.load(null, null);
    store.setKeyEntry("probe", key, "pw".toCharArray(), new java.security.cert.Certificate[] {cert});
    javax.net.ssl.KeyManagerFactory keys = javax.net.ssl.KeyManagerFactory.getInstance(
        javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
    keys.init(store, "pw".toCharArray());
    javax.net.ssl.SSLContext ssl = javax.net.ssl.SSLContext.getInstance("TLS");
    ssl.init(keys.getKeyManagers(), null, null);
    com.sun.net.httpserver.HttpsServer https = com.sun.net.httpserver.HttpsServer.create(
        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    https.setHttpsConfigurator(new com.sun.net.httpserver.HttpsConfigurator(ssl));
    server = https;
    server.createContext("/health/live", exchange -> {
      exchange.sendResponseHeaders(200, -1);
      exchange.close();
    });
    server.start();
    int port = server.getAddress().getPort();
    assertEquals(0, HealthProbe.check(URI.create("https://127.0.0.1:" + port + "/health/live"), TIMEOUT));
    assertEquals(0, HealthProbe.check(URI.create("https://localhost:" + port + "/health/live"), TIMEOUT));
    assertEquals(1, HealthProbe.check(URI.create("https://127.0.0.1:" + port + "/elsewhere"), TIMEOUT),
        "still the answer that decides");
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
