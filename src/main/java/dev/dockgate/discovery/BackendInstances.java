package dev.dockgate.discovery;

import dev.dockgate.config.BackendConfig;
import dev.dockgate.config.Target;
import dev.dockgate.events.LocalCodec;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.json.JsonObject;
import io.vertx.servicediscovery.Record;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Which instances serve which backend: its fixed targets, then the discovered instances it selects
 * (containers by its label selector, Consul instances by its service query, the addresses of its {@code dns_targets} names), all together. An immutable snapshot, numbered: {@link InstanceCatalog} makes one per change and
 * hands it to the routers, the health checker and metrics, which replace theirs whole. The resolver
 * ({@link #resolve}) is pure.
 */
public final class BackendInstances {

  /** A discovered instance (a container, a Consul service instance), the labels backends select it by, and its health. */
  public record Discovered(Instance instance, Map<String, String> labels, String health) {
    public Discovered {
      labels = Map.copyOf(labels);
    }
  }

  public static final BackendInstances EMPTY = resolve(0, List.of(), List.of());

  private final long version;
  private final List<Discovered> discovered;
  private final List<BackendConfig> backends;
  private final Map<String, List<Instance>> byBackend;

  private BackendInstances(long version, List<Discovered> discovered, List<BackendConfig> backends,
      Map<String, List<Instance>> byBackend) {
    this.version = version;
    this.discovered = discovered;
    this.backends = backends;
    this.byBackend = byBackend;
  }

  /** Sends snapshots over the local event bus as they are; registers once per Vert.x instance. */
  public static void registerCodec(EventBus eventBus) {
    try {
      eventBus.registerDefaultCodec(BackendInstances.class, new LocalCodec<>(BackendInstances.class));
    } catch (IllegalStateException alreadyRegistered) {
      // another verticle of this Vert.x instance registered it first
    }
  }

  /** Each backend's instances: its targets and the {@code discovered} ones it selects, by id. */
  public static BackendInstances resolve(long version, List<Discovered> discovered, List<BackendConfig> backends) {
    Map<String, List<Instance>> result = new HashMap<>();
    for (BackendConfig backend : backends) {
      List<Instance> matching = new ArrayList<>();
      for (Target target : backend.targets()) {
        String address = Instance.uriHost(target.host()) + ":" + target.port(); // [::1]:8080, not ::1:8080
        matching.add(new Instance("static:" + address, address, target.host(), target.port(), target.tls()));
      }
      for (Discovered d : discovered) {
        if (selects(backend, d)) {
          matching.add(d.instance());
        }
      }
      matching.sort(Comparator.comparing(Instance::id));
      result.put(backend.name(), List.copyOf(matching));
    }
    return new BackendInstances(version, List.copyOf(discovered), List.copyOf(backends), Map.copyOf(result));
  }

  /** Whether {@code backend} selects {@code d} (by labels, or by Consul query: {@link SourceRecords#selects}). */
  public static boolean selects(BackendConfig backend, Discovered d) {
    return SourceRecords.selects(backend, d);
  }

  /**
   * The sources' records (Docker's, Consul's, the addresses of {@code dns_targets} names) as discovered instances:
   * metadata as labels; health from Docker's HEALTHCHECK, while a Consul instance is healthy (only passing ones are
   * published), as is an address a name resolves to.
   */
  public static List<Discovered> discovered(List<Record> records) {
    List<Discovered> result = new ArrayList<>(records.size());
    for (Record record : records) {
      JsonObject meta = record.getMetadata();
      if (!SourceRecords.known(meta.getString(SourceRecords.SOURCE_KEY))) {
        continue;
      }
      JsonObject location = record.getLocation();
      Map<String, String> labels = new HashMap<>();
      meta.forEach(e -> labels.put(e.getKey(), String.valueOf(e.getValue())));
      Instance instance = new Instance(meta.getString(SourceRecords.ID_KEY, ContainerRecords.instanceId(meta)),
          record.getName(), location.getString("host"), location.getInteger("port"),
          "https".equalsIgnoreCase(meta.getString(Instance.SCHEME_LABEL)), meta.getString(SourceRecords.DNS_NAME_KEY));
      String health = ContainerRecords.fromDocker(record)
          ? meta.getString(ContainerRecords.HEALTH_KEY, ContainerInfo.NO_HEALTHCHECK) : ContainerInfo.HEALTHY;
      result.add(new Discovered(instance, labels, health));
    }
    return result;
  }

  /** Every Docker record's instance, ready or not: for tests and tools. */
  public static BackendInstances from(List<Record> records, List<BackendConfig> backends) {
    return resolve(0, discovered(records), backends);
  }

  /**
   * This snapshot for {@code backends}: itself when it was resolved for them, else resolved again from
   * the same discovered instances (a reload reached a consumer before the catalog's next snapshot).
   */
  public BackendInstances forBackends(List<BackendConfig> backends) {
    return backends.equals(this.backends) ? this : resolve(version, discovered, backends);
  }

  /** Whether {@code other} holds the same ready instances, resolved for the same backends. */
  boolean sameAs(BackendInstances other) {
    return backends.equals(other.backends) && discovered.equals(other.discovered) && byBackend.equals(other.byBackend);
  }

  /** Grows with each snapshot the catalog publishes: a consumer keeps the highest it has seen. */
  public long version() {
    return version;
  }

  public List<Instance> of(String backend) {
    return byBackend.getOrDefault(backend, List.of());
  }
}
