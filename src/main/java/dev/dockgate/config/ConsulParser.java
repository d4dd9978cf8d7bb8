package dev.dockgate.config;

import java.util.ArrayList;
import java.util.List;

/** Reads the top-level {@code consul} block and a backend's {@code consul_service} / {@code consul_tags}. */
final class ConsulParser {

  private ConsulParser() {
  }

  static ConsulConfig parse(Fields f) {
    String address = f.string("address", ConsulConfig.DEFAULT_ADDRESS);
    if (address != null && !ConfigLoader.httpUrl(address)) {
      f.problem(f.at("address"), "expected an http:// or https:// URL such as " + ConsulConfig.DEFAULT_ADDRESS
          + ", got \"" + address + "\"");
    }
    String token = f.string("token", null);
    if (token != null && token.isBlank()) {
      token = null; // an unset ${CONSUL_HTTP_TOKEN:-} means the agent's default token
    }
    String datacenter = f.string("datacenter", null);
    if (datacenter != null && (datacenter.isBlank() || !datacenter.matches("[A-Za-z0-9_.-]+"))) {
      f.problem(f.at("datacenter"), "expected a datacenter name such as dc1, got \"" + datacenter + "\"");
    }
    long wait = f.number("wait_ms", ConsulConfig.DEFAULT_WAIT_MS, 1_000, ConsulConfig.MAX_WAIT_MS);
    long interval = f.number("min_query_interval_ms", ConsulConfig.DEFAULT_MIN_QUERY_INTERVAL_MS, 100, 600_000);
    DockerConfig.Tls tls = null;
    if (f.has("tls")) {
      if (address != null && !address.regionMatches(true, 0, "https://", 0, 8)) {
        f.problem(f.at("tls"), "applies only to an https:// address (Consul's HTTPS port, 8501 by default)");
      }
      // Consul's CONSUL_CACERT, CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY: the agent's private CA, and the client
      // certificate an agent with tls.https.verify_incoming asks for
      tls = DockerParser.tls(f.object("tls"));
    }
    f.rejectUnknown();
    return new ConsulConfig(address, token, datacenter, wait, interval, tls);
  }

  /** A backend's {@code consul_service} and {@code consul_tags}, or null when it names no service. */
  static ConsulService backend(Fields f) {
    List<Object> items = f.list("consul_tags");
    if (!f.has("consul_service")) {
      if (f.has("consul_tags")) {
        f.problem(f.at("consul_tags"), "applies only with consul_service");
      }
      return null;
    }
    String service = f.string("consul_service", null);
    if (service == null || service.isBlank() || service.contains("/") || service.contains("?")) {
      f.problem(f.at("consul_service"), "expected a Consul service name, got " + Fields.describe(f.raw("consul_service")));
      return null;
    }
    List<String> tags = new ArrayList<>();
    for (int i = 0; i < items.size(); i++) {
      if (items.get(i) instanceof String tag && !tag.isBlank()) {
        tags.add(tag.trim());
      } else {
        f.problem(f.at("consul_tags") + "[" + i + "]", "expected a tag, got " + Fields.describe(items.get(i)));
      }
    }
    return new ConsulService(service.trim(), tags);
  }
}
