package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.Poll;
import dev.dockgate.testing.Ports;
import java.io.IOException;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real fat jar, started as users start it: {@code java -jar target/gateway-fat.jar -conf FILE}. */
class LauncherIT {

  static final String JAR = System.getProperty("gateway.jar", "target/gateway-fat.jar");

  @TempDir
  Path dir;

  record Run(int exit, String output) {
  }

  Process start(Path log, String... args) throws IOException {
    return start(log, List.of(), args);
  }

  Process start(Path log, List<String> jvmArgs, String... args) throws IOException {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    command.addAll(jvmArgs);
    command.addAll(List.of("-jar", JAR));
    command.addAll(List.of(args));
    return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
  }

  Run runToExit(String... args) throws Exception {
    Path log = dir.resolve("run.log");
    Process p = start(log, args);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "gateway should exit");
    return new Run(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
  }

  @Test
  void anInvalidConfigExitsNonZeroNamingFileFieldAndProblem() throws Exception {
    Path conf = dir.resolve("bad.yml");
    Files.writeString(conf, """
        server: {port: %d, admin_listener: false}
        routes:
          - {path_prefix: /api/payment, backend: payment}
          - {path_prefix: /api/x, backend: pay}
        backends:
          - {name: payment, match_labels: [app_name=payment]}
          - {name: orders, match_labels: [app_name=orders], colour: blue}
        """.formatted(Ports.free()));
    Run run = runToExit("-conf", conf.toString());
    assertEquals(1, run.exit(), run.output());
    assertTrue(run.output().contains(conf + ": routes[1].backend: unknown backend \"pay\"; known: orders, payment"),
        run.output());
    assertTrue(run.output().contains(conf + ": backends[1].colour: unknown key"), run.output());
    assertFalse(run.output().contains("Exception"), "one clear message, no stack trace:\n" + run.output());
  }

