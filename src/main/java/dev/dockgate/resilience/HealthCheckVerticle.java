package dev.dockgate.resilience;

import dev.dockgate.HttpClients;
import dev.dockgate.config.BackendConfig;
import dev.dockgate.config.GatewayConfig;
import dev.dockgate.config.HealthCheckConfig;
import dev.dockgate.discovery.BackendInstances;
import dev.dockgate.discovery.Instance;
import dev.dockgate.events.Addresses;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.HostAndPort;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;

/**
 * Probes the instances of backends that have a {@code health_check} and owns their health. In a cluster each
 * instance is probed by one node ({@link ProbeOwners} over the live members that announced they check it, see
 * {@link ClaimExchange}), which publishes its findings on {@link Addresses#HEALTH_SHARED}; the others take them in.
 * Publishes each change of an instance's health on {@link Addresses#HEALTH}, and the removal of an unhealthy
 * instance that went away, and answers {@link Addresses#HEALTH_QUERY} with the keys of the unhealthy instances;
 * routers leave those out of rotation. Runs on its own event loop.
 */
public final class HealthCheckVerticle extends VerticleBase {

  /** How often a node republishes the health of every instance it probes, for peers that missed a change. */
  public static final long SHARE_PERIOD_MS = 5_000;
  private static final Logger LOG = Logger.getLogger(HealthCheckVerticle.class.getName());
  private static final DeliveryOptions SYNC = new DeliveryOptions().setSendTimeout(2_000);

  private GatewayConfig config;
  /** The probes' clients, one per way of speaking to instances (HTTP/1.1 or HTTP/2, and each backend TLS). */
  private Map<ProbeClient, HttpClient> clients = Map.of();
  /** The newest snapshot discovery published ({@link Addresses#INSTANCES}), for this checker's backends. */
  private BackendInstances instances = BackendInstances.EMPTY;
  /** The actively checked instances known here, by key. */
  private Map<String, Checked> live = Map.of();
  private SharedHealth health = new SharedHealth(ProbeOwners.alone("standalone"));
  /** What the peers check; null without a cluster. */
  private ClaimExchange claims;
  private final List<Long> timers = new ArrayList<>();

  /** How a backend's instances are probed: in HTTP/2 (or HTTP/1.1), with its TLS settings toward HTTPS ones. */
  private record ProbeClient(boolean http2, BackendConfig.UpstreamTls tls) {
    static ProbeClient of(BackendConfig backend) {
      return new ProbeClient(backend.http2() || backend.healthCheck().grpc(), backend.tls());
    }
  }

  /** An instance under active checks. */
  private record Checked(String backend, Instance instance) {
  }

  public HealthCheckVerticle(GatewayConfig config) {
    this.config = config;
  }

  /** The key routers and the checker share for an instance of a backend. */
  public static String key(String backend, Instance instance) {
    return key(backend, instance.id());
  }

  public static String key(String backend, String instanceId) {
    return backend + "/" + instanceId;
  }

