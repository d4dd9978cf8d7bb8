package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.GatewayJar;
import dev.dockgate.testing.RawHttp;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real jar passing a backend's 103 Early Hints on (RFC 8297; RFC 9110 §15.2 asks a proxy to forward 1xx
 * answers) to HTTP/1.1 and HTTP/2 clients, without hop-by-hop headers, never to an HTTP/1.0 client, at most
 * {@code BackendAnswer.MAX_EARLY_HINTS} per request; the request counted once, as the final answer's status.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EarlyHintsIT {

  @TempDir
  static Path dir;
  static GatewayJar gateway;
  static final List<ServerSocket> backends = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void start() throws IOException {
    int one = backend("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nKeep-Alive: timeout=5\r\n"
        + "Connection: X-Hop\r\nX-Hop: private\r\n\r\n"
        + "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal");
    int many = backend("HTTP/1.1 103 Early Hints\r\nLink: </1.css>\r\n\r\n".repeat(7)
        + "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal");
    gateway = new GatewayJar(dir, "  h2c: true\n", """
        docker: {enabled: false}
        routes:
          - {path_prefix: /one, backend: one}
          - {path_prefix: /many, backend: many}
        backends:
          - {name: one, targets: ["http://127.0.0.1:%d"]}
          - {name: many, targets: ["http://127.0.0.1:%d"]}
        """.formatted(one, many), 1);
  }

  /** A raw backend writing {@code answer} to each request it reads, then closing. */
  static int backend(String answer) throws IOException {
    ServerSocket socket = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
    Thread thread = new Thread(() -> {
      while (!socket.isClosed()) {
        try (Socket c = socket.accept()) {
          RawHttp.readHead(c.getInputStream());
          c.getOutputStream().write(answer.getBytes(StandardCharsets.ISO_8859_1));
          c.getOutputStream().flush();
        } catch (IOException e) {
          return;
        }
      }
    });
    thread.setDaemon(true);
    thread.start();
    backends.add(socket);
    return socket.getLocalPort();
  }

  @AfterAll
  static void stop() throws IOException {
    if (gateway != null) {
      gateway.close();
    }
    for (ServerSocket s : backends) {
      s.close();
    }
  }

  static RawHttp.Exchange ask(String version, String path, int responses) {
    return RawHttp.exchange(gateway.port(), ("GET " + path + " " + version + "\r\nHost: gw\r\n\r\n")
        .getBytes(StandardCharsets.ISO_8859_1), responses, 300, 10_000);
  }

  @Test
  void anHttp11ClientGetsTheHintsBeforeTheAnswerWithoutHopByHopHeaders() {
    long before = gateway.statsTotal();
    RawHttp.Exchange answer = ask("HTTP/1.1", "/one/page", 2);
    assertEquals(2, answer.responses().size(), answer.raw());
    RawHttp.Response hints = answer.responses().get(0);
    assertEquals(103, hints.status(), answer.raw());
    String head = hints.head().toLowerCase(Locale.ROOT);
    assertTrue(head.contains("\r\nlink: </a.css>; rel=preload\r\n"), head);
    assertFalse(head.contains("keep-alive"), "hop-by-hop headers stay with the backend: " + head);
    assertFalse(head.contains("x-hop"), "and those its Connection names: " + head);
    assertEquals(200, answer.responses().get(1).status());
    assertEquals("final", answer.responses().get(1).body());
    assertEquals(before + 1, gateway.statsTotal(), "one request, counted once");
  }

  @Test
  void anHttp10ClientNeverGetsAnInterimAnswer() {
    RawHttp.Exchange answer = ask("HTTP/1.0", "/one/page", 1);
    assertEquals(200, answer.status(), answer.raw());
    assertFalse(answer.raw().contains(" 103 "), answer.raw());
  }

  @Test
  void aBackendsFloodOfHintsIsPassedOnOnlyUpToTheLimit() {
    RawHttp.Exchange answer = ask("HTTP/1.1", "/many/page", 5);
    List<RawHttp.Response> responses = answer.responses();
    assertEquals(5, responses.size(), answer.raw());
    for (int i = 0; i < 4; i++) {
      assertEquals(103, responses.get(i).status(), answer.raw());
    }
    assertEquals(200, responses.get(4).status(), answer.raw());
    assertEquals("final", responses.get(4).body());
  }

  @Test
  void anHttp2ClientGetsTheHintsToo() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      HttpClient client = vertx.createHttpClient(new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2)
          .setHttp2ClearTextUpgrade(false));
      List<String> links = new CopyOnWriteArrayList<>();
      String body = client.request(new RequestOptions().setMethod(HttpMethod.GET).setHost("127.0.0.1")
              .setPort(gateway.port()).setURI("/one/page"))
          .compose(request -> {
            request.earlyHintsHandler((MultiMap hints) -> links.add(hints.get("link")));
            return request.send();
          })
          .compose(response -> {
            assertEquals(HttpVersion.HTTP_2, response.version());
            assertEquals(200, response.statusCode());
            return response.body();
          })
          .await(10, TimeUnit.SECONDS).toString();
      assertEquals("final", body);
      assertEquals(List.of("</a.css>; rel=preload"), links);
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }
}
