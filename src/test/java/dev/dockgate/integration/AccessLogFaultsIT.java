package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.config.AccessLogConfig;
import dev.dockgate.events.Addresses;
import dev.dockgate.observability.AccessLogVerticle;
import dev.dockgate.testing.GatewayJar;
import dev.dockgate.testing.LoggedErrors;
import dev.dockgate.testing.Poll;
import io.vertx.core.Vertx;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The access log when its file cannot be opened, when the disk fills up and frees again, and when its
 * writer is stalled by a pipe nobody reads: real files, a real tmpfs (as root), a real FIFO, the real jar.
 */
class AccessLogFaultsIT {

  static final String NO_DOCKER = "docker: {enabled: false}\n";

  @TempDir
  Path dir;

  static String accessLog(Path path) {
    return "access_log: {enabled: true, format: json, path: \"" + path + "\"}\n";
  }

  /** The request paths of a JSON access log; fails naming a line that is not a JSON object. */
  static List<String> paths(Path log) {
    List<String> paths = new ArrayList<>();
    List<String> lines;
    try {
      lines = Files.exists(log) ? Files.readAllLines(log) : List.of();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    for (String line : lines) {
      try {
        paths.add(new JsonObject(line).getString("path"));
      } catch (DecodeException e) {
        throw new AssertionError("not a whole JSON line in " + log + ": " + line);
      }
    }
    return paths;
  }

  @Test
  @Timeout(120)
  void aMissingOrUnusableDirectoryIsAConfigErrorForTheCheckAndTheStart() throws Exception {
    Path missing = dir.resolve("nowhere/access.log");
    Path file = Files.writeString(dir.resolve("plain"), "");
    Path conf = dir.resolve("gateway.yml");
    Files.writeString(conf, NO_DOCKER + accessLog(missing));
    GatewayJar.Exit check = GatewayJar.run(dir, Map.of(), List.of(), "-t", "-conf", conf.toString());
    assertEquals(1, check.status(), check.toString());
    assertTrue(check.err().contains(conf + ": access_log.path: cannot open \"" + missing + "\": no such directory"),
        check.toString());

    Files.writeString(conf, NO_DOCKER + accessLog(file.resolve("access.log")));
    GatewayJar.Exit start = GatewayJar.run(dir, Map.of(), List.of(), "-conf", conf.toString());
    assertEquals(1, start.status(), start.toString());
    assertTrue(start.err().contains("invalid configuration, not starting:\n" + conf + ": access_log.path: cannot open \""
        + file.resolve("access.log") + "\": \"" + file + "\" is not a directory"), start.toString());
    assertFalse(start.err().contains("\tat "), "no stack trace: " + start);
  }

  /**
   * A reload to a directory that does not exist is rejected and the running log keeps writing; once the
   * directory is made, SIGHUP with the same file moves the log there.
   */
  @Test
  @Timeout(120)
  void aReloadToAMissingDirectoryKeepsTheRunningLogAndSighupTriesAgain() throws Exception {
    Path first = dir.resolve("first.log");
    Path later = dir.resolve("later/access.log");
    try (GatewayJar gateway = new GatewayJar(dir, "", NO_DOCKER + accessLog(first), 1)) {
      assertEquals(404, gateway.get("/one").statusCode());
      Poll.until(Duration.ofSeconds(5), "first line", () -> paths(first).equals(List.of("/one")));

      String yaml = Files.readString(gateway.config());
      Files.writeString(gateway.config(), yaml.replace(first.toString(), later.toString()));
      String problem = gateway.config() + ": access_log.path: cannot open \"" + later + "\": no such directory";
      Poll.until(Duration.ofSeconds(10), "reload rejected", () -> gateway.output().contains(problem));
      assertEquals(404, gateway.get("/two").statusCode());
      Poll.until(Duration.ofSeconds(5), "still logged where it was", () -> paths(first).equals(List.of("/one", "/two")));

      Files.createDirectories(later.getParent());
      gateway.signal("HUP");
      // The new log is open and the old one closed once this is said.
      Poll.until(Duration.ofSeconds(10), "moved on SIGHUP", () -> gateway.output().contains("access log writing to \"" + later + "\""));
      assertEquals(404, gateway.get("/three").statusCode());
      Poll.until(Duration.ofSeconds(5), "logged at the new path", () -> paths(later).equals(List.of("/three")));
      assertEquals(List.of("/one", "/two"), paths(first));
      assertFalse(gateway.output().contains("access log not restarted"), gateway.output());
    }
  }

  /**
   * A file that passes the load's check but cannot be created (a tmpfs out of inodes, as root): at start, exit 1
   * with the config line; on a reload, the running log keeps writing, one warning names file, field and problem,
   * and SIGHUP with the same config opens it once it can be created.
   */
  @Test
  @Timeout(180)
  void aFileThatCannotBeCreatedLeavesTheRunningLogAndSighupTriesAgain() throws Exception {
    Path small = tmpfs("inodes", "size=64k,nr_inodes=2");
    try {
      Path filler = Files.writeString(small.resolve("filler"), ""); // the last inode
      Path later = small.resolve("access.log");
      Path conf = dir.resolve("gateway.yml");
      Files.writeString(conf, NO_DOCKER + accessLog(later));
      GatewayJar.Exit start = GatewayJar.run(dir, Map.of(), List.of(), "-conf", conf.toString());
      assertEquals(1, start.status(), start.toString());
      String problem = ": access_log.path: cannot open \"" + later + "\": No space left on device";
      assertTrue(start.err().contains("invalid configuration, not starting:\n" + conf + problem), start.toString());
      assertFalse(start.err().contains("\tat "), "no stack trace: " + start);

      Path first = dir.resolve("first.log");
      try (GatewayJar gateway = new GatewayJar(dir, "", NO_DOCKER + accessLog(first), 1)) {
        String yaml = Files.readString(gateway.config());
        Files.writeString(gateway.config(), yaml.replace(first.toString(), later.toString()));
        String warning = gateway.config() + problem + "; the access log stays writing to \"" + first
            + "\" (a reload or SIGHUP tries again)";
        Poll.until(Duration.ofSeconds(10), "open failure warned about", () -> gateway.output().contains(warning));
        assertEquals(404, gateway.get("/two").statusCode());
        Poll.until(Duration.ofSeconds(5), "still logged where it was", () -> paths(first).equals(List.of("/two")));

        Files.delete(filler);
        gateway.signal("HUP");
        Poll.until(Duration.ofSeconds(10), "moved on SIGHUP", () -> gateway.output().contains("access log writing to \"" + later + "\""));
        assertEquals(404, gateway.get("/three").statusCode());
        Poll.until(Duration.ofSeconds(5), "logged at the new path", () -> paths(later).equals(List.of("/three")));
        assertEquals(List.of("/two"), paths(first));
        assertEquals(1, count(gateway.output(), problem), gateway.output());
      }
    } finally {
      run("umount", "-l", small.toString());
    }
  }

  static int count(String text, String part) {
    return ConsulDiscoveryIT.count(text, part);
  }

  static int count(LoggedErrors log, String part) {
    return count(String.join("\n", log.lines()), part);
  }

  /** A tmpfs mounted in the test's directory with these options (the test is skipped unless it runs as root). */
  Path tmpfs(String name, String options) throws Exception {
    Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "mounts a tmpfs: needs root");
    Path mount = Files.createDirectories(dir.resolve(name));
    run("mount", "-t", "tmpfs", "-o", options, "tmpfs", mount.toString());
    return mount;
  }

