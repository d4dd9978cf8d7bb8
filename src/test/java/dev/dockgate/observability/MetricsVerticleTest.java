package dev.dockgate.observability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.dockgate.config.BackendConfig;
import dev.dockgate.config.CircuitBreakerConfig;
import dev.dockgate.config.DefaultResponse;
import dev.dockgate.config.DockerConfig;
import dev.dockgate.config.GatewayConfig;
import dev.dockgate.config.LabelSelector;
import dev.dockgate.config.LoadBalancer;
import dev.dockgate.config.RouteConfig;
import dev.dockgate.config.ServerConfig;
import dev.dockgate.config.Target;
import dev.dockgate.discovery.ContainerRecords;
import dev.dockgate.discovery.DiscoveryVerticle;
import dev.dockgate.events.Addresses;
import dev.dockgate.events.LocalCodec;
import dev.dockgate.events.SharedJsonCodec;
import dev.dockgate.events.TrafficEvent;
import dev.dockgate.resilience.BreakerRegistry;
import dev.dockgate.testing.Poll;
import io.vertx.circuitbreaker.CircuitBreaker;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import io.vertx.servicediscovery.Record;
import io.vertx.servicediscovery.ServiceDiscovery;
import io.vertx.servicediscovery.types.HttpEndpoint;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(VertxExtension.class)
class MetricsVerticleTest {

  private static final String BREAKER_KEY = "orders/orders-1/3f2a1c";
  private static final Duration DEADLINE = Duration.ofSeconds(5);

  private Vertx vertx;
  private BreakerRegistry breakers;
  private CircuitBreaker breaker;

  @BeforeEach
  void deploy(Vertx vertx, VertxTestContext ctx) {
    this.vertx = vertx;
    SharedJsonCodec.register(vertx.eventBus());
    vertx.eventBus().registerDefaultCodec(GatewayConfig.class, new LocalCodec<>(GatewayConfig.class));
    breakers = new BreakerRegistry(vertx);
    breaker = breakers.acquire(BREAKER_KEY, new CircuitBreakerConfig(5, 60_000)).circuit();
    GatewayConfig config = config(
        backend("orders", Map.of("app_name", "orders"), new Target("127.0.0.1", 9001), new Target("127.0.0.1", 9002)),
        backend("payment", Map.of("app_name", "payment")));
    // Metrics follow the snapshots discovery publishes (here without Docker: records are published by the test).
    vertx.deployVerticle(new MetricsVerticle(config, breakers))
        .compose(id -> vertx.deployVerticle(new DiscoveryVerticle(config)))
        .onComplete(ctx.succeedingThenComplete());
  }

