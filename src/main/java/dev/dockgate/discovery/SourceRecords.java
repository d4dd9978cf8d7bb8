package dev.dockgate.discovery;

import dev.dockgate.config.BackendConfig;
import dev.dockgate.discovery.BackendInstances.Discovered;

/**
 * The record contract shared by every discovery source: {@code gateway.source} (docker, consul, dns) and
 * {@code gateway.id}, the instance's id across sources; plus how each source's instances are selected
 * by a backend: Docker's by {@code match_labels}, Consul's by the query ({@code consul.query}) that found them,
 * a name's addresses by the {@code dns_targets} entry ({@code dns.target}) they were found for.
 */
public final class SourceRecords {

  public static final String SOURCE_KEY = ContainerRecords.SOURCE_KEY;
  public static final String ID_KEY = "gateway.id";
  public static final String SOURCE_CONSUL = "consul";
  /** Metadata key of a Consul instance: the key of the query ({@link dev.dockgate.config.ConsulService#key}) that found it. */
  public static final String CONSUL_QUERY_KEY = "consul.query";
  public static final String SOURCE_DNS = "dns";
  /** Metadata key of a {@code dns_targets} address: the target ({@link dev.dockgate.config.Target#toString}) it was found for. */
  public static final String DNS_TARGET_KEY = "dns.target";
  /** Metadata key of a {@code dns_targets} address: the name it was found under (Host, SNI, the certificate's name). */
  public static final String DNS_NAME_KEY = "dns.name";

  private SourceRecords() {
  }

  /** Whether {@code source} is one whose records become instances. */
  static boolean known(String source) {
    return ContainerRecords.SOURCE_DOCKER.equals(source) || SOURCE_CONSUL.equals(source) || SOURCE_DNS.equals(source);
  }

  /** Whether {@code backend} selects {@code d}: an empty label selector would match every container, so it selects none. */
  static boolean selects(BackendConfig backend, Discovered d) {
    String source = d.labels().get(SOURCE_KEY);
    if (SOURCE_CONSUL.equals(source)) {
      return backend.consul() != null && backend.consul().key().equals(d.labels().get(CONSUL_QUERY_KEY));
    }
    if (SOURCE_DNS.equals(source)) {
      String target = d.labels().get(DNS_TARGET_KEY);
      return backend.dnsTargets().stream().anyMatch(t -> t.toString().equals(target));
    }
    return !backend.matchLabels().isEmpty() && backend.matchLabels().matches(d.labels());
  }
}
