package dev.dockgate.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.dockgate.testing.TestCerts;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The docker block: one engine from {@code host} (or DOCKER_HOST), several from {@code engines} with
 * their names, addresses, networks and TLS files (checked at load), and every problem named by file,
 * field and problem.
 */
class DockerConfigTest {

  @TempDir
  static Path dir;
  static TestCerts.Pem ca;
  static TestCerts.Pem client;

  @BeforeAll
  static void certificates() {
    ca = TestCerts.selfSigned(dir, "ca");
    client = TestCerts.selfSigned(dir, "client");
  }

  private static DockerConfig parse(String docker, Map<String, String> variables) {
    JsonObject json = new JsonObject().put("docker", new JsonObject(docker));
    return ConfigLoader.validate("gw.yml", json, List.of(), new ConfigEnvironment(variables, Map.of())).config().docker();
  }

  private static DockerConfig parse(String docker) {
    return parse(docker, Map.of());
  }

  private static List<String> problems(String docker) {
    return assertThrows(ConfigException.class, () -> parse(docker)).problems();
  }

  private static String tls(Object caFile, Object cert, Object key) {
    return "{\"ca_file\":\"" + caFile + "\",\"cert_file\":\"" + cert + "\",\"key_file\":\"" + key + "\"}";
  }

  @Test
  void oneHostIsOneEngineNamedByItsKind() {
    DockerConfig local = parse("{\"host\":\"unix:///run/docker.sock\",\"network\":\"backend\"}");
    assertEquals(new DockerConfig(true, List.of(new DockerConfig.Engine("local", "unix:///run/docker.sock", null, null,
        null)), "backend"), local);
    assertEquals("127.0.0.1", local.engines().get(0).reachableHost());

    DockerConfig remote = parse("{\"host\":\"tcp://10.0.0.5:2376\"}");
    assertEquals(List.of(new DockerConfig.Engine("10.0.0.5:2376", "tcp://10.0.0.5:2376", null, null, null)),
        remote.engines());
    assertEquals("10.0.0.5", remote.engines().get(0).reachableHost());
    assertEquals("10.0.0.5:2375", parse("{\"host\":\"tcp://10.0.0.5\"}").engines().get(0).name());
    // The one-engine constructor gives the same record as the file.
    assertEquals(new DockerConfig(true, "tcp://10.0.0.5:2376", null), remote);
    assertEquals(new DockerConfig(true, DockerConfig.defaultHost(), null),
        ConfigLoader.parse("gw.yml", new JsonObject(), List.of()).docker());
  }

  @Test
  void severalEnginesWithNamesAddressesNetworksAndTls() {
    DockerConfig config = parse("{\"network\":\"shared\",\"engines\":["
        + "\"unix:///var/run/docker.sock\","
        + "{\"name\":\"edge-1\",\"host\":\"tcp://127.0.0.1:2376\",\"tls\":" + tls(ca.cert(), client.cert(), client.key()) + "},"
        + "{\"host\":\"tcp://docker-b.internal:2375\",\"address\":\"10.0.0.7\",\"network\":\"b-net\"},"
        + "{\"name\":\"ci\",\"host\":\"unix:///tmp/ci/docker.sock\",\"address\":\"::1\"}]}");
    assertEquals(new DockerConfig(true, List.of(
        new DockerConfig.Engine("local", "unix:///var/run/docker.sock", null, null, null),
        new DockerConfig.Engine("edge-1", "tcp://127.0.0.1:2376", null, null,
            new DockerConfig.Tls(ca.cert().toString(), client.cert().toString(), client.key().toString())),
        new DockerConfig.Engine("docker-b.internal:2375", "tcp://docker-b.internal:2375", "10.0.0.7", "b-net", null),
        new DockerConfig.Engine("ci", "unix:///tmp/ci/docker.sock", "::1", null, null)), "shared"), config);
    assertEquals(List.of("127.0.0.1", "127.0.0.1", "10.0.0.7", "::1"),
        config.engines().stream().map(DockerConfig.Engine::reachableHost).toList());
    // A CA alone: the engine asks for no client certificate.
    assertEquals(new DockerConfig.Tls(ca.cert().toString(), null, null), parse("{\"engines\":[{\"host\":"
        + "\"tcp://127.0.0.1:2376\",\"tls\":{\"ca_file\":\"" + ca.cert() + "\"}}]}").engines().get(0).tls());
  }

