package dev.dockgate.discovery;

import dev.dockgate.observability.AccessLogLine;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Pure rules for where the gateway reaches a container, in order: the {@code gateway.port} label
 * (Docker host on the host network, else the container's IP on the chosen network), a published
 * port, the container IP with its single exposed port. Every outcome carries its reason.
 */
public final class AddressResolver {

  public static final String PORT_LABEL = "gateway.port";
  public static final String NETWORK_LABEL = "gateway.network";
  /** The labels the gateway reads on a container; Docker labels are case-sensitive, so these spellings only. */
  static final List<String> GATEWAY_LABELS = List.of(PORT_LABEL, NETWORK_LABEL, Instance.SCHEME_LABEL);

  /**
   * The labels of {@code labels} that spell one of {@link #GATEWAY_LABELS} in other letter case or with surrounding
   * blanks ({@code Gateway.Port}, {@code GATEWAY.PORT}), which the gateway does not read: each as
   * {@code "Gateway.Port" (read: gateway.port)}, label text escaped as in the access log; empty when none.
   */
  public static List<String> misspelledLabels(Map<String, String> labels) {
    List<String> found = new java.util.ArrayList<>(0);
    for (String key : labels.keySet()) {
      for (String label : GATEWAY_LABELS) {
        if (!key.equals(label) && key.strip().equalsIgnoreCase(label)) {
          found.add("\"" + AccessLogLine.escaped(key) + "\" (read: " + label + ")");
        }
      }
    }
    found.sort(null);
    return found;
  }

  /** Where to connect, or why there is nowhere. */
  public sealed interface Resolution {
    String reason();
  }

  public record Address(String host, int port, String reason) implements Resolution {
  }

  public record Unusable(String reason) implements Resolution {
  }

  private final String engineHost;
  private final String preferredNetwork;

  /**
   * @param engineHost the host the Docker engine's published ports and host network are reached on
   * @param preferredNetwork network whose IP to use for containers on several networks, or null
   */
  public AddressResolver(String engineHost, String preferredNetwork) {
    this.engineHost = engineHost;
    this.preferredNetwork = preferredNetwork;
  }

  public Resolution resolve(ContainerInfo c) {
    String portLabel = c.labels().get(PORT_LABEL);
    if (portLabel != null) {
      return fromPortLabel(c, portLabel.trim());
    }
    TreeSet<Integer> published = new TreeSet<>();
    String publishedIp = null;
    TreeSet<Integer> exposed = new TreeSet<>();
    for (ContainerInfo.Port p : c.ports()) {
      if (!p.tcp()) {
        continue;
      }
      if (p.published()) {
        if (published.add(p.publicPort()) && publishedIp == null) {
          publishedIp = p.ip();
        }
      } else {
        exposed.add(p.privatePort());
      }
    }
    if (published.size() == 1) {
      String host = isWildcard(publishedIp) ? engineHost : publishedIp;
      return new Address(host, published.first(), "published port " + published.first());
    }
    if (published.size() > 1) {
      return new Unusable("several published ports " + published + "; set label " + PORT_LABEL);
    }
    if (exposed.size() == 1 && c.hostNetwork()) {
      return new Address(engineHost, exposed.first(), "single exposed port " + exposed.first() + " on the host network");
    }
    if (exposed.size() == 1) {
      return onNetwork(c, exposed.first(), "single exposed port " + exposed.first());
    }
    if (exposed.size() > 1) {
      return new Unusable("several exposed ports " + exposed + "; set label " + PORT_LABEL);
    }
    return new Unusable("no " + PORT_LABEL + " label, no published port and no exposed port");
  }

  private Resolution fromPortLabel(ContainerInfo c, String value) {
    int port;
    try {
      port = Integer.parseInt(value);
    } catch (NumberFormatException e) {
      port = -1;
    }
    if (port < 1 || port > 65535) {
      return new Unusable("label " + PORT_LABEL + "=\"" + AccessLogLine.escaped(value) + "\" is not a port number");
    }
    if (c.hostNetwork()) {
      return new Address(engineHost, port, "label " + PORT_LABEL + " on the host network");
    }
    return onNetwork(c, port, "label " + PORT_LABEL);
  }

  private Resolution onNetwork(ContainerInfo c, int port, String why) {
    Map<String, String> ips = c.networkIps();
    String labelled = c.labels().get(NETWORK_LABEL);
    if (labelled != null) {
      String ip = ips.get(labelled);
      return ip == null
          ? new Unusable(why + ", but no IP on network \"" + AccessLogLine.escaped(labelled) + "\" (networks: "
              + ips.keySet() + ")")
          : new Address(ip, port, why + " on network " + labelled);
    }
    // The configured network only chooses among several; a container elsewhere keeps its own.
    if (preferredNetwork != null && ips.size() > 1 && ips.containsKey(preferredNetwork)) {
      return new Address(ips.get(preferredNetwork), port, why + " on network " + preferredNetwork + " (configured)");
    }
    if (ips.isEmpty()) {
      return new Unusable(why + ", but the container has no IP address (network mode \"" + c.networkMode() + "\")");
    }
    Map.Entry<String, String> first = ips.entrySet().iterator().next();
    String note = ips.size() == 1 ? "" : " (first of " + ips.keySet() + "; set label " + NETWORK_LABEL + ")";
    return new Address(first.getValue(), port, why + " on network " + first.getKey() + note);
  }

  private static boolean isWildcard(String ip) {
    return ip == null || ip.isEmpty() || "0.0.0.0".equals(ip) || "::".equals(ip);
  }
}
