package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.LoggedErrors;
import dev.dockgate.testing.Poll;
import io.netty.util.ResourceLeakDetector;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pooled buffers are given back when a client leaves in the middle of a large answer (found by a soak: every such
 * client left the bytes its backend connection had read ahead, while paused, in buffers never released, left to the
 * garbage collector rather than given back to Netty's pool). Netty's leak detector, at its paranoid level, tracks
 * every buffer the gateway allocates meanwhile and logs each one collected unreleased.
 */
@Timeout(90)
class BufferLeakIT {

  @TempDir
  Path dir;
  final Vertx vertx = Vertx.vertx();
  final ResourceLeakDetector.Level level = ResourceLeakDetector.getLevel();

  @AfterEach
  void stop() throws Exception {
    ResourceLeakDetector.setLevel(level);
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void clientsLeavingMidAnswerLeaveNoBufferUnreleased() throws Exception {
    int size = 2_000_000;
    Buffer chunk = Buffer.buffer(new byte[65536]);
    HttpServer backend = vertx.createHttpServer().requestHandler(req -> {
      req.response().putHeader("content-length", String.valueOf(size));
      for (int sent = 0; sent < size; sent += chunk.length()) {
        req.response().write(sent + chunk.length() <= size ? chunk : chunk.slice(0, size - sent));
      }
      req.response().end();
    });
    int backendPort = backend.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS)
        .actualPort();
    ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
    try (LoggedErrors leaks = new LoggedErrors("io.netty.util.ResourceLeakDetector", Level.WARNING);
        GatewayHarness gw = new GatewayHarness(dir, """
            docker: {enabled: false}
            routes:
              - {path_prefix: /big, backend: big}
            backends:
              - {name: big, targets: ["http://127.0.0.1:%d"]}
            """.formatted(backendPort))) {
      int clients = 30;
      for (int i = 0; i < clients; i++) {
        try (Socket socket = new Socket("127.0.0.1", gw.port())) {
          OutputStream out = socket.getOutputStream();
          out.write("GET /big/%d HTTP/1.1\r\nHost: x\r\n\r\n".formatted(i).getBytes(StandardCharsets.US_ASCII));
          out.flush();
          InputStream in = socket.getInputStream();
          byte[] buf = new byte[16384];
          for (int read = 0; read < 100_000; ) {
            int n = in.read(buf);
            assertTrue(n > 0, "the answer ended after " + read + " bytes");
            read += n;
          }
          Thread.sleep(20); // the backend connection has read ahead and paused meanwhile
        } // leaves mid-answer
      }
      Poll.until(Duration.ofSeconds(20), "every client counted", () -> gw.statsTotal() == clients);
      for (int round = 0; round < 5 && leaks.lines().isEmpty(); round++) {
        System.gc();
        Thread.sleep(200);
        for (int i = 0; i < 10; i++) {
          gw.get("/big/after"); // allocations, at which the detector reports buffers collected unreleased
        }
      }
      java.util.List<String> found = leaks.lines();
      assertTrue(found.isEmpty(), found.size() + " pooled buffers collected unreleased after " + clients
          + " clients left mid-answer; the first: " + (found.isEmpty() ? "" : found.get(0)));
    }
  }
}
