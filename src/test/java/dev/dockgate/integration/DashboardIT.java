package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.Backends;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.TestBackend;
import io.vertx.core.json.JsonObject;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The live dashboard in a real headless Chromium (Debian's chromium + chromium-driver, driven by
 * Selenium with the system driver, so Selenium Manager never runs): tiles, route table and charts
 * against /stats and /admin/routes, and live updates over the event stream without a reload.
 */
class DashboardIT {

  static final String CHROMIUM = "/usr/bin/chromium";
  static final String CHROMEDRIVER = "/usr/bin/chromedriver";
  static final Duration DEADLINE = Duration.ofSeconds(10);

  @RegisterExtension
  static final Backends backends = new Backends();
  static TestBackend backend;

  @TempDir
  Path dir;
  GatewayHarness gateway;
  ChromeDriver driver;

  @BeforeAll
  static void start() {
    backend = backends.start("dash");
  }

  /** The browser first: its open event stream would otherwise hold the gateway's graceful drain. */
  @AfterEach
  void quit() {
    try {
      if (driver != null) {
        driver.quit();
      }
    } finally {
      if (gateway != null) {
        gateway.close();
      }
    }
  }

  @Test
  void tilesRoutesAndChartsFollowTheGatewayLive() throws IOException {
    gateway = new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /api, backend: api, methods: [GET]}
        backends:
          - name: api
            targets: ["http://127.0.0.1:%d"]
        """.formatted(backend.port()));
    traffic(7, 3);
    JsonObject stats = countedStats(7, 3);

    driver = chromium();
    driver.get("http://127.0.0.1:" + gateway.adminPort() + "/dashboard");
    assertEquals("dockgate dashboard", driver.getTitle());
    await("the tiles show /stats " + stats.encode() + " (loading the page counts nothing) and the status is live",
        d -> showsStats(stats) && text("status").equals("live"));
    await("the routes table lists /api -> api at 127.0.0.1:" + backend.port() + " with a closed circuit",
        d -> hasRouteRow("/api", "api", "127.0.0.1:" + backend.port(), "CLOSED"));
    assertTrue(Double.parseDouble(text("p50")) >= 0, "p50 tile is a number: " + text("p50"));

    js("window.dashboardItLoad = 'first';");
    traffic(5, 2);
    JsonObject later = countedStats(12, 5);
    await("the tiles follow /stats " + later.encode() + " without a reload", d -> showsStats(later));
    assertEquals("first", js("return window.dashboardItLoad;"), "the page was reloaded");
    assertEquals("live", text("status"));

    await("the request-rate chart draws a line (two points or more)", d -> {
      List<String> lines = polylinePoints("rate");
      return lines.size() == 1 && lines.get(0).trim().split("\\s+").length >= 2;
    });
    List<String> latencyLines = polylinePoints("latency");
    assertEquals(3, latencyLines.size(), "latency chart draws p50, p95 and p99");
    assertFalse(latencyLines.get(0).isBlank(), "latency lines have points");

    Path png = Path.of(System.getProperty("basedir", "."), "target", "dashboard", "dashboard.png");
    Files.createDirectories(png.getParent());
    Files.write(png, driver.getScreenshotAs(OutputType.BYTES));
    byte[] written = Files.readAllBytes(png);
    assertTrue(written.length > 8 && written[1] == 'P' && written[2] == 'N' && written[3] == 'G',
        "screenshot is a non-empty PNG: " + png);

    assertEquals(12, backend.count(), "every successful request reached the backend");
    TestBackend.Received first = backend.take();
    assertEquals("GET /api/item-0", first.method() + " " + first.uri());
  }

  /** {@code ok} GETs routed to the backend, {@code missing} to no route (the default 404). */
  void traffic(int ok, int missing) {
    for (int i = 0; i < ok; i++) {
      assertEquals(200, gateway.get("/api/item-" + i).statusCode());
    }
    for (int i = 0; i < missing; i++) {
      assertEquals(404, gateway.get("/nowhere-" + i).statusCode());
    }
  }

  /**
   * /stats once the stats verticle has counted exactly that much (traffic events arrive after the
   * answer). The browser's own requests (page, event stream, favicon) must not add to it.
   */
  JsonObject countedStats(long success, long error) {
    AtomicReference<JsonObject> last = new AtomicReference<>();
    try {
      Poll.until(DEADLINE, "/stats counts " + success + " successes and " + error + " errors", () -> {
        last.set(gateway.stats());
        JsonObject counts = last.get().getJsonObject("requests_count");
        return counts.getLong("success") == success && counts.getLong("error") == error;
      });
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + " (the dashboard's own requests must not count); last /stats: "
          + last.get(), e);
    }
    return last.get();
  }

  boolean showsStats(JsonObject stats) {
    JsonObject counts = stats.getJsonObject("requests_count");
    JsonObject latency = stats.getJsonObject("latency_ms");
    return text("success").equals(String.valueOf(counts.getLong("success")))
        && text("error").equals(String.valueOf(counts.getLong("error")))
        && sameNumber(text("average"), latency.getDouble("average"))
        && sameNumber(text("p95"), latency.getDouble("p95"))
        && sameNumber(text("p99"), latency.getDouble("p99"));
  }

  /** The page prints JSON numbers with JavaScript's formatting (3 rather than 3.0). */
  static boolean sameNumber(String shown, double expected) {
    try {
      return Double.parseDouble(shown) == expected;
    } catch (NumberFormatException e) {
      return false;
    }
  }

  @SuppressWarnings("unchecked")
  boolean hasRouteRow(String prefix, String backendName, String address, String circuit) {
    // One script reads the whole table: it is redrawn every second.
    List<List<String>> rows = (List<List<String>>) js("return Array.from(document.querySelectorAll('#routes tr'))"
        + ".map(r => Array.from(r.querySelectorAll('td')).map(c => c.textContent));");
    for (List<String> cells : rows) {
      if (cells.size() == 7 && cells.get(0).equals(prefix) && cells.get(1).equals(backendName)
          && cells.get(3).equals(address) && cells.get(5).equals(circuit)) {
        return true;
      }
    }
    return false;
  }

  /** Read in one script: the page redraws its charts every second, so element handles go stale. */
  @SuppressWarnings("unchecked")
  List<String> polylinePoints(String svgId) {
    return (List<String>) js("return Array.from(document.querySelectorAll('svg#" + svgId
        + " polyline')).map(p => p.getAttribute('points'));");
  }

  String text(String id) {
    return driver.findElement(By.id(id)).getText();
  }

  Object js(String script) {
    return ((JavascriptExecutor) driver).executeScript(script);
  }

  /** Polls the page until {@code condition} holds; on timeout, says what the page showed. */
  void await(String what, Predicate<WebDriver> condition) {
    new WebDriverWait(driver, DEADLINE, Duration.ofMillis(100))
        .withMessage(() -> what + "; page shows " + shown())
        .until(d -> condition.test(d));
  }

  Map<String, String> shown() {
    Map<String, String> shown = new LinkedHashMap<>();
    for (String id : List.of("status", "success", "error", "average", "p50", "p95", "p99", "routes")) {
      try {
        shown.put(id, text(id));
      } catch (RuntimeException e) {
        shown.put(id, "?" + e.getClass().getSimpleName());
      }
    }
    return shown;
  }

  /**
   * Headless Chromium from Debian, driven by Debian's chromedriver. With the driver path given,
   * Selenium skips Selenium Manager, so nothing is downloaded; the browser's own background traffic
   * (updates, sync, network prediction) is switched off and no proxy is used, so it only talks to 127.0.0.1.
   */
  ChromeDriver chromium() throws IOException {
    assertTrue(new File(CHROMIUM).canExecute(), CHROMIUM + " missing: scripts/test.sh installs Debian's chromium");
    assertTrue(new File(CHROMEDRIVER).canExecute(), CHROMEDRIVER + " missing: scripts/test.sh installs chromium-driver");
    System.setProperty(ChromeDriverService.CHROME_DRIVER_EXE_PROPERTY, CHROMEDRIVER);
    Path profile = Files.createDirectories(dir.resolve("chromium-profile"));
    ChromeOptions options = new ChromeOptions()
        .setBinary(CHROMIUM)
        .addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", "--no-proxy-server", "--window-size=1280,800", "--user-data-dir=" + profile);
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(new File(CHROMEDRIVER))
        .usingAnyFreePort()
        .build();
    return new ChromeDriver(service, options);
  }
}
