package dev.dockgate.config;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * Reads the {@code cluster} block. Like every setting it may come from the environment
 * ({@code DOCKGATE_CLUSTER_MEMBERS=a:5701,b:5701}, {@code DOCKGATE_CLUSTER_PORT}, ...; see {@link ValueSources}).
 */
final class ClusterParser {

  private ClusterParser() {
  }

  static ClusterConfig parse(Fields f) {
    String name = f.string("name", ClusterConfig.DEFAULT_NAME);
    if (name != null && name.isBlank()) {
      f.problem(f.at("name"), "must not be empty");
    }
    List<String> members = new ArrayList<>();
    List<Object> listed = f.list("members");
    for (int i = 0; i < listed.size(); i++) {
      member(f, f.at("members") + "[" + i + "]", listed.get(i), members);
    }
    String host = f.string("host", null);
    if (host != null && host.isBlank()) {
      f.problem(f.at("host"), "must not be empty (leave it out to let Hazelcast choose an interface)");
      host = null;
    }
    int port = (int) f.number("port", ClusterConfig.DEFAULT_PORT, 1, 65535);
    boolean required = f.bool("required", false);
    f.rejectUnknown();
    return new ClusterConfig(name, List.copyOf(new LinkedHashSet<>(members)), host, port, required);
  }

  /** One {@code host:port} entry; Hazelcast refuses port ranges and bare hosts are ambiguous, so both are errors. */
  private static void member(Fields f, String field, Object value, List<String> members) {
    if (!(value instanceof String text) || text.isBlank()) {
      f.problem(field, "expected \"host:port\", got " + Fields.describe(value));
      return;
    }
    int colon = text.lastIndexOf(':');
    String port = colon < 0 ? "" : text.substring(colon + 1);
    boolean ok = colon > 0 && port.matches("\\d{1,5}") && Integer.parseInt(port) >= 1 && Integer.parseInt(port) <= 65535;
    if (!ok) {
      f.problem(field, "expected \"host:port\" with a port from 1 to 65535 (no ranges), got \"" + text + "\"");
      return;
    }
    members.add(text.trim());
  }
}
