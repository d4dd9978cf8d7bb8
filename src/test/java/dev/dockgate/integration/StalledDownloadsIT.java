package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.GatewayJar;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.Ports;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Clients that take the head of a large answer and then nothing (found by a load trial: each held about 0.5 MiB of
 * direct memory in the gateway, what its backend connection had read ahead; 1,200 of them exhausted a 512 MiB limit,
 * and the JDK's allocation then ran GCs and slept on the event loop, every route and /health/live silent for
 * minutes). The gateway runs as the real jar, in its own process; its direct memory is read from the JVM's native
 * memory tracking (direct buffers, the JDK's and Netty's own, are counted as "Other").
 */
@Timeout(180)
class StalledDownloadsIT {

  @TempDir
  Path dir;
  /** Stalled clients, the backend's listener and connections: closed after each test. */
  final List<java.io.Closeable> closing = new java.util.concurrent.CopyOnWriteArrayList<>();

  @AfterEach
  void stop() throws IOException {
    for (java.io.Closeable each : closing) {
      each.close();
    }
  }

  /**
   * A backend that sends 20 MiB to each request as fast as the gateway takes it, as a file server does (nginx's
   * sendfile): a thread per connection with blocking writes of 1 MiB, so that the gateway always finds as much to read
   * as its socket holds.
   */
  int backend() throws IOException {
    ServerSocket server = new ServerSocket(0, 200, java.net.InetAddress.getLoopbackAddress());
    closing.add(server);
    Thread acceptor = new Thread(() -> {
      while (!server.isClosed()) {
        try {
          Socket socket = server.accept();
          closing.add(socket);
          Thread sender = new Thread(() -> answer(socket), "big-backend");
          sender.setDaemon(true);
          sender.start();
        } catch (IOException closed) {
          return;
        }
      }
    }, "big-backend-acceptor");
    acceptor.setDaemon(true);
    acceptor.start();
    return server.getLocalPort();
  }

  static final byte[] MIB = new byte[1 << 20];

  /** Answers each request of the connection with 20 MiB (its head read no further than its blank line). */
  static void answer(Socket socket) {
    try (socket) {
      InputStream in = socket.getInputStream();
      java.io.OutputStream out = socket.getOutputStream();
      for (int lineEnds = 0, b; (b = in.read()) >= 0; ) {
        lineEnds = b == '\n' ? lineEnds + 1 : b == '\r' ? lineEnds : 0;
        if (lineEnds == 2) {
          lineEnds = 0;
          out.write(("HTTP/1.1 200 OK\r\ncontent-length: " + 20L * MIB.length + "\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
          for (int i = 0; i < 20; i++) {
            out.write(MIB);
          }
          out.flush();
        }
      }
    } catch (IOException gone) {
      // the gateway closed the connection (a client that left): nothing to do
    }
  }

  GatewayJar gateway(int admin, int backend, String... jvmOptions) {
    List<String> options = new ArrayList<>(List.of("-XX:NativeMemoryTracking=summary"));
    options.addAll(List.of(jvmOptions));
    return new GatewayJar(dir, "  admin_listener: {port: " + admin + "}\n", """
        docker: {enabled: false}
        routes:
          - {path_prefix: /, backend: big}
        backends:
          - {name: big, targets: ["http://127.0.0.1:%d"]}
        """.formatted(backend), 1, Map.of(), options);
  }

  /** A client that takes the head and the first bytes of an answer, then nothing (a small receive window). */
  void stall(int port, int n) throws IOException {
    Socket socket = new Socket();
    closing.add(socket);
    socket.setReceiveBufferSize(16384);
    socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
    socket.setSoTimeout(10_000);
    socket.getOutputStream().write(("GET /big/" + n + " HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
    assertTrue(socket.getInputStream().read(new byte[4096]) > 0, "no answer to client " + n);
  }

  /** One whole answer (its buffers made once, before anything is measured). */
  static void download(int port) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write("GET /warm HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
          .getBytes(StandardCharsets.US_ASCII));
      InputStream in = socket.getInputStream();
      byte[] buf = new byte[65536];
      long read = 0;
      for (int n; (n = in.read(buf)) > 0; ) {
        read += n;
      }
      assertTrue(read > 20L * MIB.length, "the whole answer: " + read + " bytes");
    }
  }

  private static final Pattern OTHER = Pattern.compile("Other \\(reserved=(\\d+)KB");

  /** The gateway's direct buffers and other native memory of the same category, in bytes (jcmd). */
  static long other(GatewayJar gw) {
    try {
      Process jcmd = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
          Long.toString(gw.pid()), "VM.native_memory", "summary").redirectErrorStream(true).start();
      String out = new String(jcmd.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(jcmd.waitFor(30, TimeUnit.SECONDS), "jcmd");
      Matcher m = OTHER.matcher(out);
      assertTrue(m.find(), out);
      return Long.parseLong(m.group(1)) * 1024;
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  static int live(int admin) throws Exception {
    HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + admin + "/health/live")).timeout(Duration.ofSeconds(5)).build(),
        HttpResponse.BodyHandlers.ofString());
    return response.statusCode();
  }

  /**
   * Each stalled download holds what is queued between its backend connection and the client, bounded as nginx's and
   * Envoy's buffers are: 485 KiB of direct memory each here (700 KiB behind nginx on io_uring), before backend
   * connections read at most 32 KiB at once; about 120 KiB now (the client's write queue, 64 KiB, and a few reads).
   */
  @Test
  void aStalledDownloadHoldsLittleDirectMemory() throws Exception {
    int admin = Ports.free();
    try (GatewayJar gw = gateway(admin, backend())) {
      download(gw.port());
      long before = other(gw);
      int n = 100;
      for (int i = 0; i < n; i++) {
        stall(gw.port(), i);
      }
      long[] last = {other(gw)};
      // Settled: what the gateway holds grows no more (its reads ahead stopped).
      Poll.until(Duration.ofSeconds(20), "the gateway's direct memory settled", () -> {
        try {
          Thread.sleep(500);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        long now = other(gw);
        boolean settled = Math.abs(now - last[0]) < 512 * 1024;
        last[0] = now;
        return settled;
      });
      long each = (last[0] - before) / n;
      assertTrue(each < 320 * 1024, "each stalled download holds " + each / 1024 + " KiB of direct memory ("
          + (last[0] - before) / 1024 + " KiB for " + n + ")");
      assertEquals(200, live(admin));
      assertFalse(gw.output().contains("SEVERE"), gw.output());
    }
  }
}