  @Override
  public Future<?> start() {
    claims = vertx.isClustered() ? new ClaimExchange(vertx, this::claimsChanged) : null;
    var bus = vertx.eventBus();
    Future<Void> announce = bus.<BackendInstances>localConsumer(Addresses.INSTANCES, msg -> follow(msg.body())).completion();
    Future<Void> query = bus.localConsumer(Addresses.HEALTH_QUERY, msg -> msg.reply(new JsonArray(List.copyOf(health.unhealthy()))))
        .completion();
    Future<Void> owners = bus.localConsumer(Addresses.HEALTH_OWNERS, msg -> msg.reply(owners())).completion();
    Future<Void> members = bus.<JsonObject>localConsumer(Addresses.CLUSTER_MEMBERS, msg -> members(msg.body())).completion();
    Future<Void> shared = bus.<JsonObject>consumer(Addresses.HEALTH_SHARED, msg -> reported(msg.body())).completion();
    Future<Void> reload = bus.<GatewayConfig>localConsumer(Addresses.CONFIG_APPLY, msg -> {
      config = msg.body();
      schedule();
      follow(instances);
    }).completion();
    return Future.all(List.of(announce, query, owners, members, shared, reload))
        .compose(v -> bus.<JsonObject>request(Addresses.CLUSTER_MEMBERS_QUERY, null, Addresses.LOCAL)
            .onSuccess(reply -> members(reply.body()))
            .recover(err -> Future.succeededFuture())) // no cluster verticle: this node alone
        .compose(v -> bus.<BackendInstances>request(Addresses.INSTANCES_QUERY, null, Addresses.LOCAL))
        .onSuccess(reply -> follow(reply.body()))
        // Asked before this node answers such questions itself, so that the answer is a peer's.
        .compose(v -> sync())
        .compose(v -> bus.<JsonObject>consumer(Addresses.HEALTH_SYNC, msg -> msg.reply(new JsonObject().put("node", self())
            .put("unhealthy", new JsonArray(List.copyOf(health.unhealthy()))))).completion())
        .compose(v -> claims == null ? Future.succeededFuture() : claims.join(self(), health.owners().members()))
        .onSuccess(v -> schedule())
        // Peers hand instances over on hearing this node's claim, so it is told once the probing has started.
        .onSuccess(v -> {
          if (claims != null) {
            claims.announce();
          }
        });
  }

  private String self() {
    return health.owners().self();
  }

  /** A node joining a cluster first learns which instances its peers found unhealthy (one peer answers). */
  private Future<Void> sync() {
    if (health.owners().members().size() < 2) {
      return Future.succeededFuture();
    }
    return vertx.eventBus().<JsonObject>request(Addresses.HEALTH_SYNC, null, SYNC)
        .onSuccess(reply -> {
          JsonObject states = new JsonObject();
          reply.body().getJsonArray("unhealthy").forEach(key -> states.put((String) key, false));
          reported(new JsonObject().put("node", reply.body().getString("node")).put("states", states));
        })
        .onFailure(err -> LOG.info("health checks: no peer told its view (" + err.getMessage() + "); starting from healthy"))
        .<Void>mapEmpty()
        .recover(err -> Future.succeededFuture());
  }

  /** The cluster's members changed: each instance's prober is recomputed; the others' findings stand. */
  private void members(JsonObject view) {
    List<String> ids = new ArrayList<>();
    view.getJsonArray("members").forEach(id -> ids.add((String) id));
    ProbeOwners previous = health.owners();
    ProbeOwners next = owners(view.getString("node"), ids);
    if (next.members().equals(previous.members()) && next.self().equals(self())) {
      return;
    }
    if (claims != null) {
      previous.members().stream().filter(id -> !ids.contains(id)).forEach(claims::left);
    }
    health.members(next);
    LOG.info("health checks: " + next.members().size() + " member(s); this node probes " + probedHere() + " of "
        + live.size() + " checked instance(s)");
  }

  /** A peer's claim changed, came or went: each instance's prober is recomputed among the nodes that know it. */
  private void claimsChanged() {
    long before = probedHere();
    health.members(owners(self(), health.owners().members()));
    long after = probedHere();
    if (after != before) {
      // Debug: with containers coming and going on other hosts this changes often.
      LOG.fine("health checks: peers' claims changed; this node probes " + after + " of " + live.size()
          + " checked instance(s)");
    }
  }

  private ProbeOwners owners(String node, List<String> members) {
    return claims == null ? new ProbeOwners(node, members) : new ProbeOwners(node, members, claims.keys());
  }

  private long probedHere() {
    return live.keySet().stream().filter(health::mine).count();
  }

  /** A peer's findings: each instance whose health changed here is announced to the routers. */
  private void reported(JsonObject findings) {
    if (self().equals(findings.getString("node"))) {
      return;
    }
    findings.getJsonObject("states").forEach(entry -> {
      Checked checked = live.get(entry.getKey());
      if (checked != null && health.reported(entry.getKey(), (Boolean) entry.getValue())) {
        LOG.log(level(health.healthy(entry.getKey())), "instance " + checked.instance() + " of backend "
            + checked.backend() + " is now " + rotation(health.healthy(entry.getKey())) + " (found by node "
            + findings.getString("node") + ")");
        announce(entry.getKey(), checked);
      }
    });
  }

