package dev.dockgate.events;

import io.vertx.core.eventbus.DeliveryOptions;

/** Every event-bus address the gateway uses. The README documents each one's messages. */
public final class Addresses {

  /** Published once per finished proxied or default-response request: a {@link TrafficEvent} as JSON. */
  public static final String TRAFFIC = "gateway.traffic";

  /**
   * How traffic events are sent: one shared read-only JsonObject for all consumers of this process, and never
   * to another cluster node (local only: a clustered event bus does not even look the address up in the cluster).
   */
  public static final DeliveryOptions TRAFFIC_DELIVERY = new DeliveryOptions().setCodecName(SharedJsonCodec.NAME)
      .setLocalOnly(true);

  /**
   * How every other per-process message is sent (config, health changes, alerts). Consumers of the addresses
   * below register with {@code localConsumer}, so in a cluster a query reaches this process's owner, never a peer's;
   * only {@link #clusterStats}, {@link #HEALTH_SHARED}, {@link #HEALTH_SYNC}, {@link #HEALTH_CLAIMS},
   * {@link #healthClaims} and {@link #RATE_LIMIT_DEMAND} cross the cluster.
   */
  public static final DeliveryOptions LOCAL = new DeliveryOptions().setLocalOnly(true);

  /** Request/reply: any body; the reply is the /stats JSON document. */
  public static final String STATS_QUERY = "gateway.stats.query";

  /**
   * Request/reply (the dashboard's feed): any body; the reply is {"stats": the /stats document, "p50": its
   * median latency in ms, "window": the last 5 seconds' rates, status classes and p50/p95/p99, gateway-wide and
   * in "routes" per route prefix}. docs/observability.md gives the window's shape.
   */
  public static final String STATS_DETAIL = "gateway.stats.detail";

  /**
   * Request/reply, local: any body; the reply is this node's numbers in their mergeable form:
   * {"totals", "routes": {prefix: ...}, "backends": {name: ...}}, each {@code stats.TrafficStats#toWire}.
   */
  public static final String STATS_NODE = "gateway.stats.node";

  /** Request/reply, local: any body; the reply is the cluster's /stats document (/stats?scope=cluster). */
  public static final String STATS_CLUSTER_QUERY = "gateway.stats.cluster";

  /** Request/reply, local: any body; the reply is {"enabled", "node", "members", ...}, the cluster part of /health. */
  public static final String CLUSTER_STATUS = "gateway.cluster.status";

  /**
   * Local, published by the cluster verticle at start and on each membership change (join, clean leave, crash):
   * {"node": this node's id, "members": [the live members' node ids]}; without a cluster, this node alone.
   */
  public static final String CLUSTER_MEMBERS = "gateway.cluster.members";

  /** Local request/reply: any body; the reply is the current {@link #CLUSTER_MEMBERS} document. */
  public static final String CLUSTER_MEMBERS_QUERY = "gateway.cluster.members.query";

  /**
   * Cluster-wide, published by the node that probes the instances concerned (one per instance among the nodes
   * that know it, see {@code resilience.ProbeOwners}): {"node": its id, "states": {instance key: healthy}}, one instance at each
   * health change, and all the instances it probes every {@code HealthCheckVerticle.SHARE_PERIOD_MS}.
   */
  public static final String HEALTH_SHARED = "gateway.cluster.health";

  /**
   * Cluster-wide request/reply, asked once by a starting node's health checker: any body; the reply is
   * {"node": the answering node, "unhealthy": [instance keys]}, that node's view of the unhealthy instances.
   */
  public static final String HEALTH_SYNC = "gateway.cluster.health.sync";

  /**
   * Cluster-wide, published by each node's health checker: which instances it checks, so that each instance is
   * probed by one of the nodes that know it (see {@code resilience.ClaimExchange}). Every message has {"node",
   * "version" (counts up per change), "digest" (sum of the keys' 64-bit hashes), "count"}; the node's full set adds
   * "keys": [instance keys] (once it starts probing, or when most of it changed), a change adds "added" and
   * "removed" (the keys since the previous version), and a heartbeat every 2 s adds nothing.
   */
  public static final String HEALTH_CLAIMS = "gateway.cluster.health.claims";

  /**
   * Cluster-wide request/reply, one address per node: any body; the reply is that node's full
   * {@link #HEALTH_CLAIMS} message (with "keys"), asked by a peer that joined or lost track of it.
   */
  public static String healthClaims(String nodeId) {
    return HEALTH_CLAIMS + "." + nodeId;
  }

  /**
   * Local request/reply: any body; the reply is {"node", "members", "checked_by": {instance key: node id}} for the
   * actively checked instances this node knows, and "claims": {node id: how many instances it announced it checks}.
   */
  public static final String HEALTH_OWNERS = "gateway.health.owners";

