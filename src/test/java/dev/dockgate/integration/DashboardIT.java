package dev.dockgate.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.testing.Backends;
import dev.dockgate.testing.GatewayHarness;
import dev.dockgate.testing.Poll;
import dev.dockgate.testing.TestBackend;
import io.vertx.core.json.JsonObject;
import java.io.File;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
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
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The live dashboard in a real headless Chromium (Debian's chromium + chromium-driver, driven by
 * Selenium with the system driver, so Selenium Manager never runs): all-time tiles against /stats,
 * the last seconds' tiles, status classes, route and instance tables and charts, live over the
 * event stream without a reload; a latency spike shown within 2 s and gone once the window passes.
 */
class DashboardIT {

  static final String CHROMIUM = "/usr/bin/chromium";
  static final String CHROMEDRIVER = "/usr/bin/chromedriver";
  static final Duration DEADLINE = Duration.ofSeconds(10);
  /** How soon a spike must show: the page gets an event a second. */
  static final Duration SPIKE_SHOWN = Duration.ofSeconds(2);
  /** Long enough for a fresh gateway's cold first requests to leave the 5 s window. */
  static final Duration WARM_UP = Duration.ofSeconds(20);

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

  void startGateway() {
    backend.clear();
    gateway = new GatewayHarness(dir, """
        docker: {enabled: false}
        routes:
          - {path_prefix: /api, backend: api, methods: [GET], timeout_ms: 3000}
          - {path_prefix: /down, backend: down}
        backends:
          - name: api
            targets: ["http://127.0.0.1:%d"]
          - name: down
            match_labels: [app_name=down]
        """.formatted(backend.port()));
  }

  /** Opens the dashboard on the admin listener and waits until its event stream is live. */
  void openDashboard() throws IOException {
    driver = chromium();
    driver.get("http://127.0.0.1:" + gateway.adminPort() + "/dashboard");
    assertEquals("dockgate dashboard", driver.getTitle());
    await("the event stream is live", d -> text("status").equals("live"));
    js("window.dashboardItLoad = 'first';");
  }

  @Test
  void tilesTablesAndChartsFollowTheGatewayLive() throws Exception {
    startGateway();
    openDashboard();
    await("the instances table lists api at 127.0.0.1:" + backend.port() + " with a closed circuit, down with none",
        d -> rows("instances").contains(List.of("api", "127.0.0.1:" + backend.port(), "127.0.0.1:" + backend.port(),
            "healthy", "CLOSED", "0")) && rows("instances").contains(List.of("down", "no instance")));

    traffic(7, 3, 2);
    JsonObject stats = countedStats(7, 5);
    await("the all-time tiles show /stats " + stats.encode() + " (the page's own requests count nothing)",
        d -> showsStats(stats));
    await("the status classes of the last 5 s: 7 2xx, 3 4xx (no route), 2 5xx (no instance)",
        d -> text("class-2xx").equals("7") && text("class-3xx").equals("0") && text("class-4xx").equals("3")
            && text("class-5xx").equals("2"));
    assertEquals("41.7", text("w-error-pct"), "5 errors in 12 requests");
    assertTrue(Double.parseDouble(text("w-rate")) > 0, "requests per second: " + text("w-rate"));
    assertTrue(Double.parseDouble(text("w-p99")) >= 0, "p99 of the last 5 s is a number: " + text("w-p99"));

    await("the routes table: /api without errors, /down and unrouted requests all errors", d -> {
      Map<String, List<String>> byRoute = routeRows();
      List<String> api = byRoute.get("/api");
      List<String> down = byRoute.get("/down");
      List<String> none = byRoute.get("(no route)");
      return api != null && api.get(1).equals("api") && isPositive(api.get(2)) && api.get(3).equals("0")
          && isNumber(api.get(4)) && isNumber(api.get(5)) && api.get(6).equals("0")
          && down != null && down.get(3).equals("100") && none != null && none.get(3).equals("100");
    });

    await("the request-rate chart draws requests and errors, the latency chart p50, p95 and p99, with axes", d ->
        linePoints("rate", "requests") >= 2 && linePoints("rate", "errors") >= 2
            && linePoints("latency", "p50") >= 1 && linePoints("latency", "p95") >= 1 && linePoints("latency", "p99") >= 1
            && svgTexts("rate").containsAll(List.of("req/s", "0", "now", "\u221260 s"))
            && svgTexts("latency").contains("ms"));
    assertTrue(text("rate-legend").contains("requests") && text("rate-legend").contains("errors"),
        "legend: " + text("rate-legend"));
    assertTrue(text("latency-legend").contains("p99"), "legend: " + text("latency-legend"));

    // Two requests the backend never answers (the route gives up after 3 s): in flight meanwhile.
    List<CompletableFuture<HttpResponse<String>>> parked = List.of(park("/api/never-1"), park("/api/never-2"));
    await("the /api row shows 2 requests in flight", d -> routeRows().get("/api").get(6).equals("2"));
    screenshot("dashboard.png");
    for (CompletableFuture<HttpResponse<String>> request : parked) {
      assertEquals(504, request.get(10, TimeUnit.SECONDS).statusCode());
    }
    assertEquals("first", js("return window.dashboardItLoad;"), "the page was reloaded");
    assertEquals("live", text("status"));

    assertEquals(9, backend.count(), "7 successful requests and the 2 parked ones reached the backend");
    TestBackend.Received first = backend.take();
    assertEquals("GET /api/item-0", first.method() + " " + first.uri());
  }

