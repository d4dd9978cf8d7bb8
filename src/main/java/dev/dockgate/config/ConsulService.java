package dev.dockgate.config;

import java.util.List;
import java.util.TreeSet;

/**
 * A backend's Consul selection: the passing instances of {@code service} carrying every tag of
 * {@code tags}. Two backends asking the same (tags in any order) share one query.
 */
public record ConsulService(String service, List<String> tags) {

  public ConsulService {
    tags = List.copyOf(new TreeSet<>(tags));
  }

  /** Names the query: the service and its sorted tags. */
  public String key() {
    return tags.isEmpty() ? service : service + "+" + String.join("+", tags);
  }
}
