package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.Backends;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.LoggedErrors;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.Ports;
import dev.dockgate.testing.RawHttp;
import dev.dockgate.testing.RawHttp2;
import dev.dockgate.testing.TestBackend;
import dev.dockgate.testing.TestCerts;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Certificates served live: the files of {@code server.tls} replaced on disk (renamed into place as certbot and
 * cert-manager do, or behind a swapped link as in a Kubernetes secret) or named anew by a reload are served to new
 * connections on the main and the admin listener, while open connections keep theirs; a pair that does not belong
 * together leaves the served one. Real files, real TLS sockets, the certificate each handshake shows.
 */
class TlsReloadIT {

  @RegisterExtension
  static final Backends backends = new Backends();
  static TestBackend backend;
  /** Three certificates for 127.0.0.1 (told apart by their serial numbers) and an expired one. */
  static TestCerts.Pem a;
  static TestCerts.Pem b;
  static TestCerts.Pem c;
  static TestCerts.Pem expired;

  @TempDir
  static Path certs;
  @TempDir
  Path dir;
  GatewayHarness gateway;
  int adminPort;

  @BeforeAll
  static void start() {
    backend = backends.start("reload-backend");
    a = TestCerts.selfSigned(certs, "a");
    b = TestCerts.selfSigned(certs, "b");
    c = TestCerts.selfSigned(certs, "c");
    expired = TestCerts.expired(certs, "expired");
  }

  @AfterEach
  void stopGateway() {
    if (gateway != null) {
      gateway.close();
    }
  }

  String routes() {
    return """
        docker: {enabled: false}
        routes:
          - {path_prefix: /api, backend: app}
        backends:
          - {name: app, targets: ["http://127.0.0.1:%d"]}
        """.formatted(backend.port());
  }

  /** A gateway of two routers serving {@code cert} and {@code key} on its main and its (TLS) admin listener. */
  GatewayHarness gateway(Path cert, Path key) {
    adminPort = Ports.free();
    gateway = new GatewayHarness(dir, serverLines(cert, key), routes(), 2);
    return gateway;
  }

  /** A gateway started with certificate A copied into {@code cert} and {@code key}. */
  void servingA(Path cert, Path key) throws IOException {
    install(a, cert, key);
    gateway(cert, key);
  }

  String serverLines(Path cert, Path key) {
    return "  tls: {cert_file: \"%s\", key_file: \"%s\"}\n  admin_listener: {port: %d, tls: true}\n"
        .formatted(cert, key, adminPort);
  }

  /** Copies a pair into {@code cert} and {@code key} as certbot does: each written beside it, then renamed. */
  static void install(TestCerts.Pem pem, Path cert, Path key) throws IOException {
    replace(pem.cert(), cert);
    replace(pem.key(), key);
  }

  static void replace(Path from, Path to) throws IOException {
    Path temp = to.resolveSibling(to.getFileName() + ".tmp");
    Files.copy(from, temp, StandardCopyOption.REPLACE_EXISTING);
    Files.move(temp, to, StandardCopyOption.ATOMIC_MOVE);
  }

  static BigInteger serial(TestCerts.Pem pem) throws Exception {
    try (InputStream in = Files.newInputStream(pem.cert())) {
      return ((X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in))
          .getSerialNumber();
    }
  }

