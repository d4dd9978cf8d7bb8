package dev.dockgate.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.dockgate.Features;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Config files as a careless or hostile hand writes them, read with {@link Features#load} as a start and a reload
 * read them: each is refused quickly, in bounded memory, with one line naming the file and the problem, or loads
 * with exactly the text that was written.
 */
@ExtendWith(VertxExtension.class)
@Timeout(30)
class HostileConfigFileTest {

  @TempDir
  Path dir;

  private static Vertx vertx;

  @BeforeAll
  static void shareVertx(Vertx shared) {
    vertx = shared;
  }

  private String write(String name, byte[] bytes) throws IOException {
    Path file = dir.resolve(name);
    Files.write(file, bytes);
    return file.toString();
  }

  private String write(String name, String text) throws IOException {
    return write(name, text.getBytes(StandardCharsets.UTF_8));
  }

  private static void expectProblem(String path, String problem, VertxTestContext ctx) {
    Features.load(vertx, path).onComplete(ctx.failing(err -> ctx.verify(() -> {
      ConfigException e = assertInstanceOf(ConfigException.class, err);
      assertEquals(List.of(path + ": " + problem), e.problems());
      ctx.completeNow();
    })));
  }

  /** Loading succeeds, and {@code check} holds of the config. */
  private static void expectConfig(String path, VertxTestContext ctx, java.util.function.Consumer<GatewayConfig> check) {
    Features.load(vertx, path).onComplete(ctx.succeeding(config -> ctx.verify(() -> {
      check.accept(config);
      ctx.completeNow();
    })));
  }

  @Test
  void aFileThatIsNotUtf8IsRefusedByLineAndColumnNotReadWithReplacementCharacters(VertxTestContext ctx)
      throws IOException {
    String path = write("conf.yml", "default_response:\n  body: \"caf\u00e9\"\n".getBytes(StandardCharsets.ISO_8859_1));
    expectProblem(path, "cannot read config file: not UTF-8 text: line 2, column 13: byte 0xE9 (save the file as UTF-8)",
        ctx);
  }

  @Test
  void aUtf16FileIsNamedAsSuch(VertxTestContext ctx) throws IOException {
    String path = write("conf.yml", "server: {port: 8080}\n".getBytes(StandardCharsets.UTF_16));
    expectProblem(path, "cannot read config file: UTF-16 text (it starts with a UTF-16 byte-order mark); save it as UTF-8",
        ctx);
  }

  @Test
  void aUtf8ByteOrderMarkIsSkipped(VertxTestContext ctx) throws IOException {
    String path = write("conf.yml", "\ufeffdefault_response: {body: caf\u00e9}\n");
    expectConfig(path, ctx, config -> {
      assertEquals("caf\u00e9", config.defaultResponse().body());
    });
  }

  @Test
  void aNulCharacterIsNamedByItsPlace(VertxTestContext ctx) throws IOException {
    String path = write("conf.yml", "server:\n  port: 8080\n\u0000\n");
    expectProblem(path, "cannot parse YAML: line 3, column 1: character U+0000 is not allowed in YAML", ctx);
  }

  @Test
  void anEndlessDeviceIsRefusedUnread(VertxTestContext ctx) {
    assumeTrue(Files.isReadable(Path.of("/dev/zero")), "a Unix system");
    expectProblem("/dev/zero", "cannot read config file: not a regular file (a pipe or a device); the config is read again at each change, so it must be a file", ctx);
  }

  @Test
  void aNamedPipeIsRefusedNotWaitedOnNorReadEmptyAtTheNextLoad(VertxTestContext ctx) throws Exception {
    Path fifo = dir.resolve("conf.yml");
    Process mkfifo;
    try {
      mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).start();
    } catch (IOException e) {
      org.junit.jupiter.api.Assumptions.abort("no mkfifo: " + e.getMessage());
      return;
    }
    assumeTrue(mkfifo.waitFor() == 0, "mkfifo made a pipe");
    expectProblem(fifo.toString(), "cannot read config file: not a regular file (a pipe or a device); the config is read again at each change, so it must be a file", ctx);
  }

  @Test
  void aFileLargerThanTheLimitIsRefusedWithTheLimit(VertxTestContext ctx) throws IOException {
    String path = write("conf.yml", ("#" + "x".repeat(1023) + "\n").repeat(16 * 1024 + 1));
    expectProblem(path, "cannot read config file: larger than 16777216 bytes", ctx);
  }

  @Test
  void aDirectoryIsNamedAsOne(VertxTestContext ctx) throws IOException {
    Path folder = Files.createDirectory(dir.resolve("conf.yml"));
    expectProblem(folder.toString(), "cannot read config file: is a directory", ctx);
  }

  @Test
  void aLoopOfSymbolicLinksIsNamedAsOneNotAsAMissingFile(VertxTestContext ctx) throws IOException {
    Path one = dir.resolve("one.yml");
    Path two = dir.resolve("two.yml");
    Files.createSymbolicLink(one, two);
    Files.createSymbolicLink(two, one);
    expectProblem(one.toString(), "cannot read config file: a loop of symbolic links", ctx);
  }

  @Test
  void anchorsThatDoubleEachOtherStopAtTheAliasBudget(VertxTestContext ctx) throws IOException {
    // 50 aliases (SnakeYAML's own limit) that each double the one before: 2^25 values once expanded.
    StringBuilder yaml = new StringBuilder("x0: &x0 [lol]\n");
    for (int i = 1; i <= 25; i++) {
      yaml.append("x").append(i).append(": &x").append(i).append(" [*x").append(i - 1).append(", *x").append(i - 1)
          .append("]\n");
    }
    String path = write("conf.yml", yaml.toString());
    expectProblem(path, "x15[0]: aliases expand to more than 100000 values (anchors that repeat one another)", ctx);
  }

  @Test
  void aFewAliasesStillWork(VertxTestContext ctx) throws IOException {
    String path = write("conf.yml", """
        docker: {enabled: false}
        routes:
          - {path_prefix: /a, backend: a}
        backends:
          - {name: a, targets: &targets ["http://127.0.0.1:9001"]}
          - {name: b, targets: *targets}
        """);
    expectConfig(path, ctx, config -> {
      assertEquals(config.backends().get(0).targets(), config.backends().get(1).targets());
    });
  }

  @Test
  void scalarsKeepTheTextWrittenWhereAStringIsExpected(VertxTestContext ctx) throws IOException {
    // YAML 1.1 would read no as false, 010 as 8, 1:30 as 90, 1.10 as 1.1 and the date as a time stamp: a container
    // labelled env=no or version=1.10 would never match, a body would not be what was written.
    String path = write("conf.yml", """
        default_response: {body: 1:30}
        backends:
          - name: a
            match_labels: {env: no, version: 1.10, build: 010, day: 2024-01-02, on: on, big: 1e3}
        """);
    expectConfig(path, ctx, config -> {
      assertEquals("1:30", config.defaultResponse().body());
      assertEquals(Map.of("env", "no", "version", "1.10", "build", "010", "day", "2024-01-02", "on", "on", "big", "1e3"),
          config.backends().get(0).matchLabels().required());
    });
  }

  @Test
  void jsonNumbersKeepTheTextWrittenWhereAStringIsExpected(VertxTestContext ctx) throws IOException {
    // Read as doubles, 1.10 became 1.1 and 1e3 1000.0: a container labelled version=1.10 would never match.
    String path = write("conf.json", """
        {"server": {"port": 8.08e3, "idle_timeout_ms": 1e3},
         "default_response": {"body": 1.50},
         "backends": [{"name": "a", "match_labels": {"version": 1.10, "big": 1e3, "n": -0.0, "huge": 123456789012345678901}}]}
        """);
    expectConfig(path, ctx, config -> {
      assertEquals("1.50", config.defaultResponse().body());
      assertEquals(Map.of("version", "1.10", "big", "1e3", "n", "-0.0", "huge", "123456789012345678901"),
          config.backends().get(0).matchLabels().required());
      assertEquals(8080, config.server().port());
      assertEquals(1000, config.server().limits().idleTimeoutMs());
    });
  }

  @Test
  void anEmptyValueIsNoneWhereTheSettingHasNoDefault(VertxTestContext ctx) throws IOException {
    // As the reference in docs/configuration.md writes them (host: null): the setting is not set.
    String path = write("conf.yml", """
        docker: {enabled: false, network: null}
        routes:
          - {path_prefix: /a, host: ~, backend: a}
        backends:
          - {name: a, targets: ["http://127.0.0.1:9"], tls: {server_name: null}}
        """);
    expectConfig(path, ctx, config -> {
      assertNull(config.routes().get(0).host());
      assertNull(config.docker().network());
      assertNull(config.backends().get(0).tls().serverName());
    });
  }

  @Test
  void numbersWrittenOtherwiseStillReadAsNumbers(VertxTestContext ctx) throws IOException {
    String path = write("conf.yml", "server: {port: 0x1F90, idle_timeout_ms: 1e3, instances: +2}\n");
    expectConfig(path, ctx, config -> {
      assertEquals(8080, config.server().port());
      assertEquals(1000, config.server().limits().idleTimeoutMs());
      assertEquals(2, config.server().instances());
    });
  }

  @Test
  void yesIsNotTakenForTrue(VertxTestContext ctx) throws IOException {
    String path = write("conf.yml", "docker: {enabled: yes}\n");
    expectProblem(path, "docker.enabled: expected true or false, got \"yes\"", ctx);
  }

  @Test
  void aNumberOutOfRangeIsQuotedAsWritten(VertxTestContext ctx) throws IOException {
    String path = write("conf.yml", "server: {port: 1e400}\n");
    expectProblem(path, "server.port: must be between 0 and 65535, got 1e400", ctx);
  }

  @Test
  void aBinaryValueIsRefusedByItsPlace(VertxTestContext ctx) throws IOException {
    String path = write("conf.yml", "default_response:\n  body: !!binary aGVsbG8=\n");
    expectProblem(path, "cannot parse YAML: line 2, column 9: the tag tag:yaml.org,2002:binary is not allowed in the config",
        ctx);
  }

  @Test
  void aNullKeyIsNamedByItsMapping(VertxTestContext ctx) throws IOException {
    String path = write("conf.yml", "server:\n  ~: 8080\n");
    expectProblem(path, "server: a key is empty or null (~)", ctx);
  }

  @Test
  void aLabelWithoutANameIsAnErrorInTheMappingFormToo(VertxTestContext ctx) throws IOException {
    String path = write("conf.yml", "backends:\n  - {name: a, match_labels: {'': x}}\n");
    expectProblem(path, "backends[0].match_labels: a label name must not be empty", ctx);
  }

  @Test
  void anEmptyListenAddressIsAnErrorNotAFailedStart(VertxTestContext ctx) throws IOException {
    String path = write("conf.yml", "server: {host: '', admin_listener: {host: ' '}}\nevent_bus_bridge: {host: ''}\n");
    Features.load(vertx, path).onComplete(ctx.failing(err -> ctx.verify(() -> {
      String problem = ": must not be empty: an address to listen on, such as 0.0.0.0 (all) or 127.0.0.1";
      assertEquals(List.of(path + ": server.host" + problem, path + ": server.admin_listener.host" + problem,
          path + ": event_bus_bridge.host" + problem), assertInstanceOf(ConfigException.class, err).problems());
      ctx.completeNow();
    })));
  }
}
