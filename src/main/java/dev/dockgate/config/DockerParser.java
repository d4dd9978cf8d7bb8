package dev.dockgate.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Reads the {@code docker} block: one engine ({@code host}, else DOCKER_HOST, else the local socket)
 * or a list of {@code engines}, each a {@code unix://} or {@code tcp://} URL or a mapping with its
 * name, address, network, resync interval and TLS files (read and checked here, so the loader runs off the
 * event loop); the block's {@code resync_interval_ms} is every engine's unless it sets its own.
 */
final class DockerParser {

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:-]{0,62}");

  private DockerParser() {
  }

  static DockerConfig parse(Fields f) {
    boolean enabled = f.bool("enabled", true);
    String network = f.string("network", null);
    long resyncMs = resyncInterval(f, DockerConfig.Engine.DEFAULT_RESYNC_INTERVAL_MS);
    List<DockerConfig.Engine> engines;
    if (f.has("engines")) {
      if (f.has("host")) {
        f.problem(f.at("host"), "cannot be combined with docker.engines; list this engine there");
      }
      engines = engines(f, resyncMs);
    } else {
      String host = f.string("host", DockerConfig.defaultHost());
      String problem = host == null ? null : hostProblem(host);
      if (problem != null) {
        f.problem(f.at("host"), problem + ", got \"" + host + "\"");
      }
      engines = host == null || problem != null ? List.of()
          : List.of(new DockerConfig.Engine(DockerConfig.defaultName(host), host, null, null, null, resyncMs));
    }
    f.rejectUnknown();
    return new DockerConfig(enabled, engines, network);
  }

  /** How often an engine's containers are listed again ({@code resync_interval_ms}), {@code fallback} unless set. */
  private static long resyncInterval(Fields f, long fallback) {
    return f.number("resync_interval_ms", fallback, DockerConfig.Engine.MIN_RESYNC_INTERVAL_MS,
        DockerConfig.Engine.MAX_RESYNC_INTERVAL_MS);
  }

  private static List<DockerConfig.Engine> engines(Fields f, long resyncMs) {
    List<Fields> items = f.objects("engines", "host");
    if (items.isEmpty() && f.list("engines").isEmpty()) {
      f.problem(f.at("engines"), "must list at least one engine (leave it out to follow docker.host or DOCKER_HOST)");
    }
    List<DockerConfig.Engine> result = new ArrayList<>();
    Map<String, String> names = new HashMap<>();
    Map<String, String> hosts = new HashMap<>();
    for (Fields item : items) {
      DockerConfig.Engine engine = engine(item, resyncMs);
      if (engine == null) {
        continue;
      }
      String sameName = names.putIfAbsent(engine.name(), item.path());
      if (sameName != null) {
        item.problem(item.at("name"), "duplicate engine name \"" + engine.name() + "\" (also " + sameName
            + "); set a name of its own on one of them");
      }
      String sameHost = hosts.putIfAbsent(engine.host(), item.path());
      if (sameHost != null) {
        item.problem(item.at("host"), "engine " + engine.host() + " is already listed as " + sameHost);
      }
      result.add(engine);
    }
    return result;
  }

  /** One engine, or null when its host is unusable (reported); listed again every {@code resyncMs} unless it says. */
  private static DockerConfig.Engine engine(Fields f, long resyncMs) {
    String host = f.requiredString("host");
    String problem = host == null ? null : hostProblem(host);
    if (problem != null) {
      f.problem(f.at("host"), problem + ", got \"" + host + "\"");
    }
    String name = f.string("name", null);
    if (name != null && !NAME.matcher(name).matches()) {
      f.problem(f.at("name"), "expected letters, digits, '.', '_', ':' or '-' (at most 63, no '/'), got \"" + name + "\"");
    }
    String address = f.string("address", null);
    if (address != null && (address.isBlank() || address.contains("/") || address.contains(" "))) {
      f.problem(f.at("address"), "expected a host name or IP address, got \"" + address + "\"");
    }
    String network = f.string("network", null);
    long engineResyncMs = resyncInterval(f, resyncMs);
    DockerConfig.Tls tls = null;
    if (f.has("tls")) {
      if (host != null && host.startsWith("unix://")) {
        f.problem(f.at("tls"), "applies only to a tcp:// engine");
      }
      tls = tls(f.object("tls"));
    }
    f.rejectUnknown();
    if (host == null || problem != null) {
      return null;
    }
    return new DockerConfig.Engine(name == null ? DockerConfig.defaultName(host) : name, host, address, network, tls,
        engineResyncMs);
  }

  /**
   * A {@code tls} block (a tcp engine's, or the Consul agent's): the CA is required, a TLS peer is verified, never
   * trusted blindly. Files are read and checked here.
   */
  static DockerConfig.Tls tls(Fields f) {
    String ca = f.requiredString("ca_file");
    String cert = f.string("cert_file", null);
    String key = f.string("key_file", null);
    ca = ca == null ? null : f.resolve(ca).toString();
    cert = cert == null ? null : f.resolve(cert).toString();
    key = key == null ? null : f.resolve(key).toString();
    TlsFiles.checkClient(f, ca, cert, key);
    return new DockerConfig.Tls(ca, cert, key);
  }

  /** What is wrong with an engine URL, or null: {@code unix:///path} or {@code tcp://host:port}. */
  static String hostProblem(String host) {
    if (host.startsWith("unix://")) {
      return host.length() > "unix://".length() && host.charAt("unix://".length()) == '/' ? null
          : "expected unix:///absolute/path";
    }
    if (!host.startsWith("tcp://")) {
      return "expected unix:///path or tcp://host:port";
    }
    try {
      URI uri = new URI(host);
      String path = uri.getRawPath();
      if (uri.getHost() == null || uri.getPort() > 65535 || uri.getRawQuery() != null || uri.getRawUserInfo() != null
          || (path != null && !path.isEmpty() && !path.equals("/"))) {
        return "expected tcp://host:port";
      }
      return null;
    } catch (URISyntaxException e) {
      return "expected tcp://host:port";
    }
  }
}
