package dev.dockgate.config;

import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/** The labels a container must all carry (same key, same value) to serve a backend. Immutable. */
public record LabelSelector(Map<String, String> required) {

  public LabelSelector {
    required = Map.copyOf(required);
  }

  public boolean matches(Map<String, String> labels) {
    for (Map.Entry<String, String> e : required.entrySet()) {
      if (!e.getValue().equals(labels.get(e.getKey()))) {
        return false;
      }
    }
    return true;
  }

  public boolean isEmpty() {
    return required.isEmpty();
  }

  @Override
  public String toString() {
    return new TreeMap<>(required).entrySet().stream()
        .map(e -> e.getKey() + "=" + e.getValue())
        .collect(Collectors.joining(", ", "[", "]"));
  }
}