  static void run(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(20, TimeUnit.SECONDS) && p.exitValue() == 0, String.join(" ", command) + ": " + out);
  }

  /** Fills the file system of {@code filler} up to its last byte. */
  static void fill(Path filler) throws IOException {
    byte[] chunk = new byte[512];
    try (var out = Files.newOutputStream(filler, StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
      while (true) {
        out.write(chunk);
        out.flush();
      }
    } catch (IOException full) {
      if (!String.valueOf(full.getMessage()).contains("No space left")) {
        throw full;
      }
    }
  }

  /**
   * A full disk, twice: requests are served, each episode is warned about once, and when space returns the
   * lost lines are counted and the file holds only whole lines (the part of a line written before the disk
   * filled is cut away). Needs root for the 64 KiB tmpfs.
   */
  @Test
  @Timeout(180)
  void aFullDiskLosesWholeLinesCountedAndEachEpisodeIsSaidOnce() throws Exception {
    Path small = tmpfs("small", "size=64k");
    try {
      Path log = small.resolve("access.log");
      Path filler = small.resolve("filler");
      String padding = "p".repeat(700);
      int sent = 0;
      try (GatewayJar gateway = new GatewayJar(dir, "", NO_DOCKER + accessLog(log), 1)) {
        assertEquals(404, gateway.get("/first").statusCode());
        sent++;
        Poll.until(Duration.ofSeconds(5), "first line", () -> paths(log).size() == 1);
        for (int episode = 1; episode <= 2; episode++) {
          fill(filler);
          for (int i = 0; i < 20; i++) {
            assertEquals(404, gateway.get("/full-" + episode + "-" + i + "-" + padding).statusCode());
            sent++;
          }
          int warned = episode;
          Poll.until(Duration.ofSeconds(10), "disk full warned about", () -> count(gateway.output(),
              "cannot be written: No space left on device") == warned);
          Files.delete(filler);
          assertEquals(404, gateway.get("/again-" + episode).statusCode());
          sent++;
          Poll.until(Duration.ofSeconds(10), "writable again", () -> count(gateway.output(), "writable again; ") == warned);
          String againLine = "/again-" + episode;
          Poll.until(Duration.ofSeconds(5), "line after the episode", () -> paths(log).contains(againLine));
        }
        String output = gateway.output();
        Matcher lost = Pattern.compile("writable again; (\\d+) line\\(s\\) lost").matcher(output);
        int lostLines = 0;
        while (lost.find()) {
          lostLines += Integer.parseInt(lost.group(1));
        }
        List<String> logged = paths(log); // each line whole JSON
        assertTrue(lostLines > 0, output);
        assertEquals(sent, logged.size() + lostLines, "logged " + logged + "\n" + output);
        assertEquals(2, count(output, "cannot be written"), output);
      }
    } finally {
      run("umount", "-l", small.toString());
    }
  }

  /**
   * A FIFO nobody reads stalls the writer: the lines waiting stay within the bound, the rest are dropped,
   * said once when the stall starts and with their count when the writer moves again; nothing is lost
   * uncounted. The in-process writer, 2,000 lines of 3 KB.
   */
  @Test
  @Timeout(120)
  void aStalledWriterKeepsABoundedQueueAndCountsWhatItDrops() throws Exception {
    Path fifo = dir.resolve("access.fifo");
    run("mkfifo", fifo.toString());
    Vertx vertx = Vertx.vertx();
    // Open for reading and writing: the writer's open does not wait for a reader, and nobody reads yet.
    try (LoggedErrors log = new LoggedErrors(AccessLogVerticle.class.getName(), Level.WARNING);
        FileChannel held = FileChannel.open(fifo, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      vertx.deployVerticle(new AccessLogVerticle(new AccessLogConfig(true, AccessLogConfig.Format.JSON, fifo.toString())))
          .await(30, TimeUnit.SECONDS);
      String padding = "x".repeat(3000);
      int sent = 2000;
      for (int i = 0; i < sent; i++) {
        vertx.eventBus().publish(Addresses.TRAFFIC, new JsonObject().put("timestamp", 0L).put("path", "/" + i + padding),
            new io.vertx.core.eventbus.DeliveryOptions().setLocalOnly(true));
        if (i % 100 == 99) {
          Thread.sleep(20);
        }
      }
      Poll.until(Duration.ofSeconds(20), "stall said", () -> count(log, "access log writer stalled: a write to") == 1);

      AtomicLong lines = new AtomicLong();
      AtomicLong bytes = new AtomicLong();
      Thread reader = new Thread(() -> {
        try (InputStream in = Channels.newInputStream(held)) {
          byte[] buffer = new byte[65536];
          for (int n; (n = in.read(buffer)) > 0; ) {
            bytes.addAndGet(n);
            for (int i = 0; i < n; i++) {
              if (buffer[i] == '\n') {
                lines.incrementAndGet();
              }
            }
          }
        } catch (IOException ignored) {
          // closed at the end of the test
        }
      });
      reader.setDaemon(true);
      reader.start();
      Poll.until(Duration.ofSeconds(20), "drop count said", () -> count(log, " line(s) dropped; ") == 1);
      Matcher count = Pattern.compile("access log writer stalled: (\\d+) line\\(s\\) dropped").matcher(
          String.join("\n", log.lines()));
      assertTrue(count.find(), log.lines().toString());
      long dropped = Long.parseLong(count.group(1));
      Poll.until(Duration.ofSeconds(20), "every line written or counted", () -> lines.get() + dropped == sent);
      assertTrue(dropped > 0, log.lines().toString());
      // queued at most the bound, plus the write in progress (64 KiB and what came before it filled) and the pipe
      assertTrue(bytes.get() < AccessLogVerticle.MAX_QUEUED + 512 * 1024, "written " + bytes.get());
      assertEquals(1, count(log, "access log writer stalled: a write to"), log.lines().toString());
    } finally {
      vertx.close().await(30, TimeUnit.SECONDS);
    }
  }
}