  /**
   * The one address per node that crosses the cluster: request/reply, any body; the reply is that node's
   * counts and encoded latency histograms ({@code stats.NodeStats}), from which any node builds the cluster view.
   */
  public static String clusterStats(String nodeId) {
    return "gateway.cluster.stats." + nodeId;
  }

  /**
   * Crosses the cluster, published by every node every 250 ms: {"node": id, "limits": {limit id: {key: [demand,
   * refused, spare]}}}, the node's load on its cluster-scope rate limits (requests per second demanded and refused,
   * tokens its bucket let go unused; an empty "limits" is a heartbeat), or
   * {"node": id, "left": true} when the node stops cleanly. Each node shares the cluster budgets out from these.
   */
  public static final String RATE_LIMIT_DEMAND = "gateway.ratelimit.demand";

  /**
   * Local only, request/reply: a config about to apply (a {@code GatewayConfig}, passed as is). Discovery starts
   * following the DNS names and Consul services it adds, beside those followed, and answers once their first answers
   * are in its catalog (3 s at most), so that a route the reload adds is live with its instances; the reload applies
   * ({@link #CONFIG_APPLY}) after the answer.
   */
  public static final String DISCOVERY_PREPARE = "gateway.discovery.prepare";

  /** Service-discovery announcements (vertx-service-discovery record JSON) of container instances. */
  public static final String DISCOVERY_ANNOUNCE = "gateway.discovery.announce";

  /**
   * Local only, published: the new snapshot of instances per backend (a {@code BackendInstances}, passed
   * as is), made once per change by discovery; routers, the health checker and metrics keep the newest.
   */
  public static final String INSTANCES = "gateway.instances";

  /** Local request/reply: any body; the reply is the current {@code BackendInstances} snapshot. */
  public static final String INSTANCES_QUERY = "gateway.instances.query";

  /** Local only: a validated {@code GatewayConfig} object for the routers to switch to. */
  public static final String CONFIG_APPLY = "gateway.config.apply";

  /**
   * Local only, sent by each router once its routing is that of a reloaded config (the {@code GatewayConfig}, passed
   * as is): once every router has said so, the config is live and the log says so.
   */
  public static final String CONFIG_LIVE = "gateway.config.live";

  /**
   * Local only, published once every router runs a reloaded config and none was read after it (the
   * {@code GatewayConfig}, passed as is):
   * discovery stops following the DNS names and Consul services only earlier configs named (until then a router on
   * an earlier config still resolves its backends from them).
   */
  public static final String CONFIG_EVERYWHERE = "gateway.config.everywhere";

  /** Any message asks the gateway to re-read its config file now (SIGHUP sends one). */
  public static final String CONFIG_RELOAD = "gateway.config.reload";

  /**
   * Local request/reply, sent once on SIGTERM: the gateway is about to stop. The reply is the running
   * config's {@code server.drain_delay_ms} (a Long), for which the listeners stay open while readiness
   * answers 503 (see {@link #DRAINING}).
   */
  public static final String DRAIN_START = "gateway.drain.start";

  /** Local, published on SIGTERM: every router's readiness answers 503 from now on. Any body. */
  public static final String DRAINING = "gateway.draining";

  /**
   * Local request/reply, any body: Docker discovery stops, then the routers stop listening, finish
   * their requests in flight (within the drain timeout) and stop; the reply (empty) comes once they
   * have. SIGTERM asks it after the drain delay, before closing the rest, so stats, metrics and the
   * access log count the drained requests.
   */
  public static final String DRAIN_ROUTERS = "gateway.drain.routers";

  /** Any message asks the access log to reopen its file at the configured path (SIGUSR1 sends one). */
  public static final String ACCESS_LOG_REOPEN = "gateway.access_log.reopen";

  /**
   * Published on each health change of an actively checked instance: backend, instance, key, healthy;
   * and when an unhealthy instance goes away: backend, instance, key, removed (true).
   */
  public static final String HEALTH = "gateway.health";

  /** Request/reply: any body; the reply is a JSON array of the keys of unhealthy instances. */
  public static final String HEALTH_QUERY = "gateway.health.query";

  /** Request/reply: any body; the reply is the Prometheus text exposition of the gateway's metrics (a String). */
  public static final String METRICS_SCRAPE = "gateway.metrics.scrape";

  /** Request/reply: any body; the reply is {"enabled", "engine", "connected", "state", "instances"} of Docker discovery. */
  public static final String DISCOVERY_STATUS = "gateway.discovery.status";

  /** Published by alerting consumers: the traffic event plus "type" (e.g. slow_request) and its threshold. */
  public static final String ALERTS = "gateway.alerts";

  private Addresses() {
  }
}
