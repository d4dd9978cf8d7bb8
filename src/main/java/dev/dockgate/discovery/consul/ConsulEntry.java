package dev.dockgate.discovery.consul;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;

/**
 * The few fields of one entry of {@code /v1/health/service/:service} the gateway needs: the node, the
 * service instance's id, name and tags, and where it listens ({@code Service.Address}, or the node's
 * {@code Node.Address} when the service registered none, as Consul documents). Pure.
 */
public record ConsulEntry(String node, String serviceId, String service, String address, int port, List<String> tags) {

  public ConsulEntry {
    tags = List.copyOf(tags);
  }

  /** The instance's id across the gateway: Consul's service id is unique per node only. */
  public String id() {
    return "consul:" + node + "/" + serviceId;
  }

  /** Why an entry of the answer cannot be routed to. */
  public record Unusable(String description, String reason) {
  }

  /** The usable entries of an answer; {@code unusable} collects the others with the reason. */
  public static List<ConsulEntry> parse(JsonArray answer, List<Unusable> unusable) {
    List<ConsulEntry> result = new ArrayList<>(answer.size());
    for (Object item : answer) {
      if (!(item instanceof JsonObject entry)) {
        unusable.add(new Unusable(String.valueOf(item), "not an object"));
        continue;
      }
      JsonObject node = entry.getJsonObject("Node", new JsonObject());
      JsonObject service = entry.getJsonObject("Service", new JsonObject());
      String nodeName = node.getString("Node", "");
      String description = service.getString("Service", "?") + " " + service.getString("ID", "?") + " on node " + nodeName;
      String failing = failingCheck(entry.getJsonArray("Checks", new JsonArray()));
      String address = service.getString("Address", "");
      if (address.isBlank()) {
        address = node.getString("Address", "");
      }
      int port = service.getInteger("Port", 0);
      if (failing != null) {
        // passing=true already filters; kept as a guard, since routing to a failing instance is worse than none
        unusable.add(new Unusable(description, "check " + failing + " is not passing"));
      } else if (address.isBlank()) {
        unusable.add(new Unusable(description, "neither Service.Address nor Node.Address is set"));
      } else if (port < 1 || port > 65535) {
        unusable.add(new Unusable(description, "Service.Port " + port + " is not a port"));
      } else {
        List<String> tags = new ArrayList<>();
        service.getJsonArray("Tags", new JsonArray()).forEach(t -> tags.add(String.valueOf(t)));
        result.add(new ConsulEntry(nodeName, service.getString("ID", ""), service.getString("Service", ""),
            address, port, tags));
      }
    }
    return result;
  }

  private static String failingCheck(JsonArray checks) {
    for (Object item : checks) {
      if (item instanceof JsonObject check && !"passing".equals(check.getString("Status"))) {
        return check.getString("CheckID", "?") + " (" + check.getString("Status") + ")";
      }
    }
    return null;
  }
}
