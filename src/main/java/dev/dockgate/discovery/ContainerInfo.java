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
 * Docker Engine's {@code GET /containers/json} answer, and its HEALTHCHECK status from
 * {@code GET /containers/{id}/json} ({@link #health}). Docker API types go no further than here.
 */
public record ContainerInfo(
    String id,
    String name,
    Map<String, String> labels,
    String networkMode,
    Map<String, String> networkIps,
    List<Port> ports,
    String health) {

  /** {@link #health} of a container without a HEALTHCHECK (Docker's {@code State.Health} absent). */
  public static final String NO_HEALTHCHECK = "none";
  public static final String STARTING = "starting";
  public static final String HEALTHY = "healthy";
  public static final String UNHEALTHY = "unhealthy";

  /** One entry of {@code Ports}: a published binding when {@code publicPort > 0}, else only exposed. */
  public record Port(String ip, int privatePort, int publicPort, String type) {
    public boolean published() {
      return publicPort > 0;
    }

    public boolean tcp() {
      return type == null || "tcp".equals(type);
    }
  }

  /** A container whose health is not known yet (the listing does not carry it): {@link #NO_HEALTHCHECK}. */
  public ContainerInfo(String id, String name, Map<String, String> labels, String networkMode,
      Map<String, String> networkIps, List<Port> ports) {
    this(id, name, labels, networkMode, networkIps, ports, NO_HEALTHCHECK);
  }

  public ContainerInfo {
    labels = Map.copyOf(labels);
    networkIps = java.util.Collections.unmodifiableMap(new TreeMap<>(networkIps));
    ports = List.copyOf(ports);
  }

  /** The same container with the health Docker reports for it. */
  public ContainerInfo withHealth(String status) {
    return new ContainerInfo(id, name, labels, networkMode, networkIps, ports, status);
  }

  /**
   * What {@code GET /containers/{id}/json} tells beyond the listing: the HEALTHCHECK status ({@link #healthOf})
   * and the number of the signal {@code docker stop} sends it ({@code Config.StopSignal}, SIGTERM when it names none;
   * -1 when it names no known signal).
   */
  public record Inspected(String health, int stopSignal, List<Integer> exposedTcp) {
    public Inspected {
      exposedTcp = List.copyOf(exposedTcp);
    }

    /** What an inspection tells; {@code exposedTcp}: the TCP ports of {@code Config.ExposedPorts} ({@code "8080/tcp": {}}). */
    public static Inspected of(JsonObject inspected) {
      JsonObject config = inspected.getJsonObject("Config", new JsonObject());
      String named = config.getString("StopSignal");
      List<Integer> exposed = new ArrayList<>();
      JsonObject ports = config.getJsonObject("ExposedPorts");
      if (ports != null) {
        for (String port : ports.fieldNames()) {
          int slash = port.indexOf('/');
          String number = slash < 0 ? port : port.substring(0, slash);
          if ((slash < 0 || port.substring(slash + 1).equals("tcp")) && !number.isEmpty() && number.length() <= 5
              && number.chars().allMatch(Character::isDigit)) {
            exposed.add(Integer.parseInt(number));
          }
        }
      }
      return new Inspected(healthOf(inspected),
          named == null || named.isBlank() ? StopSignals.SIGTERM : StopSignals.number(named), exposed);
    }
  }

  /**
   * The same container with what its inspection tells: its health and, on the host network (where the listing
   * shows no ports), the ports its image or {@code docker run --expose} exposes.
   */
  public ContainerInfo with(Inspected inspected) {
    if (!hostNetwork() || !ports.isEmpty() || inspected.exposedTcp().isEmpty()) {
      return withHealth(inspected.health());
    }
    List<Port> exposed = new ArrayList<>();
    inspected.exposedTcp().forEach(p -> exposed.add(new Port("", p, 0, "tcp")));
    return new ContainerInfo(id, name, labels, networkMode, networkIps, exposed, inspected.health());
  }

  /**
   * The health in an answer of {@code GET /containers/{id}/json}: {@code State.Health.Status}
   * ({@code starting}, {@code healthy}, {@code unhealthy}), {@link #NO_HEALTHCHECK} without one.
   */
  public static String healthOf(JsonObject inspected) {
    JsonObject health = inspected.getJsonObject("State", new JsonObject()).getJsonObject("Health");
    String status = health == null ? null : health.getString("Status");
    return status == null || status.isEmpty() || NO_HEALTHCHECK.equals(status) ? NO_HEALTHCHECK : status;
  }

  /**
   * The HEALTHCHECK status one element of {@code GET /containers/json} shows, to be compared with the one last
   * inspected, or null when it shows none that can be read. Engines of API 1.52 and later (Docker 29) give
   * {@code Health.Status}; every engine gives {@code Status}, the daemon's {@code State.String()}: {@code "Up 2 minutes
   * (healthy)"}, {@code "Up 3 minutes (unhealthy)"}, {@code "Up 5 seconds (health: starting)"}, and for a running
   * container without a HEALTHCHECK {@code "Up 2 minutes"} ({@link #NO_HEALTHCHECK}). Anything else (paused,
   * restarting, another engine's text) tells nothing: null.
   */
  public static String listedHealth(JsonObject listed) {
    if (listed.getValue("Health") instanceof JsonObject health && health.getValue("Status") instanceof String status
        && isHealth(status)) {
      return status;
    }
    if (!(listed.getValue("Status") instanceof String text) || !text.startsWith("Up ")) {
      return null;
    }
    if (!text.endsWith(")")) {
      return text.indexOf('(') < 0 ? NO_HEALTHCHECK : null;
    }
    int open = text.lastIndexOf('(');
    String word = open < 0 ? "" : text.substring(open + 1, text.length() - 1);
    if (word.equals("health: " + STARTING)) {
      return STARTING;
    }
    return word.equals(HEALTHY) || word.equals(UNHEALTHY) ? word : null;
  }

  private static boolean isHealth(String status) {
    return status.equals(NO_HEALTHCHECK) || status.equals(STARTING) || status.equals(HEALTHY) || status.equals(UNHEALTHY);
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