  private void share(Map<String, Boolean> findings) {
    if (!findings.isEmpty() && health.owners().members().size() > 1) {
      vertx.eventBus().publish(Addresses.HEALTH_SHARED, new JsonObject().put("node", self())
          .put("states", new JsonObject(new HashMap<>(findings))));
    }
  }

  private JsonObject owners() {
    JsonObject checkedBy = new JsonObject();
    live.keySet().forEach(key -> checkedBy.put(key, health.owners().owner(key)));
    return new JsonObject().put("node", self()).put("members", new JsonArray(health.owners().members()))
        .put("checked_by", checkedBy)
        .put("claims", claims == null ? new JsonObject().put(self(), live.size()) : claims.counts());
  }

  private void schedule() {
    timers.forEach(vertx::cancelTimer);
    timers.clear();
    Map<ProbeClient, HttpClient> next = new HashMap<>();
    for (BackendConfig backend : config.backends()) {
      HealthCheckConfig check = backend.healthCheck();
      if (check != null) {
        ProbeClient kind = ProbeClient.of(backend);
        HttpClient client = next.computeIfAbsent(kind, k -> clients.containsKey(k) ? clients.get(k) : probeClient(k));
        String serverName = backend.tls().serverName();
        timers.add(vertx.setPeriodic(1, check.intervalMs(),
            id -> probeAll(kind, client, backend.name(), check, serverName)));
      }
    }
    clients.forEach((kind, client) -> {
      if (next.get(kind) != client) {
        client.close(); // its backends' checks changed or went
      }
    });
    clients = next;
    timers.add(vertx.setPeriodic(SHARE_PERIOD_MS, id -> share(health.ownFindings())));
  }

  /** Checks the instances of {@code snapshot} (unless an older one than held) and forgets the health of the others. */
  private void follow(BackendInstances snapshot) {
    if (snapshot.version() < instances.version()) {
      return;
    }
    instances = snapshot.forBackends(config.backends());
    Map<String, Checked> previous = live;
    Map<String, Checked> next = new HashMap<>();
    for (BackendConfig backend : config.backends()) {
      if (backend.healthCheck() != null) {
        instances.of(backend.name()).forEach(i -> next.put(key(backend.name(), i), new Checked(backend.name(), i)));
      }
    }
    live = next;
    forgetGone(previous);
    if (claims != null) {
      claims.own(live.keySet());
    }
  }

  /**
   * Drops the health of instances no longer checked (gone, or their backend's check removed). Routers
   * keep the keys of unhealthy instances until told otherwise, so each unhealthy one that goes is
   * announced as removed; a container that comes back under the same id is then routed again.
   */
  private void forgetGone(Map<String, Checked> previous) {
    // Only instances known here are ever unhealthy here, so each one gone was in the previous map.
    for (String key : health.retain(live.keySet())) {
      Checked gone = previous.get(key);
      LOG.info("instance " + gone.instance() + " of backend " + gone.backend() + " gone while unhealthy");
      vertx.eventBus().publish(Addresses.HEALTH, new JsonObject().put("backend", gone.backend())
          .put("instance", gone.instance().name()).put("key", key).put("removed", true), Addresses.LOCAL);
    }
  }

  private void probeAll(ProbeClient kind, HttpClient client, String backend, HealthCheckConfig check, String serverName) {
    for (Instance instance : instances.of(backend)) {
      if (health.mine(key(backend, instance))) {
        probe(client, kind.http2(), instance, check, serverName).onComplete(ar -> {
          if (clients.get(kind) == client) { // else a reload retired the client (closing it failed the probe), or a stop
            record(backend, instance, check, ar.succeeded() && ar.result());
          }
        });
      }
    }
  }

