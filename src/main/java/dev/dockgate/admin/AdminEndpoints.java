package dev.dockgate.admin;

import dev.dockgate.config.GatewayConfig;
import dev.dockgate.config.ServerConfig;
import dev.dockgate.edge.AnswerBodies;
import dev.dockgate.events.Addresses;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.healthchecks.CheckResult;
import io.vertx.ext.healthchecks.HealthChecks;
import io.vertx.ext.healthchecks.Status;
import java.util.function.Supplier;

/**
 * The gateway's own endpoints on the router's port: /stats, /metrics, readiness and liveness, the
 * route report and the dashboard with its event stream. Exact paths from the current config.
 * One per router instance, on its event loop.
 */
public final class AdminEndpoints {

  private static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";
  /** Every answer is this process's (the cluster view is assembled by this node's cluster verticle). */
  private static final DeliveryOptions QUERY = new DeliveryOptions().setSendTimeout(5_000).setLocalOnly(true);
  /** The cluster check's question: answered before the check's own 2 s are up, so the check never fails. */
  private static final DeliveryOptions CLUSTER_QUERY = new DeliveryOptions().setSendTimeout(1_500).setLocalOnly(true);

  private final Vertx vertx;
  private final Supplier<GatewayConfig> config;
  private final Supplier<JsonObject> routeReport;
  private final Buffer dashboardPage;
  private final String dashboardPolicy;
  private final Supplier<String> edgeProblem;
  private final HealthChecks readiness;
  private boolean draining;

  /** {@code edgeProblem}: null while the listener's edge checks are in place, else why not (see EdgeGuard). */
  public AdminEndpoints(Vertx vertx, Supplier<GatewayConfig> config, Supplier<JsonObject> routeReport, Buffer dashboardPage,
      Supplier<String> edgeProblem) {
    this.vertx = vertx;
    this.config = config;
    this.routeReport = routeReport;
    this.dashboardPage = dashboardPage;
    this.dashboardPolicy = dashboardPolicy(dashboardPage.toString(java.nio.charset.StandardCharsets.UTF_8));
    this.edgeProblem = edgeProblem;
    this.readiness = readiness();
  }

  /** Whether {@code path} is one of the endpoints the main port serves (/stats, liveness): the gateway's, not counted. */
  public static boolean publicPath(String path, ServerConfig server, String liveness) {
    return path.equals(server.statsPath()) || path.equals(liveness);
  }

  /**
   * Answers {@code request} when {@code path} is one of the admin paths; false otherwise. With
   * {@code publicOnly} (the main port) only /stats, rgate's contract, and liveness are served: the
   * rest shows internal addresses and labels, and lives on the admin listener.
   */
  public boolean handle(HttpServerRequest request, String path, ServerConfig server, String liveness,
      String dashboardStream, boolean publicOnly) {
    ServerConfig.AdminPaths paths = server.admin();
    Runnable answer;
    if (path.equals(server.statsPath())) {
      answer = () -> stats(request);
    } else if (path.equals(liveness)) {
      answer = () -> {
        request.response().putHeader("content-type", "application/json");
        AnswerBodies.end(request, Buffer.buffer("{\"status\":\"UP\"}"));
      };
    } else if (publicOnly) {
      return false;
    } else if (path.equals(paths.metrics())) {
      answer = () -> relay(request, Addresses.METRICS_SCRAPE, PROMETHEUS_TEXT);
    } else if (path.equals(paths.health())) {
      answer = () -> readiness.checkStatus().onComplete(ar -> {
        JsonObject body = ar.succeeded() ? ar.result().toJson() : new JsonObject().put("status", "DOWN");
        boolean up = ar.succeeded() && CheckResult.isUp(ar.result());
        request.response().setStatusCode(up ? 200 : 503).putHeader("content-type", "application/json").end(body.toBuffer());
      });
    } else if (path.equals(paths.dashboard())) {
      answer = () -> request.response().putHeader("content-type", "text/html; charset=utf-8")
          .putHeader("content-security-policy", dashboardPolicy).end(dashboardPage);
    } else if (path.equals(dashboardStream)) {
      answer = () -> dashboardEvents(request);
    } else if (path.equals(paths.routes())) {
      answer = () -> routes(request);
    } else {
      return false;
    }
    HttpMethod method = request.method();
    request.response().putHeader(io.vertx.core.http.HttpHeaders.DATE, dev.dockgate.edge.HttpDate.now());
    if (method == HttpMethod.GET || method == HttpMethod.HEAD) {
      answer.run();
    } else {
      // Read-only endpoints: a POST (or any other method) changes nothing and is told so.
      request.response().setStatusCode(405).putHeader("allow", "GET, HEAD")
          .putHeader("content-type", "text/plain; charset=utf-8").end(method.name() + " is not allowed here: GET or HEAD\n");
    }
    return true;
  }

  /**
   * The dashboard's Content-Security-Policy: its own inline script (by hash) and styles, its own event stream, nothing
   * else; no frame may hold it. Were a name it shows ever written as markup, no script injected there would run.
   */
  static String dashboardPolicy(String page) {
    int open = page.indexOf("<script>");
    int close = page.indexOf("</script>", open);
    String script = open < 0 || close < 0 ? "" : page.substring(open + "<script>".length(), close);
    return "default-src 'none'; script-src 'sha256-"
        + java.util.Base64.getEncoder().encodeToString(dev.dockgate.auth.ApiKeyAuth.sha256(script)) + "'; "
        + "style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
        + "frame-ancestors 'none'";
  }