  @Test
  void countsRequestsByRouteBackendAndStatusClassWithLatencyBuckets() {
    publish("/api/orders", "orders", 200, 512, 3.0);
    publish("/api/orders", "orders", 201, 488, 40.0);
    publish("/api/orders", "orders", 503, 120, 1_500.0);
    publish(null, null, 404, 9, 0.5);

    String text = scrapeUntil("gateway_requests_total{backend=\"none\",route=\"none\",status_class=\"4xx\"} 1.0");

    assertLines(text,
        "# TYPE gateway_requests_total counter",
        "gateway_requests_total{backend=\"orders\",route=\"/api/orders\",status_class=\"2xx\"} 2.0",
        "gateway_requests_total{backend=\"orders\",route=\"/api/orders\",status_class=\"5xx\"} 1.0",
        "gateway_requests_total{backend=\"none\",route=\"none\",status_class=\"4xx\"} 1.0",
        "# TYPE gateway_response_bytes_total counter",
        "gateway_response_bytes_total{backend=\"orders\",route=\"/api/orders\"} 1120.0",
        "gateway_response_bytes_total{backend=\"none\",route=\"none\"} 9.0",
        "# TYPE gateway_request_duration_seconds histogram",
        "gateway_request_duration_seconds_bucket{backend=\"orders\",route=\"/api/orders\",le=\"0.001\"} 0",
        "gateway_request_duration_seconds_bucket{backend=\"orders\",route=\"/api/orders\",le=\"0.005\"} 1",
        "gateway_request_duration_seconds_bucket{backend=\"orders\",route=\"/api/orders\",le=\"0.05\"} 2",
        "gateway_request_duration_seconds_bucket{backend=\"orders\",route=\"/api/orders\",le=\"1.0\"} 2",
        "gateway_request_duration_seconds_bucket{backend=\"orders\",route=\"/api/orders\",le=\"2.5\"} 3",
        "gateway_request_duration_seconds_bucket{backend=\"orders\",route=\"/api/orders\",le=\"10.0\"} 3",
        "gateway_request_duration_seconds_bucket{backend=\"orders\",route=\"/api/orders\",le=\"+Inf\"} 3",
        "gateway_request_duration_seconds_count{backend=\"orders\",route=\"/api/orders\"} 3",
        "gateway_request_duration_seconds_sum{backend=\"orders\",route=\"/api/orders\"} 1.543",
        "gateway_request_duration_seconds_bucket{backend=\"none\",route=\"none\",le=\"0.001\"} 1",
        "gateway_request_duration_seconds_count{backend=\"none\",route=\"none\"} 1");
    assertEquals(14, count(text, "gateway_request_duration_seconds_bucket{backend=\"orders\""),
        "13 latency buckets (1 ms .. 10 s) plus +Inf:\n" + text);
    assertFalse(text.contains("status_class=\"none\""), text);
  }

  @Test
  void circuitStateIsReadAtScrapeTimeAndFollowsTheBreakers() {
    assertLines(scrape(), "# TYPE gateway_circuit_state gauge",
        "gateway_circuit_state{backend_instance=\"" + BREAKER_KEY + "\"} 0.0");

    breaker.open();
    assertLines(scrape(), "gateway_circuit_state{backend_instance=\"" + BREAKER_KEY + "\"} 2.0");

    CircuitBreaker probing = breakers.acquire("payment/pay-1/a1b2c3", new CircuitBreakerConfig(1, 50)).circuit();
    probing.open(); // half-open once the 50 ms reset timeout has passed
    scrapeUntil("gateway_circuit_state{backend_instance=\"payment/pay-1/a1b2c3\"} 1.0");

    breakers.release(BREAKER_KEY);
    String text = scrape();
    assertFalse(text.contains(BREAKER_KEY), "a released breaker's gauge is removed:\n" + text);
  }

  @Test
  void backendInstancesFollowDiscoveryAndAnnouncementsAreCounted() {
    assertLines(scrapeUntil("gateway_backend_instances{backend=\"payment\"} 0.0"),
        "# TYPE gateway_backend_instances gauge",
        "gateway_backend_instances{backend=\"orders\"} 2.0",
        "gateway_discovery_events_total{status=\"UP\"} 0.0",
        "gateway_discovery_events_total{status=\"DOWN\"} 0.0");

    ServiceDiscovery discovery = ServiceDiscovery.create(vertx, DiscoveryVerticle.discoveryOptions());
    try {
      Record published = join(discovery.publish(container("pay-1", "payment", 9101)));
      assertLines(scrapeUntil("gateway_backend_instances{backend=\"payment\"} 1.0"),
          "gateway_backend_instances{backend=\"orders\"} 2.0",
          "# TYPE gateway_discovery_events_total counter",
          "gateway_discovery_events_total{status=\"UP\"} 1.0");

      join(discovery.unpublish(published.getRegistration()));
      assertLines(scrapeUntil("gateway_backend_instances{backend=\"payment\"} 0.0"),
          "gateway_discovery_events_total{status=\"UP\"} 1.0",
          "gateway_discovery_events_total{status=\"DOWN\"} 1.0");
    } finally {
      discovery.close();
    }
  }