  /** The serial number of the certificate a new connection to {@code port} is served. */
  static BigInteger served(int port) {
    try (SSLSocket socket = RawHttp2.tls(port)) {
      return ((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSerialNumber();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Waits (10 s at most) until new connections to both listeners are served {@code pem}. */
  void awaitServed(TestCerts.Pem pem, String what) throws Exception {
    BigInteger expected = serial(pem);
    Poll.until(Duration.ofSeconds(10), what + " on the main listener", () -> served(gateway.port()).equals(expected));
    Poll.until(Duration.ofSeconds(10), what + " on the admin listener", () -> served(adminPort).equals(expected));
  }

  /** Sends a GET on an open HTTP/1.1 connection and returns the answer's status line. */
  static String get(SSLSocket socket, String path) throws IOException {
    socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
    socket.getOutputStream().flush();
    String head = RawHttp.readHead(socket.getInputStream());
    java.util.regex.Matcher length = java.util.regex.Pattern.compile("(?i)\r\ncontent-length: *(\\d+)").matcher(head);
    if (length.find()) {
      socket.getInputStream().readNBytes(Integer.parseInt(length.group(1)));
    }
    return head.isEmpty() ? "(closed)" : head.substring(0, head.indexOf("\r\n"));
  }

  /**
   * The certificate and key renamed into place (certbot's and cert-manager's way) are served to new connections on
   * every router's listeners, said at INFO with their subject and end of validity; a kept-alive connection goes on
   * with the certificate it shook hands with. Before, the files were read at start only: the old certificate stayed
   * until a restart.
   */
  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void aCertificateRenamedIntoPlaceIsServedToNewConnectionsAndOpenOnesGoOn() throws Exception {
    Path cert = dir.resolve("cert.pem");
    Path key = dir.resolve("key.pem");
    servingA(cert, key);
    assertEquals(serial(a), served(gateway.port()));
    assertEquals(serial(a), served(adminPort));
    try (LoggedErrors said = new LoggedErrors("dev.dockgate.edge.TlsListeners", Level.INFO);
        LoggedErrors warnings = new LoggedErrors("dev.dockgate", Level.WARNING);
        SSLSocket open = RawHttp2.tls(gateway.port())) {
      assertEquals("HTTP/1.1 200 OK", get(open, "/api/before"));
      install(b, cert, key);
      awaitServed(b, "the renewed certificate");
      assertEquals("HTTP/1.1 200 OK", get(open, "/api/after"), "the kept-alive connection goes on");
      assertEquals(serial(a), ((X509Certificate) open.getSession().getPeerCertificates()[0]).getSerialNumber(),
          "with the certificate it shook hands with");
      Poll.until(Duration.ofSeconds(5), "the new certificate said", () -> !said.lines().isEmpty());
      String line = said.lines().get(0);
      assertTrue(line.startsWith("INFO dev.dockgate.edge.TlsListeners: TLS certificate from \"" + cert + "\" now served"
          + " to new connections on 4 listener(s): CN=localhost, serial " + serial(b).toString(16) + ", valid until "), line);
      assertEquals(1, said.lines().size(), said.lines().toString());
      assertEquals(List.of(), warnings.lines());
    }
  }

  /**
   * A key that belongs to another certificate leaves the served certificate, said once as a warning naming the file
   * and the problem; the pair's next change is tried again.
   */
  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void aKeyOfAnotherCertificateKeepsTheServedOneAndIsSaidOnce() throws Exception {
    Path cert = dir.resolve("cert.pem");
    Path key = dir.resolve("key.pem");
    servingA(cert, key);
    try (LoggedErrors warnings = new LoggedErrors("dev.dockgate", Level.WARNING)) {
      replace(c.key(), key);
      Poll.until(Duration.ofSeconds(10), "the mismatched key said", () -> !warnings.lines().isEmpty());
      String line = warnings.lines().get(0);
      assertTrue(line.startsWith("WARNING dev.dockgate.ConfigWatcher: TLS certificate change rejected, the served"
          + " certificate and the running config stay"), line);
      assertTrue(line.endsWith(": server.tls.key_file: \"" + key + "\" is not the private key of the first certificate"
          + " in cert_file"), line);
      assertEquals(serial(a), served(gateway.port()), "the served certificate stays");
      assertEquals(serial(a), served(adminPort));
      install(b, cert, key);
      awaitServed(b, "the next, good pair");
      assertEquals(1, warnings.lines().size(), warnings.lines().toString());
    }
  }

  /**
   * Kubernetes updates a mounted secret by pointing its {@code ..data} link at a new folder: the files the config
   * names are links through it, and what they lead to is served.
   */
  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void aSecretsSwappedLinkIsFollowed() throws Exception {
    Path first = Files.createDirectory(dir.resolve("..2026_12_05_first"));
    Path second = Files.createDirectory(dir.resolve("..2026_12_05_second"));
    Files.copy(a.cert(), first.resolve("tls.crt"));
    Files.copy(a.key(), first.resolve("tls.key"));
    Files.copy(b.cert(), second.resolve("tls.crt"));
    Files.copy(b.key(), second.resolve("tls.key"));
    Path data = Files.createSymbolicLink(dir.resolve("..data"), first.getFileName());
    Path cert = Files.createSymbolicLink(dir.resolve("tls.crt"), Path.of("..data", "tls.crt"));
    Path key = Files.createSymbolicLink(dir.resolve("tls.key"), Path.of("..data", "tls.key"));
    gateway(cert, key);
    assertEquals(serial(a), served(gateway.port()));
    Path swapped = Files.createSymbolicLink(dir.resolve("..data_tmp"), second.getFileName());
    Files.move(swapped, data, StandardCopyOption.ATOMIC_MOVE);
    awaitServed(b, "the certificate behind the swapped link");
  }

  /**
   * A reload naming other files serves them without a restart (server.tls was a restart-only setting), and an expired
   * certificate is said as it is at start.
   */
  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void aReloadNamingOtherFilesServesThemAndAnExpiredOneIsSaid() throws Exception {
    gateway(a.cert(), a.key());
    try (LoggedErrors warnings = new LoggedErrors("dev.dockgate", Level.WARNING)) {
      gateway.rewriteConfig(serverLines(b.cert(), b.key()), routes());
      awaitServed(b, "the certificate the reload names");
      assertEquals(List.of(), warnings.lines(), "no restart asked for");
      gateway.rewriteConfig(serverLines(expired.cert(), expired.key()), routes());
      awaitServed(expired, "the expired certificate");
      Poll.until(Duration.ofSeconds(5), "the expired certificate said", () -> !warnings.lines().isEmpty());
      assertEquals(1, warnings.lines().size(), warnings.lines().toString());
      assertTrue(warnings.lines().get(0).startsWith("WARNING dev.dockgate.edge.CertificateDates: server.tls.cert_file:"
          + " the certificate in \"" + expired.cert() + "\" (CN=localhost) expired on "), warnings.lines().get(0));
    }
  }
}
