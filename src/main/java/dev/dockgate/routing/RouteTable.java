package dev.dockgate.routing;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Longest-prefix route matching on plain string prefixes. Sorted once at construction, so a match
 * is a scan of {@code startsWith} calls with no allocation. Immutable, safe to share.
 */
public final class RouteTable<T> {

  private final String[] prefixes;
  private final Object[] targets;

  public RouteTable(Map<String, T> routes) {
    List<Map.Entry<String, T>> entries = new ArrayList<>(routes.entrySet());
    entries.sort(Comparator.comparingInt((Map.Entry<String, T> e) -> e.getKey().length()).reversed()
        .thenComparing(Map.Entry::getKey));
    prefixes = new String[entries.size()];
    targets = new Object[entries.size()];
    for (int i = 0; i < entries.size(); i++) {
      prefixes[i] = entries.get(i).getKey();
      targets[i] = entries.get(i).getValue();
    }
  }

  /** The target of the longest prefix of {@code path}, or null when none matches. */
  @SuppressWarnings("unchecked")
  public T match(String path) {
    if (path == null) {
      return null;
    }
    for (int i = 0; i < prefixes.length; i++) {
      if (path.startsWith(prefixes[i])) {
        return (T) targets[i];
      }
    }
    return null;
  }

  public int size() {
    return prefixes.length;
  }
}
