package dev.dockgate.admin;

import dev.dockgate.config.BackendConfig;
import dev.dockgate.config.GatewayConfig;
import dev.dockgate.config.RouteConfig;
import dev.dockgate.discovery.BackendInstances;
import dev.dockgate.discovery.Instance;
import dev.dockgate.edge.PathNormalizer;
import dev.dockgate.proxy.InFlightRequests;
import dev.dockgate.proxy.Upstream;
import dev.dockgate.proxy.Upstreams;
import dev.dockgate.resilience.HealthCheckVerticle;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Map;
import java.util.Set;

/**
 * The /admin/routes document: routes (with their requests in flight), backends, and each instance's
 * address, health, circuit, requests in flight and how many of the process's routers pick among it.
 */
public final class RouteReport {

  private RouteReport() {
  }

  /**
   * {@code inFlight}: the requests in flight per route and backend, across the gateway's routers; {@code subsets}: the
   * process's, which tell how many routers pick among each instance.
   */
  public static JsonObject describe(GatewayConfig config, Upstreams upstreams, BackendInstances known, Set<String> unhealthy,
      Map<InFlightRequests.Key, Integer> inFlight, dev.dockgate.proxy.Subsets subsets) {
    JsonArray routes = new JsonArray();
    for (RouteConfig r : config.routes()) {
      routes.add(new JsonObject()
          .put("path_prefix", r.pathPrefix())
          .put("host", r.host())
          .put("methods", new JsonArray(r.methods()))
          .put("strip_prefix", r.stripPrefix())
          .put("rewrite_location", r.rewriteLocation())
          .put("rewrite_cookie_path", r.rewriteCookiePath())
          .put("timeout_ms", r.timeoutMs())
          .put("retries", r.retries().attempts())
          .put("backend", r.backend())
          .put("in_flight", inFlight.getOrDefault(new InFlightRequests.Key(r.pathPrefix(), r.backend()), 0)));
    }
    Map<String, Upstream> inRotation = upstreams.byKey();
    JsonArray backends = new JsonArray();
    for (BackendConfig b : config.backends()) {
      JsonArray instances = new JsonArray();
      for (Instance i : known.of(b.name())) {
        Upstream upstream = inRotation.get(Upstreams.key(b, i));
        instances.add(new JsonObject()
            .put("id", i.id())
            .put("name", i.name())
            .put("address", i.uriHost() + ":" + i.port())
            .put("healthy", !unhealthy.contains(HealthCheckVerticle.key(b.name(), i)))
            .put("in_rotation", upstream != null)
            .put("circuit", upstream == null ? null : upstream.breaker().state().name())
            .put("in_flight", upstream == null ? 0 : upstream.inFlight())
            // of this process's routers, how many pick among it (fewer than all with subset_size)
            .put("routers", subsets.routersWith(Upstreams.key(b, i))));
      }
      backends.add(new JsonObject()
          .put("name", b.name())
          .put("match_labels", b.matchLabels().required())
          .put("targets", new JsonArray(b.targets().stream().map(Object::toString).toList()))
          .put("dns_targets", new JsonArray(b.dnsTargets().stream().map(Object::toString).toList()))
          .put("load_balancer", b.loadBalancer().configName())
          .put("subset_size", b.subsetSize() == 0 ? null : b.subsetSize())
          .put("instances", instances));
    }
    return new JsonObject().put("source", config.source()).put("routes", routes).put("backends", backends);
  }

  /**
   * {@code report} with "cluster" (this node's id, the members, what they share; the /health cluster check's
   * data), "probe_claims": how many instances each node announced it checks, and, on each actively checked
   * instance, "checked_by": the node that probes it. Either part may be null (its owner did not answer); the
   * report then goes without it.
   */
  public static JsonObject withCluster(JsonObject report, JsonObject cluster, JsonObject owners) {
    report.put("cluster", cluster);
    if (owners != null && owners.getJsonObject("claims") != null) {
      report.put("probe_claims", owners.getJsonObject("claims"));
    }
    JsonObject checkedBy = owners == null ? new JsonObject() : owners.getJsonObject("checked_by");
    for (Object b : report.getJsonArray("backends")) {
      JsonObject backend = (JsonObject) b;
      for (Object i : backend.getJsonArray("instances")) {
        JsonObject instance = (JsonObject) i;
        String node = checkedBy.getString(HealthCheckVerticle.key(backend.getString("name"), instance.getString("id")));
        if (node != null) {
          instance.put("checked_by", node);
        }
      }
    }
    return report;
  }
}
