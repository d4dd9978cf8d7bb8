package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.Ports;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The fat jar under a low open-file limit ({@code prlimit --nofile}), flooded with connections beyond it:
 * {@code max_connections} is held at what the limit holds, so a flood leaves descriptors for the backend connections
 * of the clients already in; and should the descriptors run out all the same (here: the admin listener's own cap),
 * accepting pauses with one warning, no stack traces and no spinning acceptor, and serves again after.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class DescriptorLimitIT {

  static final String JAR = System.getProperty("gateway.jar", "target/gateway-fat.jar");

  @TempDir
  Path dir;
  HttpServer backend;
  ExecutorService backendThreads = Executors.newFixedThreadPool(32);
  ExecutorService clients = Executors.newFixedThreadPool(20);
  Process gateway;
  Path log;

  @BeforeEach
  void backend() throws IOException {
    backend = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 100);
    backend.setExecutor(backendThreads);
    backend.createContext("/", exchange -> {
      if (exchange.getRequestURI().getPath().startsWith("/slow")) {
        try {
          Thread.sleep(300);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
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
    backendThreads.shutdownNow();
    clients.shutdownNow();
  }

  /** Starts the jar with at most {@code limit} open files; {@code serverKeys} go in the server block. */
  int start(String transport, int limit, String serverKeys, int adminPort) throws Exception {
    Assumptions.assumeTrue(transport.equals("epoll") ? io.netty.channel.epoll.Epoll.isAvailable()
        : io.netty.channel.uring.IoUring.isAvailable(), transport + " is not available here");
    int port = Ports.free();
    Path conf = dir.resolve("gateway.yml");
    Files.writeString(conf, """
        server: {host: 127.0.0.1, port: %d, instances: 2, admin_listener: {port: %d}%s}
        docker: {enabled: false}
        access_log: {enabled: false}
        routes: [{path_prefix: /, backend: app}]
        backends: [{name: app, targets: ["http://127.0.0.1:%d"]}]
        """.formatted(port, adminPort, serverKeys, backend.getAddress().getPort()));
    log = dir.resolve("gateway.log");
    gateway = new ProcessBuilder(List.of("prlimit", "--nofile=" + limit + ":" + limit,
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:-MaxFDLimit",
        "-Dgateway.transport=" + transport, "-jar", JAR, "-conf", conf.toString()))
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    Poll.until(Duration.ofSeconds(30), "gateway listening", () -> read(log).contains("gateway listening on"));
    return port;
  }

  @ParameterizedTest
  @ValueSource(strings = {"io_uring", "epoll"})
  void aFloodOfConnectionsLeavesDescriptorsForTheRequestsOfClientsAlreadyIn(String transport) throws Exception {
    int port = start(transport, 300, "", Ports.free());
    String started = read(log);
    java.util.regex.Matcher said = java.util.regex.Pattern.compile("INFO    \\[dev.dockgate.MainVerticle\\] server"
        + "\\.max_connections held at (\\d+) \\(configured: 10000\\): the process may open 300 file descriptors,"
        + " holds (\\d+) besides its connections").matcher(started);
    assertTrue(said.find(), started);
    int held = Integer.parseInt(said.group(1));
    int base = Integer.parseInt(said.group(2));
    assertTrue(base >= 128 && held == (300 - base) / 2, started);

    List<Socket> in = new ArrayList<>();
    List<Socket> flood = new ArrayList<>();
    try {
      for (int i = 0; i < 20; i++) {
        in.add(connect(port));
        assertEquals("HTTP/1.1 200 OK", exchange(in.get(i), "/x"));
      }
      // More connections than the limit holds, kept open: the kernel completes them (as its queue allows), the
      // gateway keeps as many as it holds.
      flood(port, 500, flood);
      Thread.sleep(500);
      // Twenty requests at once on the clients' connections, each needing a backend connection of its own.
      List<CompletableFuture<String>> answers = new ArrayList<>();
      for (Socket socket : in) {
        answers.add(CompletableFuture.supplyAsync(() -> {
          try {
            return exchange(socket, "/slow");
          } catch (IOException e) {
            return e.toString();
          }
        }, clients));
      }
      for (CompletableFuture<String> answer : answers) {
        assertEquals("HTTP/1.1 200 OK", answer.get(20, TimeUnit.SECONDS), tail(read(log)));
      }
    } finally {
      close(flood);
      close(in);
    }
    Poll.until(Duration.ofSeconds(10), "a new connection served", () -> {
      try (Socket next = connect(port)) {
        return exchange(next, "/x").equals("HTTP/1.1 200 OK");
      } catch (IOException e) {
        return false;
      }
    });
    String output = read(log);
    assertTrue(output.contains("max_connections (" + held + ") open: new connections are closed"), tail(output));
    assertFalse(output.contains("Too many open files"), tail(output));
    assertFalse(output.contains("breaker"), "no circuit opened on the healthy backend:\n" + tail(output));
    assertFalse(output.contains("SEVERE"), tail(output));
  }

  @ParameterizedTest
  @ValueSource(strings = {"io_uring", "epoll"})
  void descriptorsRunningOutPauseAcceptingWithOneWarningAndNoStackTrace(String transport) throws Exception {
    int adminPort = Ports.free();
    // The admin listener's own cap (256) is more than 200 descriptors hold: a flood there uses them all up.
    // header_timeout_ms: the idle flood keeps its descriptors past the 10 s between two warnings.
    int port = start(transport, 200, ", max_connections: 5000, header_timeout_ms: 30000", adminPort);
    String started = read(log);
    assertTrue(started.contains("WARNING [dev.dockgate.MainVerticle] server.max_connections held at "), started);
    assertTrue(started.contains("(configured: 5000): the process may open 200 file descriptors"), started);
    List<Socket> flood = new ArrayList<>();
    java.time.Duration cpuBefore = gateway.info().totalCpuDuration().orElseThrow();
    try {
      flood(adminPort, 300, flood);
      Poll.until(Duration.ofSeconds(20), "a second warning", () -> read(log).lines()
          .filter(l -> l.contains("cannot accept connections on")).count() >= 2);
    } finally {
      close(flood);
    }
    java.time.Duration cpu = gateway.info().totalCpuDuration().orElseThrow().minus(cpuBefore);
    Poll.until(Duration.ofSeconds(10), "both listeners serving again", () -> {
      try (Socket main = connect(port); Socket admin = connect(adminPort)) {
        return exchange(main, "/x").equals("HTTP/1.1 200 OK") && exchange(admin, "/health/live").equals("HTTP/1.1 200 OK");
      } catch (IOException e) {
        return false;
      }
    });
    String output = read(log);
    List<String> warnings = output.lines().filter(l -> l.contains("cannot accept connections on")).toList();
    assertTrue(warnings.size() >= 2 && warnings.size() <= 3, "one warning per 10 s:\n" + tail(output));
    // Two failed accepts a second while paused (an acceptor retrying at once failed millions of times).
    java.util.regex.Matcher times = java.util.regex.Pattern.compile("\\((\\d+) time\\(s\\) since the last such line")
        .matcher(warnings.get(1));
    assertTrue(times.find(), warnings.get(1));
    assertTrue(Integer.parseInt(times.group(1)) <= 60, warnings.get(1));
    assertTrue(cpu.toMillis() < 6_000, "the gateway spent " + cpu.toMillis() + " ms of CPU over the flood");
    assertTrue(output.contains("the process's limit is 200 file descriptors); accepting pauses 500 ms"), tail(output));
    assertTrue(output.contains("or lower admin_listener.max_connections (256)"), tail(output));
    assertFalse(output.contains("reached at the tail of the pipeline"), tail(output));
    assertFalse(output.contains("exceptionCaught"), tail(output));
    assertFalse(output.contains("SEVERE"), tail(output));
    assertTrue(output.lines().count() < 60, output.lines().count() + " log lines:\n" + tail(output));
  }

  /**
   * Opens up to {@code n} connections and keeps them in {@code into}; stops at the first the kernel does not complete
   * (its accept queue full: as large as the host's somaxconn allows).
   */
  static void flood(int port, int n, List<Socket> into) {
    for (int i = 0; i < n; i++) {
      try {
        into.add(connect(port));
      } catch (IOException queueFull) {
        return;
      }
    }
  }

  static Socket connect(int port) throws IOException {
    Socket socket = new Socket();
    socket.connect(new InetSocketAddress("127.0.0.1", port), 2_000);
    socket.setSoTimeout(10_000);
    return socket;
  }

  /** One GET on a kept-alive connection: the answer's status line, its head and 2-byte body read. */
  static String exchange(Socket socket, String path) throws IOException {
    OutputStream out = socket.getOutputStream();
    out.write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
    out.flush();
    InputStream input = socket.getInputStream();
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int b = input.read();
      if (b < 0) {
        return "closed after " + head;
      }
      head.append((char) b);
    }
    String text = head.toString();
    int length = 0;
    for (String line : text.split("\r\n")) {
      if (line.regionMatches(true, 0, "content-length:", 0, 15)) {
        length = Integer.parseInt(line.substring(15).trim());
      }
    }
    input.readNBytes(length);
    return text.substring(0, text.indexOf("\r\n"));
  }

  static void close(List<Socket> sockets) {
    for (Socket socket : sockets) {
      try {
        socket.close();
      } catch (IOException e) {
        // closing anyway
      }
    }
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