  @Test
  void enginesFromTheEnvironment() {
    assertEquals(List.of("tcp://10.0.0.1:2375", "tcp://10.0.0.2:2375"),
        parse("{\"engines\":[\"unix:///var/run/docker.sock\"]}",
            Map.of("DOCKGATE_DOCKER_ENGINES", "tcp://10.0.0.1:2375, tcp://10.0.0.2:2375"))
            .engines().stream().map(DockerConfig.Engine::host).toList());
  }

  @Test
  void problemsNameFileFieldAndProblem() {
    assertEquals(List.of(
        "gw.yml: docker.host: cannot be combined with docker.engines; list this engine there",
        "gw.yml: docker.engines[4]: expected a mapping or a host string, got 7",
        "gw.yml: docker.engines[0].host: expected unix:///path or tcp://host:port, got \"http://localhost:2375\"",
        "gw.yml: docker.engines[1].host: expected unix:///absolute/path, got \"unix://docker.sock\"",
        "gw.yml: docker.engines[2].host: expected tcp://host:port, got \"tcp://10.0.0.5:2376/v1.41\"",
        "gw.yml: docker.engines[3].name: expected letters, digits, '.', '_', ':' or '-' (at most 63, no '/'), got \"a/b\"",
        "gw.yml: docker.engines[3].address: expected a host name or IP address, got \"10.0.0.5/24\"",
        "gw.yml: docker.engines[3].tls: applies only to a tcp:// engine",
        "gw.yml: docker.engines[3].tls.ca_file: is required",
        "gw.yml: docker.engines[3].port: unknown key (known: address, host, name, network, resync_interval_ms, tls)",
        "gw.yml: docker.engines[5].host: is required"),
        problems("{\"host\":\"unix:///var/run/docker.sock\",\"engines\":[\"http://localhost:2375\",\"unix://docker.sock\","
            + "\"tcp://10.0.0.5:2376/v1.41\","
            + "{\"host\":\"unix:///a.sock\",\"name\":\"a/b\",\"address\":\"10.0.0.5/24\",\"tls\":{},\"port\":1},"
            + "7,{\"name\":\"nameless\"}]}"));
    assertEquals(List.of("gw.yml: docker.engines: must list at least one engine (leave it out to follow docker.host or DOCKER_HOST)"),
        problems("{\"engines\":[]}"));
  }

  /**
   * How often each engine's containers are listed again whatever its event stream says ({@code resync_interval_ms}):
   * a minute unless set, on the block for every engine (and the one {@code docker.host}), on an engine for itself.
   */
  @Test
  void resyncIntervalDefaultsToAMinuteAndIsSetOnTheBlockOrPerEngine() {
    assertEquals(60_000, DockerConfig.Engine.DEFAULT_RESYNC_INTERVAL_MS);
    assertEquals(60_000, parse("{\"host\":\"unix:///run/docker.sock\"}").engines().get(0).resyncIntervalMs());
    assertEquals(5_000, parse("{\"host\":\"unix:///run/docker.sock\",\"resync_interval_ms\":5000}")
        .engines().get(0).resyncIntervalMs());
    DockerConfig several = parse("{\"resync_interval_ms\":\"30000\",\"engines\":[\"unix:///var/run/docker.sock\","
        + "{\"name\":\"edge\",\"host\":\"tcp://10.0.0.5:2376\",\"resync_interval_ms\":1000}]}");
    assertEquals(List.of(30_000L, 1_000L),
        several.engines().stream().map(DockerConfig.Engine::resyncIntervalMs).toList());
    assertEquals(new DockerConfig.Engine("edge", "tcp://10.0.0.5:2376", null, null, null, 1_000),
        several.engines().get(1));
  }