  @Test
  void aReloadedConfigReplacesTheBackends() {
    scrapeUntil("gateway_backend_instances{backend=\"orders\"} 2.0");

    vertx.eventBus().publish(Addresses.CONFIG_APPLY,
        config(backend("inventory", Map.of(), new Target("127.0.0.1", 9201))));

    String text = scrapeUntil("gateway_backend_instances{backend=\"inventory\"} 1.0");
    assertFalse(text.contains("backend=\"orders\""), "removed backends leave the gauge:\n" + text);
    assertFalse(text.contains("backend=\"payment\""), text);
  }

  @Test
  void answersCutByTheirBackendAreCountedOnFirstUse() {
    publish("/api/cut", "orders", 200, 5, 1.0);
    String before = scrapeUntil("gateway_requests_total{backend=\"orders\",route=\"/api/cut\",status_class=\"2xx\"} 1.0");
    assertFalse(before.contains("gateway_backend_cut_answers_total{backend=\"orders\",route=\"/api/cut\""),
        "none before the first cut:\n" + before);
    for (int i = 0; i < 2; i++) {
      vertx.eventBus().publish(Addresses.TRAFFIC, new TrafficEvent(System.currentTimeMillis(), "req", "127.0.0.1", null,
          "GET", "/x", null, "HTTP/1.1", "/api/cut", "orders", "orders-1", 200, 7, 1.0, -1, true).toJson(),
          Addresses.TRAFFIC_DELIVERY);
    }
    String text = scrapeUntil("gateway_backend_cut_answers_total{backend=\"orders\",route=\"/api/cut\"} 2.0");
    assertLines(text, "# TYPE gateway_backend_cut_answers_total counter",
        "gateway_requests_total{backend=\"orders\",route=\"/api/cut\",status_class=\"2xx\"} 3.0");
  }

  @Test
  void statusClassesAndTagFallbacks() {
    assertEquals("1xx", MetricsVerticle.statusClass(101));
    assertEquals("2xx", MetricsVerticle.statusClass(204));
    assertEquals("3xx", MetricsVerticle.statusClass(399));
    assertEquals("4xx", MetricsVerticle.statusClass(404));
    assertEquals("5xx", MetricsVerticle.statusClass(599));
    assertEquals("other", MetricsVerticle.statusClass(0));
    assertEquals("other", MetricsVerticle.statusClass(600));
    assertEquals("none", MetricsVerticle.tag(null));
    assertEquals("orders", MetricsVerticle.tag("orders"));
  }

  // --- fixtures -----------------------------------------------------------------------------

  private static GatewayConfig config(BackendConfig... backends) {
    return new GatewayConfig("test.yml", new ServerConfig("127.0.0.1", 0, 1, ServerConfig.DEFAULT_STATS_PATH),
        new DockerConfig(false, DockerConfig.DEFAULT_HOST, null),
        List.of(new RouteConfig("/api/orders", backends[0].name(), RouteConfig.DEFAULT_TIMEOUT_MS)),
        DefaultResponse.NOT_FOUND, List.of(backends));
  }

  private static BackendConfig backend(String name, Map<String, String> labels, Target... targets) {
    return new BackendConfig(name, new LabelSelector(labels), List.of(targets), LoadBalancer.RANDOM,
        CircuitBreakerConfig.DEFAULTS, BackendConfig.DEFAULT_CONNECT_TIMEOUT_MS,
        BackendConfig.DEFAULT_MAX_CONNECTIONS, null);
  }

  /** A record as the Docker importer publishes it, of a container Docker reports healthy (so in rotation at once). */
  private static Record container(String name, String app, int port) {
    JsonObject metadata = new JsonObject().put("app_name", app)
        .put(ContainerRecords.HEALTH_KEY, dev.dockgate.discovery.ContainerInfo.HEALTHY)
        .put(ContainerRecords.ID_KEY, "id-" + name)
        .put(ContainerRecords.NAME_KEY, name)
        .put(ContainerRecords.SOURCE_KEY, ContainerRecords.SOURCE_DOCKER);
    return HttpEndpoint.createRecord(name, "127.0.0.1", port, "/", metadata);
  }