  @Test
  void aLatencySpikeShowsWithinTwoSecondsAndLeavesWithTheWindow() throws Exception {
    startGateway();
    openDashboard();
    // A fresh gateway's first requests are slow (class loading, JIT): a trickle of requests until the
    // last 5 s hold only warm ones.
    await("the last 5 s show requests well under a second", WARM_UP, d -> {
      traffic(3, 0, 0);
      return atMost(text("w-p99"), 500);
    });

    // A slow moment: the backend answers after a second; then fast again.
    backend.delay(1_000);
    List<CompletableFuture<HttpResponse<String>>> slow = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      slow.add(park("/api/spike-" + i));
    }
    try {
      for (CompletableFuture<HttpResponse<String>> request : slow) {
        assertEquals(200, request.get(10, TimeUnit.SECONDS).statusCode());
      }
    } finally {
      backend.delay(0);
    }
    long answered = System.nanoTime();
    traffic(20, 0, 0);
    await("the p99 of the last 5 s reaches 1000 ms within " + SPIKE_SHOWN.toMillis() + " ms of the slow answers"
        + " (tile, legend and the chart's last point)", SPIKE_SHOWN, d -> atLeast(text("w-p99"), 990)
            && atLeast(text("latency-p99"), 990)
            && ((Number) js("return series.p99[series.p99.length - 1] || 0;")).doubleValue() >= 990);
    long shownAfterMs = (System.nanoTime() - answered) / 1_000_000;
    assertTrue(shownAfterMs <= SPIKE_SHOWN.toMillis(), "shown after " + shownAfterMs + " ms");
    await("the median stays fast beside the spike once the 20 fast requests are in",
        d -> atMost(text("w-p50"), 500) && atLeast(text("w-p99"), 990));
    screenshot("latency-spike.png");

