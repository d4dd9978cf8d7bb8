package dev.dockgate.events;

import java.util.List;
import java.util.Set;

/**
 * Which addresses the TCP event-bus bridge may tap (its {@code event_bus_bridge.addresses}), and why each other one
 * is refused. A bridge client's registration is one more consumer of its address: where the gateway sends a message
 * to one consumer (a request, a command) the client would be handed a share of them and answer none. So only the
 * gateway's published events with JSON bodies may be tapped. Every constant of {@link Addresses} is classed here.
 */
public final class TapAddresses {

  /** The addresses a bridge client may register on: events published to every consumer, with JSON bodies. */
  public static final List<String> TAPPABLE = List.of(Addresses.TRAFFIC, Addresses.HEALTH, Addresses.ALERTS,
      Addresses.DISCOVERY_ANNOUNCE, Addresses.CLUSTER_MEMBERS);

  /** Request/reply addresses: each request goes to one consumer, which must answer it. */
  private static final Set<String> REQUEST_REPLY = Set.of(Addresses.STATS_QUERY, Addresses.STATS_DETAIL,
      Addresses.STATS_NODE, Addresses.STATS_CLUSTER_QUERY, Addresses.CLUSTER_STATUS, Addresses.CLUSTER_MEMBERS_QUERY,
      Addresses.HEALTH_SYNC, Addresses.HEALTH_OWNERS, Addresses.DISCOVERY_PREPARE, Addresses.INSTANCES_QUERY,
      Addresses.DRAIN_START, Addresses.DRAIN_ROUTERS, Addresses.HEALTH_QUERY, Addresses.METRICS_SCRAPE,
      Addresses.DISCOVERY_STATUS);
  /** The per-node request/reply addresses, by the part before the node id. */
  private static final List<String> REQUEST_REPLY_PER_NODE = List.of(Addresses.clusterStats(""),
      Addresses.healthClaims(""));
  /** Commands sent (not published) to the one consumer that acts on them. */
  private static final Set<String> SENT = Set.of(Addresses.CONFIG_RELOAD, Addresses.CONFIG_LIVE);
  /** Published to the gateway's own verticles with Java objects as bodies, which have no JSON form. */
  private static final Set<String> OBJECTS = Set.of(Addresses.INSTANCES, Addresses.CONFIG_APPLY,
      Addresses.CONFIG_EVERYWHERE);
  /** Published, but the gateway's own coordination (between its verticles or its cluster's nodes), not events. */
  private static final Set<String> INTERNAL = Set.of(Addresses.HEALTH_SHARED, Addresses.HEALTH_CLAIMS,
      Addresses.RATE_LIMIT_DEMAND, Addresses.DRAINING, Addresses.ACCESS_LOG_REOPEN);

  private TapAddresses() {
  }

  /** Why the bridge may not tap {@code address} (a sentence about it, the tappable ones named), or null if it may. */
  public static String refusal(String address) {
    if (TAPPABLE.contains(address)) {
      return null;
    }
    return address + " " + why(address) + "; the bridge taps only " + String.join(", ", TAPPABLE);
  }

  private static String why(String address) {
    if (REQUEST_REPLY.contains(address) || REQUEST_REPLY_PER_NODE.stream().anyMatch(address::startsWith)) {
      return "is a request/reply address of the gateway: a bridge client registered on it would be handed a share"
          + " of its requests and answer none, so they would time out (/stats, /metrics, the admin endpoints, a"
          + " reload, a drain)";
    }
    if (SENT.contains(address)) {
      return "is a command address of the gateway, each message sent to one consumer: a bridge client registered"
          + " on it would be handed a share of them, and they would be lost (a reload, a config going live)";
    }
    if (OBJECTS.contains(address)) {
      return "carries Java objects between the gateway's own verticles, not JSON: no client could read them";
    }
    if (INTERNAL.contains(address)) {
      return "is the gateway's internal coordination (between its verticles or cluster nodes), not one of its events";
    }
    if (address.startsWith("__vertx.")) {
      return "is one of Vert.x's own addresses (replies, cluster internals): a bridge client registered on it could"
          + " be handed replies meant for the gateway";
    }
    return "is not an address the gateway publishes events on";
  }
}