  private void publish(String route, String backend, int status, long bytes, double latencyMs) {
    TrafficEvent event = new TrafficEvent(System.currentTimeMillis(), "req", "127.0.0.1", null, "GET", "/x", null, "HTTP/1.1",
        route, backend, backend == null ? null : backend + "-1", status, bytes, latencyMs);
    vertx.eventBus().publish(Addresses.TRAFFIC, event.toJson(), Addresses.TRAFFIC_DELIVERY);
  }

  // --- scraping and the exposition format ---------------------------------------------------

  private static <T> T join(Future<T> future) {
    try {
      return future.toCompletionStage().toCompletableFuture().get(DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** One scrape, checked line by line against the Prometheus text format. */
  private String scrape() {
    String text = join(vertx.eventBus().<String>request(Addresses.METRICS_SCRAPE, "").map(Message::body));
    assertExpositionFormat(text);
    return text;
  }

  /** Scrapes until {@code line} appears (events are consumed asynchronously); returns that scrape. */
  private String scrapeUntil(String line) {
    AtomicReference<String> last = new AtomicReference<>("");
    try {
      Poll.until(DEADLINE, line, () -> {
        last.set(scrape());
        return last.get().lines().anyMatch(line::equals);
      });
    } catch (AssertionError e) {
      fail(e.getMessage() + "\nlast scrape:\n" + last.get());
    }
    return last.get();
  }

  private static void assertLines(String text, String... expected) {
    Set<String> lines = new HashSet<>(text.lines().toList());
    for (String line : expected) {
      assertTrue(lines.contains(line), "missing line: " + line + "\nin:\n" + text);
    }
  }

  private static long count(String text, String prefix) {
    return text.lines().filter(l -> l.startsWith(prefix)).count();
  }

  private static final String NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
  private static final String LABEL = "[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\\\n]|\\\\[\\\\\"n])*\"";
  private static final String VALUE = "(?:[+-]?Inf|NaN|[+-]?[0-9]+(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)";
  private static final Pattern SAMPLE = Pattern.compile(
      "(" + NAME + ")(?:\\{(?:" + LABEL + "(?:," + LABEL + ")*,?)?\\})? " + VALUE + "(?: -?[0-9]+)?");
  private static final Pattern HELP = Pattern.compile("# HELP (" + NAME + ") .*");
  private static final Pattern TYPE =
      Pattern.compile("# TYPE (" + NAME + ") (counter|gauge|histogram|summary|untyped)");

  /**
   * Prometheus text format 0.0.4: every line is a HELP, a TYPE or a sample; each family's TYPE comes
   * once and before its samples; a sample's name is its family's name or, for histograms and
   * summaries, that name plus _bucket, _count or _sum.
   */
  static void assertExpositionFormat(String text) {
    assertTrue(text.endsWith("\n"), "the exposition ends with a newline");
    Map<String, String> types = new HashMap<>();
    for (String line : text.split("\n")) {
      Matcher m;
      if ((m = TYPE.matcher(line)).matches()) {
        assertEquals(null, types.put(m.group(1), m.group(2)), "second TYPE line: " + line);
      } else if (HELP.matcher(line).matches()) {
        continue;
      } else if ((m = SAMPLE.matcher(line)).matches()) {
        String name = m.group(1);
        String family = name.replaceFirst("_(bucket|count|sum)$", "");
        boolean typed = types.containsKey(name)
            || (types.containsKey(family) && Set.of("histogram", "summary").contains(types.get(family)));
        assertTrue(typed, "sample before or without its TYPE line: " + line);
        if (name.endsWith("_bucket")) {
          assertTrue(line.contains("le=\""), "bucket without le: " + line);
        }
      } else {
        fail("not Prometheus text format: [" + line + "]");
      }
    }
  }
}