    await("the window forgets the spike once 5 s pass without requests",
        d -> text("w-p99").equals("\u2013") && text("w-rate").equals("0") && text("latency-p99").equals("\u2013"));
  }

  /** A GET sent without waiting for its answer. */
  CompletableFuture<HttpResponse<String>> park(String path) {
    return gateway.http().sendAsync(HttpRequest.newBuilder(gateway.uri(path)).timeout(DEADLINE).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  void screenshot(String name) throws IOException {
    Path png = Path.of(System.getProperty("basedir", "."), "target", "dashboard", name);
    Files.createDirectories(png.getParent());
    Files.write(png, driver.getScreenshotAs(OutputType.BYTES));
    byte[] written = Files.readAllBytes(png);
    assertTrue(written.length > 8 && written[1] == 'P' && written[2] == 'N' && written[3] == 'G',
        "screenshot is a non-empty PNG: " + png);
  }

  /** {@code ok} GETs routed to the backend, {@code missing} to no route (404), {@code down} to no instance (503). */
  void traffic(int ok, int missing, int down) {
    for (int i = 0; i < ok; i++) {
      assertEquals(200, gateway.get("/api/item-" + i).statusCode());
    }
    for (int i = 0; i < missing; i++) {
      assertEquals(404, gateway.get("/nowhere-" + i).statusCode());
    }
    for (int i = 0; i < down; i++) {
      assertEquals(503, gateway.get("/down/x-" + i).statusCode());
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

  static boolean isNumber(String shown) {
    try {
      Double.parseDouble(shown);
      return true;
    } catch (NumberFormatException e) {
      return false;
    }
  }

  static boolean isPositive(String shown) {
    return isNumber(shown) && Double.parseDouble(shown) > 0;
  }

  static boolean atLeast(String shown, double least) {
    return isNumber(shown) && Double.parseDouble(shown) >= least;
  }

  static boolean atMost(String shown, double most) {
    return isNumber(shown) && Double.parseDouble(shown) <= most;
  }

  /** The cells of each row of a table body, read in one script: the page redraws it every second. */
  @SuppressWarnings("unchecked")
  List<List<String>> rows(String tbodyId) {
    return (List<List<String>>) js("return Array.from(document.querySelectorAll('#" + tbodyId + " tr'))"
        + ".map(r => Array.from(r.querySelectorAll('td')).map(c => c.textContent));");
  }

  /** The routes table by its first cell: route, backend, req/s, error %, p50, p99, in flight. */
  Map<String, List<String>> routeRows() {
    Map<String, List<String>> byRoute = new LinkedHashMap<>();
    for (List<String> cells : rows("routes")) {
      byRoute.put(cells.get(0), cells);
    }
    return byRoute;
  }

  /** How many points the line of {@code series} in chart {@code svgId} has. */
  int linePoints(String svgId, String series) {
    Object d = js("const p = document.querySelector('svg#" + svgId + " path[data-series=\"" + series + "\"]');"
        + " return p ? p.getAttribute('d') : '';");
    String path = String.valueOf(d).trim();
    return path.isEmpty() ? 0 : path.split("\\s+").length;
  }

  /** The texts of a chart: axis labels and its unit. */
  @SuppressWarnings("unchecked")
  List<String> svgTexts(String svgId) {
    return (List<String>) js("return Array.from(document.querySelectorAll('svg#" + svgId + " text')).map(t => t.textContent);");
  }

  String text(String id) {
    return driver.findElement(By.id(id)).getText();
  }

  Object js(String script) {
    return ((JavascriptExecutor) driver).executeScript(script);
  }

  /** Polls the page until {@code condition} holds; on timeout, says what the page showed. */
  void await(String what, Predicate<WebDriver> condition) {
    await(what, DEADLINE, condition);
  }

  void await(String what, Duration deadline, Predicate<WebDriver> condition) {
    new WebDriverWait(driver, deadline, Duration.ofMillis(100))
        .withMessage(() -> what + "; page shows " + shown())
        .until(d -> condition.test(d));
  }

  Map<String, String> shown() {
    Map<String, String> shown = new LinkedHashMap<>();
    for (String id : List.of("status", "w-rate", "w-errors", "w-error-pct", "w-p50", "w-p95", "w-p99", "success", "error",
        "average", "p50", "p95", "p99", "class-list", "routes", "instances")) {
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
            "--no-first-run", "--no-proxy-server", "--window-size=1280,1000", "--user-data-dir=" + profile);
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(new File(CHROMEDRIVER))
        .usingAnyFreePort()
        .build();
    return new ChromeDriver(service, options);
  }
}
