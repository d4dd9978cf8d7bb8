package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.GatewayJar;
import dev.dockgate.testing.Poll;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real jar refusing an upload it will not read (413 for an announced body over {@code max_body_bytes}), to
 * clients that go on sending: the answer must reach them. Browsers, Python's http.client and Java's
 * HttpURLConnection send no {@code Expect: 100-continue} and write the whole body before they read; closing the
 * connection at once with their bytes unread made the kernel answer with a reset, which destroyed the 413 (curl
 * without Expect, 12 MB to a 10 MB limit: 6 resets in 10 tries; nginx, which closes lingering, 10 answers in 10).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RefusedUploadIT {

  @TempDir
  static Path dir;
  static GatewayJar gateway;
  static com.sun.net.httpserver.HttpServer backend;

  @BeforeAll
  static void start() throws IOException {
    backend = com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 16);
    backend.createContext("/", exchange -> {
      exchange.getRequestBody().transferTo(OutputStream.nullOutputStream());
      exchange.sendResponseHeaders(200, 3);
      exchange.getResponseBody().write("ok\n".getBytes(StandardCharsets.US_ASCII));
      exchange.close();
    });
    backend.start();
    String target = "http://127.0.0.1:" + backend.getAddress().getPort();
    gateway = new GatewayJar(dir, "  max_body_bytes: 1048576\n", "docker: {enabled: false}\n"
        + "routes: [{path_prefix: /up, backend: up}]\nbackends: [{name: up, targets: [\"" + target + "\"]}]\n", 1);
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.close();
    }
    backend.stop(0);
  }

  /** 16 MiB: more than loopback's socket buffers take, so the client is still writing when the 413 comes. */
  static final int BODY = 16 << 20;

  /** Writes a POST head announcing {@code BODY} bytes and the whole body, then reads what came back. */
  static String uploadThenRead(Socket socket) throws IOException {
    OutputStream out = socket.getOutputStream();
    out.write(("POST /up/file HTTP/1.1\r\nHost: a\r\nContent-Length: " + BODY + "\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII));
    byte[] block = new byte[64 << 10];
    for (int sent = 0; sent < BODY; sent += block.length) {
      out.write(block);
    }
    out.flush();
    return readToEnd(socket.getInputStream());
  }

  static String readToEnd(InputStream in) throws IOException {
    ByteArrayOutputStream got = new ByteArrayOutputStream();
    byte[] buffer = new byte[8192];
    for (int n; (n = in.read(buffer)) >= 0; ) {
      got.write(buffer, 0, n);
    }
    return got.toString(StandardCharsets.ISO_8859_1);
  }

  @Test
  void aClientWritingItsWholeBodyBeforeReadingGetsThe413() throws Exception {
    long before = gateway.statsTotal();
    long errors = gateway.stats().getJsonObject("requests_count").getLong("error");
    for (int i = 0; i < 5; i++) {
      try (Socket socket = new Socket("127.0.0.1", gateway.port())) {
        socket.setSoTimeout(10_000);
        String answer;
        try {
          answer = uploadThenRead(socket);
        } catch (IOException e) {
          throw new AssertionError("upload " + i + ": the connection failed before the answer was read: " + e, e);
        }
        assertTrue(answer.startsWith("HTTP/1.1 413 "), "upload " + i + ": " + answer);
        assertTrue(answer.toLowerCase().contains("\r\nconnection: close\r\n"), answer);
        assertTrue(answer.endsWith("request body larger than 1048576 bytes\n"), answer);
      }
    }
    Poll.until(Duration.ofSeconds(5), "the five 413s counted", () -> gateway.statsTotal() == before + 5);
    assertEquals(errors + 5, gateway.stats().getJsonObject("requests_count").getLong("error"));
  }

  /**
   * A client that never stops sending is not held for long: after the 413 and the gateway's FIN, the connection
   * ends within a few seconds (the gateway drops what it still reads, 2 s at most, as nginx's lingering close).
   */
  @Test
  void aClientThatKeepsSendingAfterThe413IsClosedSoon() throws Exception {
    try (Socket socket = new Socket("127.0.0.1", gateway.port())) {
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write(("POST /up/file HTTP/1.1\r\nHost: a\r\nContent-Length: 100000000\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      long start = System.nanoTime();
      Thread writer = new Thread(() -> {
        byte[] block = new byte[8192];
        try {
          while (true) {
            out.write(block);
            Thread.sleep(20);
          }
        } catch (IOException | InterruptedException e) {
          // the gateway closed
        }
      });
      writer.start();
      String answer;
      try {
        answer = readToEnd(socket.getInputStream());
      } catch (SocketTimeoutException e) {
        throw new AssertionError("the connection was still open after 10 s", e);
      } catch (IOException e) {
        answer = "(reset: " + e + ")";
      }
      long tookMs = (System.nanoTime() - start) / 1_000_000;
      writer.interrupt();
      writer.join(5_000);
      assertTrue(answer.startsWith("HTTP/1.1 413 "), answer);
      assertTrue(tookMs < 5_000, "ended after " + tookMs + " ms");
    }
  }
}
