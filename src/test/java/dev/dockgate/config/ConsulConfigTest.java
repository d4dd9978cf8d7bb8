package dev.dockgate.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The consul block, a backend's consul_service / consul_tags and dns_targets, read into records (problems: ConfigLoaderTest). */
class ConsulConfigTest {

  static GatewayConfig load(String json, Map<String, String> env) {
    return ConfigLoader.validate("conf.json", new JsonObject(json), List.of(),
        new ConfigEnvironment(env, Map.of())).config();
  }

  @Test
  void theBlockAndABackendCombiningThreeSources() {
    GatewayConfig config = load("""
        {"consul": {"address": "https://consul.local:8501", "token": "${CONSUL_TOKEN}", "datacenter": "eu-1",
                    "wait_ms": 60000, "min_query_interval_ms": 15000},
         "backends": [{"name": "orders", "match_labels": ["app=orders"], "targets": ["http://127.0.0.1:9000"],
                       "consul_service": "orders", "consul_tags": ["v2", "primary", "v2"]}]}
        """, Map.of("CONSUL_TOKEN", "t0ken"));
    assertEquals(new ConsulConfig("https://consul.local:8501", "t0ken", "eu-1", 60_000, 15_000), config.consul());
    BackendConfig orders = config.backends().get(0);
    assertEquals(new ConsulService("orders", List.of("primary", "v2")), orders.consul());
    assertEquals("orders+primary+v2", orders.consul().key());
    assertEquals(List.of(new Target("127.0.0.1", 9000)), orders.targets());
    assertEquals(Map.of("app", "orders"), orders.matchLabels().required());
  }

  @Test
  void defaultsAndAConsulOnlyBackend() {
    GatewayConfig config = load("""
        {"consul": {"token": "${CONSUL_TOKEN:-}"}, "backends": [{"name": "orders", "consul_service": "orders"}]}
        """, Map.of());
    assertEquals(ConsulConfig.DEFAULT, config.consul(), "an empty token is no token");
    assertEquals(new ConsulService("orders", List.of()), config.backends().get(0).consul());
    assertEquals(true, config.backends().get(0).matchLabels().isEmpty(), "selects no container");
    assertNull(load("{\"backends\": [{\"name\": \"a\", \"match_labels\": [\"x=y\"]}]}", Map.of()).backends().get(0).consul());
    assertEquals(ConsulConfig.DEFAULT, load("{}", Map.of()).consul());
  }

  @Test
  void dnsTargetsAreABackendsOnlySourceWithTheirRefresh() {
    BackendConfig orders = load("""
        {"backends": [{"name": "orders", "dns_targets": ["http://orders.internal:8080", "https://orders.internal"],
                       "dns_refresh_ms": 2000}]}
        """, Map.of()).backends().get(0);
    assertEquals(List.of(new Target("orders.internal", 8080), new Target("orders.internal", 443, true)),
        orders.dnsTargets());
    assertEquals(2_000, orders.dnsRefreshMs());
    assertEquals(List.of(), orders.targets());
    assertEquals(true, orders.matchLabels().isEmpty(), "selects no container");
    BackendConfig plain = load("{\"backends\": [{\"name\": \"a\", \"dns_targets\": [\"http://a.internal\"]}]}", Map.of())
        .backends().get(0);
    assertEquals(BackendConfig.DEFAULT_DNS_REFRESH_MS, plain.dnsRefreshMs());
    assertEquals(List.of(new Target("a.internal", 80)), plain.dnsTargets());
  }

  @Test
  void anHttpsAgentsCaAndClientCertificate(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
    dev.dockgate.testing.TestCerts.Pem ca = dev.dockgate.testing.TestCerts.selfSigned(dir, "consul-ca");
    dev.dockgate.testing.TestCerts.Pem client = dev.dockgate.testing.TestCerts.selfSigned(dir, "client");
    GatewayConfig config = load("""
        {"consul": {"address": "https://127.0.0.1:8501", "tls": {"ca_file": "%s", "cert_file": "%s", "key_file": "%s"}}}
        """.formatted(ca.cert(), client.cert(), client.key()), Map.of());
    assertEquals(new DockerConfig.Tls(ca.cert().toString(), client.cert().toString(), client.key().toString()),
        config.consul().tls());
    assertNull(ConsulConfig.DEFAULT.tls(), "none by default: an https:// agent is checked against the JVM's CAs");
  }

  @Test
  void theTokenStaysOutOfTheTextForm() {
    assertEquals(false, new ConsulConfig("http://127.0.0.1:8500", "s3cret", null, 1_000).toString().contains("s3cret"));
  }
}