  /** A client that speaks to instances as {@code kind} says; its connections are not kept between probes. */
  private HttpClient probeClient(ProbeClient kind) {
    HttpClientOptions options = HttpClients.towardInstances(new HttpClientOptions().setKeepAlive(false), kind.tls(),
        kind.http2());
    return HttpClients.create(vertx, options, LOG);
  }

  /**
   * One probe: GET the check's path (200-399 passes), or ask gRPC's health service (SERVING passes); HTTPS
   * instances in TLS, checked as the backend's {@code tls} says ({@code serverName}: the name their certificates
   * carry, else their host).
   */
  private Future<Boolean> probe(HttpClient client, boolean http2, Instance instance, HealthCheckConfig check,
      String serverName) {
    RequestOptions options = new RequestOptions()
        .setMethod(check.grpc() ? HttpMethod.POST : HttpMethod.GET)
        .setServer(instance.socketAddress())
        .setHost(instance.tls() && serverName != null ? serverName : instance.originHost())
        .setPort(instance.port())
        .setSsl(instance.tls())
        .setURI(check.grpc() ? GrpcHealth.PATH : check.path())
        .setConnectTimeout(check.timeoutMs())
        .setIdleTimeout(check.timeoutMs());
    // Host: the backend's server_name when it has one (as its certificates and virtual hosts know it), else the
    // name a dns_targets address was found under, else the instance's address, an IPv6 literal in brackets (Vert.x
    // would write host:port as it is).
    HostAndPort authority = HostAndPort.create(serverName != null ? serverName : Instance.uriHost(instance.originHost()),
        instance.port());
    return client.request(options).compose(req -> {
      req.authority(authority);
      Future<Boolean> verdict = check.grpc()
          ? req.putHeader("content-type", "application/grpc").putHeader("te", "trailers")
              .send(GrpcHealth.request(check.grpcService()))
              .compose(resp -> resp.body().map(body -> GrpcHealth.serving(resp.statusCode(), resp.headers(),
                  resp.trailers(), body)))
          : req.send().compose(resp -> resp.body().map(body -> resp.statusCode() >= 200 && resp.statusCode() < 400));
      if (http2) {
        // Each probe on a new connection, as in HTTP/1.1 (where keep-alive is off): an HTTP/2 one would be kept, and a
        // connection gone bad would fail the probes that a new connection would pass.
        verdict.onComplete(ar -> req.connection().close());
      }
      return verdict;
    });
  }

  private void record(String backend, Instance instance, HealthCheckConfig check, boolean passed) {
    String key = key(backend, instance);
    Checked checked = live.get(key);
    if (checked == null || !checked.instance().equals(instance) || !health.mine(key)) {
      return; // gone, or its probing moved to another node, while the probe ran
    }
    if (health.probed(key, passed, check.healthyThreshold(), check.unhealthyThreshold())) {
      LOG.log(level(health.healthy(key)), "instance " + instance + " of backend " + backend + " is now "
          + rotation(health.healthy(key)) + " (" + check.target() + ")");
      announce(key, checked);
      share(Map.of(key, health.healthy(key)));
    }
  }

  private static String rotation(boolean healthy) {
    return healthy ? "healthy: back in rotation" : "unhealthy: out of rotation";
  }

  /** An instance leaving rotation is a warning; one coming back is news, not trouble. */
  private static java.util.logging.Level level(boolean healthy) {
    return healthy ? java.util.logging.Level.INFO : java.util.logging.Level.WARNING;
  }

  /** Tells this node's routers. */
  private void announce(String key, Checked checked) {
    vertx.eventBus().publish(Addresses.HEALTH, new JsonObject().put("backend", checked.backend())
        .put("instance", checked.instance().name()).put("key", key).put("healthy", health.healthy(key)), Addresses.LOCAL);
  }

  @Override
  public Future<?> stop() {
    timers.forEach(vertx::cancelTimer); // no probe starts on a closed client
    timers.clear();
    Map<ProbeClient, HttpClient> closing = clients;
    clients = Map.of(); // the outcomes of probes under way are not recorded
    return Future.join(closing.values().stream().map(HttpClient::close).toList());
  }
}
