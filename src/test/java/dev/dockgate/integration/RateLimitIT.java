package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.Backends;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.TestBackend;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Rate limits over real sockets: 429 with its headers, one budget per key across both router instances. */
class RateLimitIT {

  @RegisterExtension
  static final Backends backends = new Backends();
  static TestBackend backend;
  /** header: keys count only authenticated clients, so the route takes an API key. */
  static final String KEY = "rate-limit-test-key";
  static final String KEY_DIGEST = java.util.HexFormat.of().formatHex(dev.dockgate.auth.ApiKeyAuth.sha256(KEY));

  @TempDir
  Path dir;

  @BeforeAll
  static void start() {
    backend = backends.start("limited");
  }

  GatewayHarness gateway(String limit) {
    return new GatewayHarness(dir, config(limit, ""), 2);
  }

  /** A rate-limited /api and, when given, more routes (YAML list items). */
  static String config(String limit, String moreRoutes) {
    return """
        docker: {enabled: false}
        routes:
          - path_prefix: /api
            backend: api
            auth: {type: api_key, keys: [{name: ci, sha256: "%s"}]}
            rate_limit: %s
        %s
        backends:
          - {name: api, targets: ["http://127.0.0.1:%d"]}
        """.formatted(KEY_DIGEST, limit, moreRoutes, backend.port());
  }

  HttpRequest request(GatewayHarness gw, String client) {
    return HttpRequest.newBuilder(gw.uri("/api/x")).header("X-Client", client).header("X-API-Key", KEY).timeout(Duration.ofSeconds(10)).build();
  }

  @Test
  void overTheBurstGets429WithRetryAfterAndRateLimitHeaders() {
    try (GatewayHarness gw = gateway("{requests_per_second: 1, burst: 3, key: \"header:X-Client\"}")) {
      for (int i = 0; i < 3; i++) {
        HttpResponse<String> ok = gw.send(request(gw, "alice"));
        assertEquals(200, ok.statusCode());
        assertEquals("3", ok.headers().firstValue("ratelimit-limit").orElse(""));
        assertEquals(Integer.toString(2 - i), ok.headers().firstValue("ratelimit-remaining").orElse(""));
      }
      HttpResponse<String> refused = gw.send(request(gw, "alice"));
      assertEquals(429, refused.statusCode());
      assertEquals("1", refused.headers().firstValue("retry-after").orElse(""));
      assertEquals("0", refused.headers().firstValue("ratelimit-remaining").orElse(""));
      assertTrue(Integer.parseInt(refused.headers().firstValue("ratelimit-reset").orElse("0")) >= 1);
      assertEquals(200, gw.send(request(gw, "bob")).statusCode(), "another key has its own budget");
    }
  }

  @Test
  void atTwiceTheRateForFiveSecondsAcceptedIsRateTimesTimePlusBurst() throws Exception {
    double rate = 40;
    int burst = 10;
    try (GatewayHarness gw = gateway("{requests_per_second: " + rate + ", burst: " + burst + ", key: \"header:X-Client\"}")) {
      long start = System.nanoTime();
      long periodNanos = (long) (1_000_000_000L / (2 * rate));
      List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
      int sent = (int) (2 * rate * 5);
      for (int i = 0; i < sent; i++) {
        long due = start + i * periodNanos;
        long wait = due - System.nanoTime();
        if (wait > 0) {
          Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
        }
        // Many connections: requests of the one key land on both router instances.
        all.add(gw.http().sendAsync(request(gw, "carol"), HttpResponse.BodyHandlers.ofString()));
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      long accepted = all.stream().map(CompletableFuture::join).filter(r -> r.statusCode() == 200).count();
      long refused = all.stream().map(CompletableFuture::join).filter(r -> r.statusCode() == 429).count();
      assertEquals(sent, accepted + refused);
      double expected = rate * seconds + burst;
      System.out.printf("rate limit: %d accepted of %d in %.2f s, expected %.1f%n", accepted, sent, seconds, expected);
      assertTrue(Math.abs(accepted - expected) <= 0.05 * expected, accepted + " accepted, expected " + expected);
    }
  }

  @Test
  void headerValuesTooLongToBeAnIdShareOneBudget() {
    try (GatewayHarness gw = gateway("{requests_per_second: 0.01, burst: 1, key: \"header:X-Client\"}")) {
      String longId = "x".repeat(129);
      assertEquals(200, gw.send(request(gw, longId + "a")).statusCode());
      assertEquals(429, gw.send(request(gw, longId + "b")).statusCode(), "another over-long value, the same budget");
      assertEquals(200, gw.send(request(gw, "x".repeat(128))).statusCode(), "128 characters are still a key");
    }
  }

  @Test
  void aReloadKeepsTheBudgetsOfAnUnchangedLimitAndAChangedLimitStartsAfresh() {
    String slow = "{requests_per_second: 0.01, burst: 2, key: \"header:X-Client\"}";
    try (GatewayHarness gw = gateway(slow)) {
      assertEquals(200, gw.send(request(gw, "dave")).statusCode());
      assertEquals(200, gw.send(request(gw, "dave")).statusCode());
      assertEquals(429, gw.send(request(gw, "dave")).statusCode());
      gw.rewriteConfig(config(slow, "  - {path_prefix: /other, backend: api}"));
      Poll.until(Duration.ofSeconds(2), "new route live", () -> gw.get("/other/x").statusCode() == 200);
      assertEquals(429, gw.send(request(gw, "dave")).statusCode(), "the unchanged limit kept dave's budget");
      gw.rewriteConfig(config(slow.replace("burst: 2", "burst: 3"), ""));
      Poll.until(Duration.ofSeconds(2), "changed limit live",
          () -> "3".equals(gw.send(request(gw, "erin")).headers().firstValue("ratelimit-limit").orElse("")));
      assertEquals(200, gw.send(request(gw, "dave")).statusCode(), "a changed limit starts with full buckets");
    }
  }
}