  @Test
  void aResyncIntervalOutOfBoundsOrNotANumberIsRefused() {
    assertEquals(List.of(
        "gw.yml: docker.resync_interval_ms: must be between 1000 and 86400000, got 0",
        "gw.yml: docker.engines[0].resync_interval_ms: must be between 1000 and 86400000, got 999",
        "gw.yml: docker.engines[1].resync_interval_ms: expected a whole number, got \"1m\"",
        "gw.yml: docker.engines[2].resync_interval_ms: must be between 1000 and 86400000, got 86400001"),
        problems("{\"resync_interval_ms\":0,\"engines\":["
            + "{\"name\":\"a\",\"host\":\"unix:///a.sock\",\"resync_interval_ms\":999},"
            + "{\"name\":\"b\",\"host\":\"unix:///b.sock\",\"resync_interval_ms\":\"1m\"},"
            + "{\"name\":\"c\",\"host\":\"unix:///c.sock\",\"resync_interval_ms\":86400001}]}"));
    assertEquals(List.of("gw.yml: docker.resync_interval_ms: must be between 1000 and 86400000, got -5"),
        problems("{\"host\":\"unix:///run/docker.sock\",\"resync_interval_ms\":-5}"));
  }

  @Test
  void twoEnginesMayNotShareANameOrAHost() {
    assertEquals(List.of(
        "gw.yml: docker.engines[1].name: duplicate engine name \"local\" (also docker.engines[0]); set a name of its own on one of them",
        "gw.yml: docker.engines[3].host: engine tcp://10.0.0.5:2376 is already listed as docker.engines[2]"),
        problems("{\"engines\":[\"unix:///var/run/docker.sock\",{\"host\":\"unix:///tmp/b.sock\"},"
            + "{\"name\":\"b\",\"host\":\"tcp://10.0.0.5:2376\"},{\"name\":\"c\",\"host\":\"tcp://10.0.0.5:2376\"}]}"));
  }

  @Test
  void tlsFilesAreCheckedAtLoad() {
    Path missing = dir.resolve("missing.pem");
    assertEquals(List.of(
        "gw.yml: docker.engines[0].tls.ca_file: cannot read \"" + missing + "\": no such file",
        "gw.yml: docker.engines[1].tls.ca_file: no PEM certificate (-----BEGIN CERTIFICATE-----) in \"" + ca.key() + "\"",
        "gw.yml: docker.engines[2].tls.key_file: \"" + ca.key() + "\" is not the private key of the first certificate in cert_file",
        "gw.yml: docker.engines[3].tls.key_file: is required with cert_file (a client certificate and its key go together)",
        "gw.yml: docker.engines[3].tls.ca: unknown key, did you mean \"ca_file\"? (known: ca_file, cert_file, key_file)",
        "gw.yml: docker.engines[4].tls.cert_file: cannot read \"" + dir + "\": Is a directory"),
        problems("{\"engines\":["
            + "{\"host\":\"tcp://127.0.0.1:1\",\"tls\":{\"ca_file\":\"" + missing + "\"}},"
            + "{\"host\":\"tcp://127.0.0.1:2\",\"tls\":{\"ca_file\":\"" + ca.key() + "\"}},"
            + "{\"host\":\"tcp://127.0.0.1:3\",\"tls\":" + tls(ca.cert(), client.cert(), ca.key()) + "},"
            + "{\"host\":\"tcp://127.0.0.1:4\",\"tls\":{\"ca_file\":\"" + ca.cert() + "\",\"cert_file\":\"" + client.cert()
            + "\",\"ca\":\"x\"}},"
            + "{\"host\":\"tcp://127.0.0.1:5\",\"tls\":" + tls(ca.cert(), dir, client.key()) + "}]}"));
  }
}