  @Test
  void aPortInUseStopsTheStartWithOneLineNamingTheListener() throws Exception {
    try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
      int port = taken.getLocalPort();
      Path conf = dir.resolve("taken.yml");
      Files.writeString(conf, """
          server: {host: 127.0.0.1, port: %d, admin_listener: false}
          docker: {enabled: false}
          """.formatted(port));
      Run main = runToExit("-conf", conf.toString());
      assertEquals(1, main.exit(), main.output());
      assertTrue(main.output().contains("server.port: cannot listen on 127.0.0.1:" + port
          + ": the address is already in use"), main.output());
      assertFalse(main.output().contains("Exception"), "one clear message, no stack trace:\n" + main.output());
      Files.writeString(conf, """
          server: {host: 127.0.0.1, port: %d, admin_listener: {host: 127.0.0.1, port: %d}}
          docker: {enabled: false}
          """.formatted(Ports.free(), port));
      Run admin = runToExit("-conf", conf.toString());
      assertEquals(1, admin.exit(), admin.output());
      assertTrue(admin.output().contains("server.admin_listener.port: cannot listen on 127.0.0.1:" + port), admin.output());
      assertFalse(admin.output().contains("Exception"), admin.output());
      Files.writeString(conf, """
          server: {host: 127.0.0.1, port: %d, admin_listener: false}
          docker: {enabled: false}
          event_bus_bridge: {enabled: true, host: 127.0.0.1, port: %d}
          """.formatted(Ports.free(), port));
      Run bridge = runToExit("-conf", conf.toString());
      assertEquals(1, bridge.exit(), bridge.output());
      assertTrue(bridge.output().contains("event_bus_bridge.port: cannot listen on 127.0.0.1:" + port
          + ": the address is already in use"), bridge.output());
      assertFalse(bridge.output().contains("Exception"), bridge.output());
      // An address no interface has (TEST-NET-1, bound to, never sent to): the host is the field at fault.
      Files.writeString(conf, """
          server: {host: 192.0.2.1, port: %d, admin_listener: false}
          docker: {enabled: false}
          """.formatted(Ports.free()));
      Run host = runToExit("-conf", conf.toString());
      assertEquals(1, host.exit(), host.output());
      assertTrue(host.output().contains("server.host: cannot listen on 192.0.2.1:"), host.output());
      assertTrue(host.output().contains("no network interface of this machine has that address"), host.output());
    }
  }

  @Test
  void aMissingConfigFileIsAnErrorNotAnEmptyConfig() throws Exception {
    Run run = runToExit("-conf", dir.resolve("nope.yml").toString());
    assertEquals(1, run.exit(), run.output());
    assertTrue(run.output().contains("nope.yml: cannot read config file: no such file"), run.output());
  }

  @Test
  void aYamlConfigIsLoadedAndServedWithTheRequestedInstances() throws Exception {
    int port = Ports.free();
    int admin = Ports.free();
    Path conf = dir.resolve("gateway.yml");
    Files.writeString(conf, """
        server: {host: 127.0.0.1, port: %d, admin_listener: {port: ADMIN}}
        docker: {enabled: false}
        routes: []
        default_response: {status_code: 403, body: "This is not reachable"}
        backends: []
        """.replace("ADMIN", Integer.toString(admin)).formatted(port));
    Path log = dir.resolve("serve.log");
    Process p = start(log, "-conf", conf.toString(), "-instances", "3");
    try {
      HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/anything")).build();
      Poll.until(Duration.ofSeconds(30), "gateway answering", () -> {
        try {
          return http.send(request, HttpResponse.BodyHandlers.ofString()).statusCode() == 403;
        } catch (Exception e) {
          return false;
        }
      });
      HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
      assertEquals("This is not reachable", response.body());
      HttpResponse<String> stats = http.send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + port + "/stats")).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, stats.statusCode());
      assertTrue(stats.body().startsWith("{\"requests_count\":{\"success\":0,\"error\":"), stats.body());
      String output = Files.readString(log);
      assertTrue(output.contains("with 3 router instance(s)"), output);
      // By default (auto) the first native transport this machine allows, io_uring before epoll;
      // the suite may be run on another with GATEWAY_TRANSPORT, which the jar inherits.
      String expected = dev.dockgate.NetworkTransport.choose(dev.dockgate.NetworkTransport.configured(), true).name();
      assertTrue(output.contains("network transport: " + expected), output);
      assertTrue(output.contains("(" + expected + " transport)"), output);
      // The launcher turns on vertx-micrometer-metrics: JVM and Vert.x pool meters join the gateway's.
      String metrics = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString()).body();
      assertTrue(metrics.contains("jvm_memory_used_bytes"), metrics);
      assertTrue(metrics.contains("vertx_pool_"), metrics);
      assertTrue(metrics.contains("gateway_requests_total{backend=\"none\",route=\"none\",status_class=\"4xx\"}"), metrics);
      assertFalse(metrics.contains("vertx_http_server_"), "per-request Vert.x meters stay off");
      assertTrue(p.isAlive());
    } finally {
      p.destroy();
      p.waitFor(20, TimeUnit.SECONDS);
    }
  }

  @Test
  void anUnknownTransportExitsNamingTheSettingAndTheChoices() throws Exception {
    Path log = dir.resolve("transport.log");
    Process p = start(log, List.of("-Dgateway.transport=dpdk"), "-conf", dir.resolve("unused.yml").toString());
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "gateway should exit");
    String output = Files.readString(log);
    assertEquals(2, p.exitValue(), output);
    assertTrue(output.contains("-Dgateway.transport: unknown transport \"dpdk\"; known: auto, io_uring, epoll, nio"),
        output);
  }

  @Test
  void anExplicitTransportIsUsedAndServes() throws Exception {
    int port = Ports.free();
    Path conf = dir.resolve("nio.yml");
    Files.writeString(conf, """
        server: {host: 127.0.0.1, port: %d, admin_listener: {port: ADMIN}}
        docker: {enabled: false}
        default_response: {status_code: 404, body: "none here"}
        """.replace("ADMIN", Integer.toString(Ports.free())).formatted(port));
    Path log = dir.resolve("nio.log");
    Process p = start(log, List.of("-Dgateway.transport=nio"), "-conf", conf.toString());
    try {
      HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/x")).build();
      Poll.until(Duration.ofSeconds(30), "gateway answering", () -> {
        try {
          return http.send(request, HttpResponse.BodyHandlers.ofString()).body().equals("none here");
        } catch (Exception e) {
          return false;
        }
      });
      // The routers answer a moment before the start-up line is written.
      Poll.until(Duration.ofSeconds(10), "start-up line written", () -> readLog(log).contains("(nio transport)"));
      assertTrue(readLog(log).contains("network transport: nio"), readLog(log));
    } finally {
      p.destroy();
      p.waitFor(20, TimeUnit.SECONDS);
    }
  }

  @Test
  void aChangeKeepingSizeAndTimeStampIsSeenAndSighupReloadsToo() throws Exception {
    int port = Ports.free();
    Path conf = dir.resolve("gateway.yml");
    String text = """
        server: {host: 127.0.0.1, port: %d, admin_listener: {port: ADMIN}}
        docker: {enabled: false}
        default_response: {status_code: 418, body: "%s"}
        """;
    text = text.replace("ADMIN", Integer.toString(Ports.free()));
    Files.writeString(conf, text.formatted(port, "aaaa"));
    java.nio.file.attribute.FileTime stamp = Files.getLastModifiedTime(conf);
    Process p = start(dir.resolve("hup.log"), "-conf", conf.toString());
    try {
      java.util.function.Supplier<String> body = bodyOf(port);
      Poll.until(Duration.ofSeconds(30), "gateway answering", () -> body.get().equals("aaaa"));
      Poll.until(Duration.ofSeconds(10), "signal handlers installed",
          () -> readLog(dir.resolve("hup.log")).contains("SIGTERM drains"));
      // Same size, same time stamp, written in place: its change time tells the watcher (it used to miss it).
      Files.writeString(conf, text.formatted(port, "bbbb"));
      Files.setLastModifiedTime(conf, stamp);
      Poll.until(Duration.ofSeconds(5), "reloaded by the watcher", () -> body.get().equals("bbbb"));
      assertEquals(0, new ProcessBuilder("kill", "-HUP", Long.toString(p.pid())).start().waitFor());
      Poll.until(Duration.ofSeconds(5), "SIGHUP answered", () -> readLog(dir.resolve("hup.log"))
          .contains("read again on SIGHUP: valid, unchanged"));
      assertTrue(readLog(dir.resolve("hup.log")).contains("SIGHUP: reloading the configuration"));
    } finally {
      p.destroy();
      p.waitFor(20, TimeUnit.SECONDS);
    }
  }

  @Test
  @org.junit.jupiter.api.Timeout(90)
  void sighupSaysWhatBecameOfTheReloadEachTimeEvenWhenNothingChangedSinceTheLastCheck() throws Exception {
    // An operator who sends SIGHUP (like nginx -s reload) must read the outcome in the log, every time: the
    // watcher's rejection of the same invalid file a moment earlier is no answer to the signal.
    int port = Ports.free();
    Path conf = dir.resolve("gateway.yml");
    String valid = """
        server: {host: 127.0.0.1, port: %d, admin_listener: false}
        docker: {enabled: false}
        default_response: {status_code: 418, body: "aaaa"}
        """.formatted(port);
    Files.writeString(conf, valid);
    Path log = dir.resolve("hup-outcome.log");
    Process p = start(log, "-conf", conf.toString());
    try {
      java.util.function.Supplier<String> body = bodyOf(port);
      Poll.until(Duration.ofSeconds(30), "gateway answering", () -> body.get().equals("aaaa"));
      Poll.until(Duration.ofSeconds(10), "signal handlers installed", () -> readLog(log).contains("SIGTERM drains"));
      String problem = conf + ": server.prot: unknown key";
      Files.writeString(conf, valid.replace("port: " + port, "port: " + port + ", prot: 1"));
      Poll.until(Duration.ofSeconds(5), "invalid edit rejected by the watcher", () -> readLog(log).contains(problem));
      assertEquals(0, new ProcessBuilder("kill", "-HUP", Long.toString(p.pid())).start().waitFor());
      Poll.until(Duration.ofSeconds(5), "the rejection said again after SIGHUP",
          () -> readLog(log).split(java.util.regex.Pattern.quote(problem), -1).length - 1 == 2);
      assertEquals("aaaa", body.get(), "the running config stays");

      Files.writeString(conf, valid);
      Poll.until(Duration.ofSeconds(5), "valid file back", () -> readLog(log).contains("config " + conf + " valid again"));
      assertEquals(0, new ProcessBuilder("kill", "-HUP", Long.toString(p.pid())).start().waitFor());
      Poll.until(Duration.ofSeconds(5), "SIGHUP of an unchanged config answered",
          () -> readLog(log).contains("config " + conf + " read again on SIGHUP: valid, unchanged"));
    } finally {
      p.destroy();
      p.waitFor(20, TimeUnit.SECONDS);
    }
  }

  /** The body of GET /x on the gateway at {@code port}, or "" when it does not answer. */
  static java.util.function.Supplier<String> bodyOf(int port) {
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/x")).build();
    return () -> {
      try {
        return http.send(request, HttpResponse.BodyHandlers.ofString()).body();
      } catch (Exception e) {
        return "";
      }
    };
  }

  static String readLog(Path log) {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return "";
    }
  }
}