  /**
   * The gateway is stopping (SIGTERM): readiness answers 503 from now on, with a "shutdown" check,
   * so load balancers stop sending while the listeners still serve. Liveness stays up.
   */
  public void draining() {
    if (draining) {
      return;
    }
    draining = true;
    readiness.register("shutdown", promise -> promise.complete(Status.KO(new JsonObject()
        .put("reason", "the gateway is stopping (SIGTERM); the listeners close after server.drain_delay_ms"))));
  }

  /** rgate's /stats for this node; {@code ?scope=cluster} the whole cluster's (see docs/observability.md). */
  private void stats(HttpServerRequest request) {
    String scope = request.getParam("scope");
    if (scope == null || scope.equals("node")) {
      relay(request, Addresses.STATS_QUERY, "application/json");
    } else if (scope.equals("cluster")) {
      relay(request, Addresses.STATS_CLUSTER_QUERY, "application/json");
    } else {
      request.response().setStatusCode(400).putHeader("content-type", "text/plain; charset=utf-8");
      AnswerBodies.end(request, Buffer.buffer("scope: expected node or cluster\n"));
    }
  }

  /** Asks the verticle owning an answer (stats, metrics) and relays its reply; 503 if it does not answer. */
  private void relay(HttpServerRequest request, String address, String contentType) {
    vertx.eventBus().request(address, null, QUERY)
        .onSuccess(reply -> {
          Object body = reply.body();
          request.response().putHeader("content-type", contentType);
          AnswerBodies.end(request,
              body instanceof JsonObject json ? json.toBuffer() : Buffer.buffer(String.valueOf(body)));
        })
        .onFailure(err -> {
          request.response().setStatusCode(503);
          AnswerBodies.end(request, Buffer.buffer("unavailable: " + address + "\n"));
        });
  }

  /**
   * The route report, with the cluster this node is in, the node that probes each checked instance and
   * under {@code discovery} the state of each discovery source (each part null when its owner does not answer).
   */
  private void routes(HttpServerRequest request) {
    Future<Message<JsonObject>> cluster = vertx.eventBus().request(Addresses.CLUSTER_STATUS, null, QUERY);
    Future<Message<JsonObject>> owners = vertx.eventBus().request(Addresses.HEALTH_OWNERS, null, QUERY);
    Future<Message<JsonObject>> discovery = vertx.eventBus().request(Addresses.DISCOVERY_STATUS, null, QUERY);
    Future.join(cluster, owners, discovery).onComplete(ar -> {
      JsonObject report = RouteReport.withCluster(routeReport.get(), body(cluster), body(owners))
          .put("discovery", body(discovery));
      request.response().putHeader("content-type", "application/json").end(report.toBuffer());
    });
  }

  /** A reply's body, or null when it failed (the report then goes without that part). */
  private static JsonObject body(Future<Message<JsonObject>> reply) {
    return reply.succeeded() ? reply.result().body() : null;
  }

  /**
   * Server-sent events for the dashboard: every second, the stats verticle's detail (the /stats
   * document, its median, the last 5 s's window) and the route report, until the client goes away
   * or the gateway shuts down.
   */
  private void dashboardEvents(HttpServerRequest request) {
    HttpServerResponse response = request.response()
        .setChunked(true)
        .putHeader("content-type", "text/event-stream")
        .putHeader("cache-control", "no-cache");
    if (request.method() == HttpMethod.HEAD) {
      response.end(); // the stream's head alone: no event follows, and a kept-alive connection serves on
      return;
    }
    Runnable push = () -> vertx.eventBus().<JsonObject>request(Addresses.STATS_DETAIL, null, QUERY)
        .onSuccess(reply -> {
          if (!response.closed()) {
            JsonObject event = reply.body().put("time", System.currentTimeMillis()).put("routes", routeReport.get());
            response.write("data: " + event.encode() + "\n\n");
          }
        });
    long timer = vertx.setPeriodic(1_000, id -> push.run());
    response.closeHandler(v -> vertx.cancelTimer(timer));
    // A graceful shutdown waits for open requests; an event stream never ends by itself.
    request.connection().shutdownHandler(v -> {
      vertx.cancelTimer(timer);
      if (!response.ended()) {
        response.end();
      }
    });
    push.run();
  }

  /**
   * Ready when the config is loaded (it is, if this runs), the edge's checks guard the listener, and
   * Docker discovery, when on, follows an engine (at least one of several); the cluster check shows this node's id and the members.
   */
  private HealthChecks readiness() {
    return HealthChecks.create(vertx)
        .register("config", promise -> promise.complete(Status.OK(new JsonObject()
            .put("source", config.get().source()).put("routes", config.get().routes().size()))))
        .register("edge", promise -> {
          String problem = edgeProblem.get();
          promise.complete(problem == null ? Status.OK() : Status.KO(new JsonObject().put("problem", problem)));
        })
        .register("discovery", 2_000, promise -> vertx.eventBus().<JsonObject>request(Addresses.DISCOVERY_STATUS, null, QUERY)
            .onSuccess(reply -> {
              JsonObject status = reply.body();
              // Ready while at least one engine is followed; each engine's state is in the data.
              boolean ok = !status.getBoolean("enabled", true) || status.getBoolean("ready", false);
              promise.complete(new Status().setOk(ok).setData(status));
            })
            .onFailure(promise::fail))
        // Informational: a node serving alone is still ready, and so is one whose view of the cluster is slow to come
        // (a peer that hangs holds up reads of what the cluster shares): said in the data, within the check's time.
        .register("cluster", 2_000, promise -> vertx.eventBus().<JsonObject>request(Addresses.CLUSTER_STATUS, null,
                CLUSTER_QUERY)
            .onSuccess(reply -> promise.complete(Status.OK(reply.body())))
            .onFailure(err -> promise.complete(Status.OK(new JsonObject().put("problem", "no cluster status within "
                + CLUSTER_QUERY.getSendTimeout() + " ms: " + err.getMessage())))));
  }
}
