package dev.dockgate.resilience;

import dev.dockgate.config.BackendConfig;
import dev.dockgate.config.GatewayConfig;
import dev.dockgate.config.HealthCheckConfig;
import dev.dockgate.discovery.BackendInstances;
import dev.dockgate.discovery.Instance;
import dev.dockgate.events.Addresses;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Logger;

/**
 * Probes the instances of backends that have a {@code health_check} and owns their health. Publishes
 * each change on {@link Addresses#HEALTH}, and the removal of an unhealthy instance that went away,
 * and answers {@link Addresses#HEALTH_QUERY} with the keys of the unhealthy instances; routers leave
 * those out of rotation. Runs on its own event loop.
 */
public final class HealthCheckVerticle extends VerticleBase {

  private static final Logger LOG = Logger.getLogger(HealthCheckVerticle.class.getName());

  private GatewayConfig config;
  private HttpClient client;
  /** The newest snapshot discovery published ({@link Addresses#INSTANCES}), for this checker's backends. */
  private BackendInstances instances = BackendInstances.EMPTY;
  private final Map<String, Checked> states = new HashMap<>();
  private final List<Long> timers = new ArrayList<>();

  /** An instance under active checks and its health. */
  private record Checked(String backend, Instance instance, HealthState state) {
  }

  public HealthCheckVerticle(GatewayConfig config) {
    this.config = config;
  }

  /** The key routers and the checker share for an instance of a backend. */
  public static String key(String backend, Instance instance) {
    return backend + "/" + instance.id();
  }

  @Override
  public Future<?> start() {
    client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(false));
    Future<Void> announce = vertx.eventBus()
        .<BackendInstances>localConsumer(Addresses.INSTANCES, msg -> follow(msg.body()))
        .completion();
    Future<Void> query = vertx.eventBus().localConsumer(Addresses.HEALTH_QUERY, msg -> msg.reply(unhealthy())).completion();
    Future<Void> reload = vertx.eventBus().<GatewayConfig>localConsumer(Addresses.CONFIG_APPLY, msg -> {
      config = msg.body();
      schedule();
      follow(instances);
    }).completion();
    return Future.all(announce, query, reload)
        .compose(v -> vertx.eventBus().<BackendInstances>request(Addresses.INSTANCES_QUERY, null, Addresses.LOCAL))
        .onSuccess(reply -> follow(reply.body()))
        .onSuccess(v -> schedule());
  }

  private void schedule() {
    timers.forEach(vertx::cancelTimer);
    timers.clear();
    for (BackendConfig backend : config.backends()) {
      HealthCheckConfig check = backend.healthCheck();
      if (check != null) {
        timers.add(vertx.setPeriodic(1, check.intervalMs(), id -> probeAll(backend.name(), check)));
      }
    }
  }

  /** Checks the instances of {@code snapshot} (unless an older one than held) and forgets the health of the others. */
  private void follow(BackendInstances snapshot) {
    if (snapshot.version() < instances.version()) {
      return;
    }
    instances = snapshot.forBackends(config.backends());
    Set<String> live = new HashSet<>();
    for (BackendConfig backend : config.backends()) {
      if (backend.healthCheck() != null) {
        instances.of(backend.name()).forEach(i -> live.add(key(backend.name(), i)));
      }
    }
    forgetGone(live);
  }

  /**
   * Drops the health of instances no longer checked (gone, or their backend's check removed). Routers
   * keep the keys of unhealthy instances until told otherwise, so each unhealthy one that goes is
   * announced as removed; a container that comes back under the same id is then routed again.
   */
  private void forgetGone(Set<String> live) {
    for (var it = states.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<String, Checked> entry = it.next();
      if (live.contains(entry.getKey())) {
        continue;
      }
      it.remove();
      Checked gone = entry.getValue();
      if (!gone.state().healthy()) {
        LOG.info("instance " + gone.instance() + " of backend " + gone.backend() + " gone while unhealthy");
        vertx.eventBus().publish(Addresses.HEALTH, new JsonObject().put("backend", gone.backend())
            .put("instance", gone.instance().name()).put("key", entry.getKey()).put("removed", true), Addresses.LOCAL);
      }
    }
  }

  private void probeAll(String backend, HealthCheckConfig check) {
    for (Instance instance : instances.of(backend)) {
      probe(instance, check).onComplete(ar -> record(backend, instance, check, ar.succeeded() && ar.result()));
    }
  }

  private Future<Boolean> probe(Instance instance, HealthCheckConfig check) {
    RequestOptions options = new RequestOptions()
        .setMethod(HttpMethod.GET)
        .setServer(instance.socketAddress())
        .setHost(instance.host())
        .setPort(instance.port())
        .setURI(check.path())
        .setConnectTimeout(check.timeoutMs())
        .setIdleTimeout(check.timeoutMs());
    return client.request(options)
        .compose(req -> req.send())
        .compose(resp -> resp.body().map(body -> resp.statusCode() >= 200 && resp.statusCode() < 400));
  }

  private void record(String backend, Instance instance, HealthCheckConfig check, boolean passed) {
    String key = key(backend, instance);
    if (!instances.of(backend).contains(instance)) {
      return; // gone while the probe ran
    }
    HealthState state = states.computeIfAbsent(key,
        k -> new Checked(backend, instance, new HealthState(check.healthyThreshold(), check.unhealthyThreshold()))).state();
    if (state.record(passed)) {
      LOG.warning("instance " + instance + " of backend " + backend + " is now "
          + (state.healthy() ? "healthy: back in rotation" : "unhealthy: out of rotation")
          + " (" + check.path() + ")");
      vertx.eventBus().publish(Addresses.HEALTH, new JsonObject()
          .put("backend", backend).put("instance", instance.name()).put("key", key).put("healthy", state.healthy()),
          Addresses.LOCAL);
    }
  }

  private JsonArray unhealthy() {
    JsonArray keys = new JsonArray();
    states.forEach((key, checked) -> {
      if (!checked.state().healthy()) {
        keys.add(key);
      }
    });
    return keys;
  }

  @Override
  public Future<?> stop() {
    return client.close();
  }
}
