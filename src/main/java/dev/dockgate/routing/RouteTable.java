package dev.dockgate.routing;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Longest-prefix route matching on plain string prefixes, optionally restricted to a host and to
 * some methods. Sorted once at construction (longer prefix first, then host-specific before any
 * host), so a match is a scan of {@code startsWith} calls with no allocation. Immutable.
 */
public final class RouteTable<T> {

  /** One route: {@code host} null means any host, empty {@code methods} any method. */
  public record Entry<T>(String prefix, String host, Set<String> methods, T target) {
    public Entry {
      methods = Set.copyOf(methods);
    }

    boolean matches(String requestHost, String path) {
      return path.startsWith(prefix) && (host == null || host.equalsIgnoreCase(requestHost));
    }
  }

  private final List<Entry<T>> entries;

  /** Prefix-only routes, as rgate had them. */
  public RouteTable(Map<String, T> routes) {
    this(routes.entrySet().stream().map(e -> new Entry<>(e.getKey(), null, Set.<String>of(), e.getValue())).toList());
  }

  public RouteTable(List<Entry<T>> routes) {
    List<Entry<T>> sorted = new ArrayList<>(routes);
    sorted.sort(Comparator.comparingInt((Entry<T> e) -> e.prefix().length()).reversed()
        .thenComparing(e -> e.host() == null)
        .thenComparing(e -> e.methods().isEmpty())
        .thenComparing(Entry::prefix));
    entries = List.copyOf(sorted);
  }

  /** The target of the longest prefix of {@code path}, whatever the host and method. */
  public T match(String path) {
    if (path == null) {
      return null;
    }
    for (Entry<T> e : entries) {
      if (path.startsWith(e.prefix())) {
        return e.target();
      }
    }
    return null;
  }

  /** The target of the first route matching host, method and path, or null. */
  public T match(String host, String method, String path) {
    if (path == null) {
      return null;
    }
    for (int i = 0, n = entries.size(); i < n; i++) {
      Entry<T> e = entries.get(i);
      if (e.matches(host, path) && (e.methods().isEmpty() || e.methods().contains(method))) {
        return e.target();
      }
    }
    return null;
  }

  /**
   * For a request no route accepted: the methods routes matching its host and path would accept
   * (the Allow header of a 405), or an empty set when no route matches them at all.
   */
  public Set<String> allowedMethods(String host, String path) {
    Set<String> allowed = new TreeSet<>();
    if (path != null) {
      for (Entry<T> e : entries) {
        if (e.matches(host, path)) {
          allowed.addAll(e.methods());
        }
      }
    }
    return allowed;
  }

  public int size() {
    return entries.size();
  }
}
