package dev.dockgate.observability;

import dev.dockgate.config.BackendConfig;
import dev.dockgate.config.GatewayConfig;
import dev.dockgate.discovery.BackendInstances;
import dev.dockgate.edge.OpenConnections;
import dev.dockgate.events.Addresses;
import dev.dockgate.events.TrafficEvent;
import dev.dockgate.resilience.BreakerRegistry;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.BaseUnits;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.circuitbreaker.CircuitBreakerState;
import dev.dockgate.proxy.InFlightRequests;
import io.vertx.micrometer.backends.BackendRegistries;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Owns the gateway's Prometheus registry: counts {@link Addresses#TRAFFIC} events and discovery
 * announcements, follows each backend's instances and reads breaker states at scrape time; answers
 * {@link Addresses#METRICS_SCRAPE} with the text exposition. Runs on its own event loop.
 */
public final class MetricsVerticle extends VerticleBase {

  /** Latency buckets from 1 ms to 10 s, roughly 1-2.5-5 per decade. */
  static final Duration[] LATENCY_BUCKETS = {
      Duration.ofMillis(1), Duration.ofMillis(2), Duration.ofMillis(5), Duration.ofMillis(10),
      Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250),
      Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofMillis(2_500), Duration.ofSeconds(5),
      Duration.ofSeconds(10)};

  /** Tag value for a route or backend the event does not have (no route matched, no instance). */
  static final String NONE = "none";

  private final java.util.Map<String, RouteMeters> byRoute = new java.util.HashMap<>();
  private RouteMeters last;
  private final BreakerRegistry breakers;
  private GatewayConfig config;
  /** vertx-micrometer-metrics' Prometheus registry when the launcher enabled it (Vert.x and JVM meters join ours), else our own. */
  private final PrometheusMeterRegistry registry = BackendRegistries.getDefaultNow() instanceof PrometheusMeterRegistry shared
      ? shared : new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final boolean ownRegistry = registry != BackendRegistries.getDefaultNow();
  private final MultiGauge backendInstances = MultiGauge.builder("gateway.backend.instances")
      .description("Instances of each configured backend: fixed targets plus discovered containers")
      .register(registry);
  private final MultiGauge circuitState = MultiGauge.builder("gateway.circuit.state")
      .description("Circuit breaker state per backend instance: 0 closed, 1 half-open, 2 open")
      .register(registry);
  private final MultiGauge inFlightGauge = MultiGauge.builder("gateway.requests.in.flight")
      .description("Requests being proxied now, per route and backend")
      .register(registry);
  private final InFlightRequests inFlight;
  /** The newest snapshot discovery published ({@link Addresses#INSTANCES}). */
  private BackendInstances instances = BackendInstances.EMPTY;
  private io.vertx.core.eventbus.MessageConsumer<JsonObject> traffic;

  /** The client connections of the main listener and of the admin listener, and their meters (removed at stop). */
  private final OpenConnections connections;
  private final OpenConnections adminConnections;
  private final List<io.micrometer.core.instrument.Meter> connectionMeters = new java.util.ArrayList<>();

  public MetricsVerticle(GatewayConfig config, BreakerRegistry breakers, InFlightRequests inFlight,
      OpenConnections connections, OpenConnections adminConnections) {
    this.config = config;
    this.breakers = breakers;
    this.inFlight = inFlight;
    this.connections = connections;
    this.adminConnections = adminConnections;
  }

  public MetricsVerticle(GatewayConfig config, BreakerRegistry breakers) {
    this(config, breakers, new InFlightRequests(), new OpenConnections(), new OpenConnections());
  }

  /** {@code gateway_connections_open} and {@code gateway_connections_refused_total} of a listener, read at scrape. */
  private void connectionMeters(String listener, OpenConnections open) {
    connectionMeters.add(io.micrometer.core.instrument.Gauge.builder("gateway.connections.open", open,
            OpenConnections::current)
        .description("Client connections open on the listener, as its max_connections counts them")
        .tag("listener", listener)
        .register(registry));
    connectionMeters.add(io.micrometer.core.instrument.FunctionCounter.builder("gateway.connections.refused", open,
            OpenConnections::refused)
        .description("Client connections closed at the listener's max_connections: the new one, or on the admin "
            + "listener one between requests closed for it")
        .tag("listener", listener)
        .register(registry));
  }

  @Override
  public Future<?> start() {
    // Both series exist from the start at 0 (a scrape then sees every change, and a gateway with fixed targets only
    // still shows them), as Prometheus advises for known label values.
    discoveryEvents("UP");
    discoveryEvents("DOWN");
    connectionMeters("main", connections);
    connectionMeters("admin", adminConnections);
    Future<Void> traffic = follow(!config.server().admin().metrics().isEmpty());
    Future<Void> announce = vertx.eventBus().<JsonObject>localConsumer(Addresses.DISCOVERY_ANNOUNCE,
        msg -> countAnnouncement(msg.body())).completion();
    Future<Void> snapshots = vertx.eventBus().<BackendInstances>localConsumer(Addresses.INSTANCES, msg -> {
      if (msg.body().version() >= instances.version()) {
        instances = msg.body();
        gauge();
      }
    }).completion();
    Future<Void> reload = vertx.eventBus().<GatewayConfig>localConsumer(Addresses.CONFIG_APPLY, msg -> {
      config = msg.body();
      follow(!config.server().admin().metrics().isEmpty());
      gauge();
    }).completion();
    Future<Void> scrape = vertx.eventBus().localConsumer(Addresses.METRICS_SCRAPE, msg -> msg.reply(scrape()))
        .completion();
    // Deployed before discovery: its first snapshot arrives on INSTANCES.
    return Future.all(traffic, announce, snapshots, reload, scrape).onSuccess(v -> gauge());
  }

  /**
   * Counts traffic while metrics are on (a non-empty metrics_path), live across reloads; while off,
   * no consumer takes the gateway's traffic events, so they cost nothing here.
   */
  private Future<Void> follow(boolean on) {
    if (on && traffic == null) {
      traffic = vertx.eventBus().<JsonObject>localConsumer(Addresses.TRAFFIC, msg -> record(msg.body()));
      return traffic.completion();
    }
    if (!on && traffic != null) {
      Future<Void> off = traffic.unregister();
      traffic = null;
      return off;
    }
    return Future.succeededFuture();
  }

  private void record(JsonObject json) {
    TrafficEvent event = TrafficEvent.of(json);
    if (event == null) {
      return;
    }
    String route = tag(event.route());
    String backend = tag(event.backend());
    // Meters are looked up once per route and backend, not built and registered per event; events
    // come in runs of the same route, so the last pair is tried first.
    RouteMeters meters = last;
    if (meters == null || !meters.route.equals(route) || !meters.backend.equals(backend)) {
      meters = byRoute.computeIfAbsent(route + '\n' + backend, k -> new RouteMeters(route, backend));
      last = meters;
    }
    meters.requests(event.status()).increment();
    if (event.grpcStatus() >= 0) {
      meters.grpcCalls(event.grpcStatus()).increment();
    }
    if (event.cut()) {
      meters.cutAnswers().increment();
    }
    if (event.retries() > 0) {
      meters.retries().increment(event.retries());
    }
    meters.duration.record((long) (event.latencyMs() * 1_000_000), TimeUnit.NANOSECONDS);
    meters.bytes.increment(event.bytes());
  }

  /** The meters of one route and backend pair; request counters by status class made on first use. */
  private final class RouteMeters {
    final String route;
    final String backend;
    final Timer duration;
    final Counter bytes;
    /** Request counters by status class: [0] for "other", [1] to [5] for 1xx to 5xx. */
    final Counter[] requests = new Counter[6];
    /** gRPC call counters by gRPC status, 0 (OK) to 16; [17] for a status beyond gRPC's. Made on first use. */
    final Counter[] grpcCalls = new Counter[GRPC_CODES.size() + 1];
    /** Answers their backend cut mid-body; made on first use. */
    Counter cutAnswers;
    /** Tries sent again after a failed one; made on first use. */
    Counter retries;

    RouteMeters(String route, String backend) {
      this.route = route;
      this.backend = backend;
      this.duration = Timer.builder("gateway.request.duration")
          .description("Time from a request's arrival to the end of its response")
          .tags("route", route, "backend", backend)
          .serviceLevelObjectives(LATENCY_BUCKETS)
          .register(registry);
      this.bytes = Counter.builder("gateway.response.bytes")
          .description("Response body bytes sent to clients")
          .baseUnit(BaseUnits.BYTES)
          .tags("route", route, "backend", backend)
          .register(registry);
    }

    Counter requests(int status) {
      int i = status >= 100 && status < 600 ? status / 100 : 0;
      Counter counter = requests[i];
      if (counter == null) {
        counter = requests[i] = Counter.builder("gateway.requests")
            .description("Finished requests by route, backend and status class")
            .tags("route", route, "backend", backend, "status_class", statusClass(status))
            .register(registry);
      }
      return counter;
    }

    /** The counter of gRPC calls that ended with {@code status} (their {@code grpc_status}). */
    Counter grpcCalls(int status) {
      int i = Math.min(status, GRPC_CODES.size());
      Counter counter = grpcCalls[i];
      if (counter == null) {
        counter = grpcCalls[i] = Counter.builder("gateway.grpc.calls")
            .description("Finished gRPC calls by route, backend and gRPC status (the backend's or the gateway's)")
            .tags("route", route, "backend", backend, "grpc_code", i < GRPC_CODES.size() ? GRPC_CODES.get(i) : "OTHER")
            .register(registry);
      }
      return counter;
    }

    /** The counter of answers their backend cut after a part of them was sent (the traffic event's {@code cut}). */
    Counter cutAnswers() {
      if (cutAnswers == null) {
        cutAnswers = Counter.builder("gateway.backend.cut.answers")
            .description("Answers their backend cut mid-body (closed or reset), the client's answer cut with them")
            .tags("route", route, "backend", backend)
            .register(registry);
      }
      return cutAnswers;
    }

    /** The counter of requests sent again to another instance after a failed try (the traffic event's {@code retries}). */
    Counter retries() {
      if (retries == null) {
        retries = Counter.builder("gateway.retries")
            .description("Requests sent again to another instance after a failed try (each retry counts once)")
            .tags("route", route, "backend", backend)
            .register(registry);
      }
      return retries;
    }
  }

  /** gRPC's status codes by number, as their names (the {@code grpc_code} label). */
  private static final java.util.List<String> GRPC_CODES = java.util.List.of("OK", "CANCELLED", "UNKNOWN",
      "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL",
      "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED");


  private void countAnnouncement(JsonObject announcement) {
    String status = announcement == null ? null : announcement.getString("status");
    discoveryEvents(tag(status)).increment();
  }

  private Counter discoveryEvents(String status) {
    return Counter.builder("gateway.discovery.events")
        .description("Service-discovery announcements by record status")
        .tag("status", status)
        .register(registry);
  }

  private void gauge() {
    List<BackendConfig> backends = config.backends();
    BackendInstances current = instances.forBackends(backends);
    backendInstances.register(backends.stream()
        .map(b -> MultiGauge.Row.of(Tags.of("backend", b.name()), current.of(b.name()).size()))
        .toList(), true);
  }

  private String scrape() {
    // Breakers come and go with instances: rebuild the rows (and read the states) just before each scrape.
    circuitState.register(breakers.states().entrySet().stream()
        .map(e -> MultiGauge.Row.of(Tags.of("backend_instance", e.getKey()), stateValue(e.getValue())))
        .toList(), true);
    inFlightGauge.register(inFlight.snapshot().entrySet().stream()
        .map(e -> MultiGauge.Row.of(Tags.of("route", e.getKey().route(), "backend", e.getKey().backend()), e.getValue()))
        .toList(), true);
    return registry.scrape();
  }

  static String tag(String value) {
    return value == null ? NONE : value;
  }

  /** "2xx", "4xx", ...; "other" for anything outside 100-599. */
  static String statusClass(int status) {
    return status >= 100 && status < 600 ? (status / 100) + "xx" : "other";
  }

  static int stateValue(CircuitBreakerState state) {
    return switch (state) {
      case CLOSED -> 0;
      case HALF_OPEN -> 1;
      case OPEN -> 2;
    };
  }

  @Override
  public Future<?> stop() {
    if (ownRegistry) {
      registry.close();
    } else {
      connectionMeters.forEach(registry::remove); // a shared registry outlives this gateway's listeners
    }
    return Future.succeededFuture();
  }
}
