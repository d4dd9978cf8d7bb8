package dev.dockgate.discovery;

import dev.dockgate.config.BackendConfig;
import dev.dockgate.config.Target;
import io.vertx.core.json.JsonObject;
import io.vertx.servicediscovery.Record;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Which instances serve which backend: its fixed targets, then the discovered containers its label
 * selector matches. An immutable snapshot: a new one replaces the old one whole.
 */
public final class BackendInstances {

  private final Map<String, List<Instance>> byBackend;

  private BackendInstances(Map<String, List<Instance>> byBackend) {
    this.byBackend = byBackend;
  }

  public static BackendInstances from(List<Record> records, List<BackendConfig> backends) {
    Map<String, List<Instance>> result = new HashMap<>();
    for (BackendConfig backend : backends) {
      List<Instance> matching = new ArrayList<>();
      for (Target target : backend.targets()) {
        String address = target.host() + ":" + target.port();
        matching.add(new Instance("static:" + address, address, target.host(), target.port(), target.tls()));
      }
      for (Record record : records) {
        JsonObject meta = record.getMetadata();
        // An empty selector would match every container: such a backend has fixed targets only.
        if (!backend.matchLabels().isEmpty() && ContainerRecords.fromDocker(record)
            && backend.matchLabels().matches(labels(meta))) {
          JsonObject location = record.getLocation();
          matching.add(new Instance(meta.getString(ContainerRecords.ID_KEY), record.getName(),
              location.getString("host"), location.getInteger("port"),
              "https".equalsIgnoreCase(meta.getString(Instance.SCHEME_LABEL))));
        }
      }
      matching.sort(Comparator.comparing(Instance::id));
      result.put(backend.name(), List.copyOf(matching));
    }
    return new BackendInstances(Map.copyOf(result));
  }

  public List<Instance> of(String backend) {
    return byBackend.getOrDefault(backend, List.of());
  }

  private static Map<String, String> labels(JsonObject metadata) {
    Map<String, String> labels = new HashMap<>();
    metadata.forEach(e -> labels.put(e.getKey(), String.valueOf(e.getValue())));
    return labels;
  }
}
