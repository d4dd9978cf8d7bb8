package dev.dockgate.discovery;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The few fields of a running container that discovery needs, copied out of one element of the
 * Docker Engine's {@code GET /containers/json} answer. Docker API types go no further than here.
 */
public record ContainerInfo(
    String id,
    String name,
    Map<String, String> labels,
    String networkMode,
    Map<String, String> networkIps,
    List<Port> ports) {

  /** One entry of {@code Ports}: a published binding when {@code publicPort > 0}, else only exposed. */
  public record Port(String ip, int privatePort, int publicPort, String type) {
    public boolean published() {
      return publicPort > 0;
    }

    public boolean tcp() {
      return type == null || "tcp".equals(type);
    }
  }

  public ContainerInfo {
    labels = Map.copyOf(labels);
    networkIps = java.util.Collections.unmodifiableMap(new TreeMap<>(networkIps));
    ports = List.copyOf(ports);
  }

  public String shortId() {
    return id.length() > 12 ? id.substring(0, 12) : id;
  }

  public boolean hostNetwork() {
    return "host".equals(networkMode);
  }

  public static ContainerInfo fromListJson(JsonObject json) {
    String id = json.getString("Id", "");
    JsonArray names = json.getJsonArray("Names", new JsonArray());
    String name = names.isEmpty() ? id : names.getString(0);
    if (name.startsWith("/")) {
      name = name.substring(1);
    }
    Map<String, String> labels = new LinkedHashMap<>();
    JsonObject rawLabels = json.getJsonObject("Labels");
    if (rawLabels != null) {
      rawLabels.forEach(e -> labels.put(e.getKey(), String.valueOf(e.getValue())));
    }
    JsonObject hostConfig = json.getJsonObject("HostConfig", new JsonObject());
    String networkMode = hostConfig.getString("NetworkMode", "");
    Map<String, String> ips = new LinkedHashMap<>();
    JsonObject networks = json.getJsonObject("NetworkSettings", new JsonObject())
        .getJsonObject("Networks", new JsonObject());
    networks.forEach(e -> {
      if (e.getValue() instanceof JsonObject net) {
        String ip = net.getString("IPAddress", "");
        if (!ip.isEmpty()) {
          ips.put(e.getKey(), ip);
        }
      }
    });
    List<Port> ports = new ArrayList<>();
    JsonArray rawPorts = json.getJsonArray("Ports", new JsonArray());
    for (int i = 0; i < rawPorts.size(); i++) {
      JsonObject p = rawPorts.getJsonObject(i);
      ports.add(new Port(p.getString("IP", ""), p.getInteger("PrivatePort", 0),
          p.getInteger("PublicPort", 0), p.getString("Type", "tcp")));
    }
    return new ContainerInfo(id, name, labels, networkMode, ips, ports);
  }
}
