package dev.dockgate.routing;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Longest-prefix route matching on plain string prefixes, optionally restricted to a host and to
 * some methods. The prefixes form a character trie built once at construction, so a match walks
 * the path's characters once, however many routes there are, with no allocation: the deepest node
 * whose routes accept the host and method wins (at one node, host-specific routes before any-host
 * ones, method-specific before any-method ones). Immutable.
 */
public final class RouteTable<T> {

  /**
   * The Allow header's methods for a route that lists none: the standard methods it takes (it takes extension methods,
   * PROPFIND and the like, too; an Allow field advertises methods and cannot name every one).
   */
  static final Set<String> ANY_BUT_TRACE = Set.of("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT");

  /** One route: {@code host} null means any host, empty {@code methods} any method but TRACE and CONNECT. */
  public record Entry<T>(String prefix, String host, Set<String> methods, T target) {
    public Entry {
      methods = Set.copyOf(methods);
      host = canonicalHost(host);
    }

    /**
     * Whether the route takes requests of this method: those its {@code methods} lists, else any but TRACE, which a
     * route takes only when it lists it (a backend echoing a TRACE would show the headers the gateway adds; nginx
     * refuses it too), in any case: methods are case-sensitive, but some backends take {@code trace} as TRACE.
     * CONNECT in no case and on no route (the config refuses to list it): the gateway opens no tunnels, and a backend
     * answering one 2xx would take its pooled connection for a tunnel, another client's request sent down it next.
     */
    boolean accepts(String method) {
      return methods.isEmpty() ? !"TRACE".equalsIgnoreCase(method) && !"CONNECT".equalsIgnoreCase(method)
          : methods.contains(method);
    }

    boolean matches(String requestHost, String path) {
      return path.startsWith(prefix) && (host == null || host.equalsIgnoreCase(requestHost));
    }
  }

  private final List<Entry<T>> entries;
  private final Node<T> root = new Node<>();

  /** A trie node: the routes whose prefix ends here, and the next characters. */
  private static final class Node<T> {
    private char[] keys = new char[0];
    private Object[] children = new Object[0];
    private Object[] routes = new Object[0];

    @SuppressWarnings("unchecked")
    Node<T> child(char c) {
      char[] k = keys;
      for (int i = 0; i < k.length; i++) {
        if (k[i] == c) {
          return (Node<T>) children[i];
        }
      }
      return null;
    }

    Node<T> childOrNew(char c) {
      Node<T> existing = child(c);
      if (existing != null) {
        return existing;
      }
      Node<T> made = new Node<>();
      keys = java.util.Arrays.copyOf(keys, keys.length + 1);
      keys[keys.length - 1] = c;
      children = java.util.Arrays.copyOf(children, children.length + 1);
      children[children.length - 1] = made;
      return made;
    }
  }

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
    for (Entry<T> e : entries) { // in the sorted order, so each node's routes keep it
      Node<T> node = root;
      for (int i = 0; i < e.prefix().length(); i++) {
        node = node.childOrNew(e.prefix().charAt(i));
      }
      node.routes = java.util.Arrays.copyOf(node.routes, node.routes.length + 1);
      node.routes[node.routes.length - 1] = e;
    }
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
    return deepest(root, 0, canonicalHost(host), method, path);
  }

  /**
   * A host as routes compare it (case aside): without the trailing dot(s) of DNS's absolute form, as
   * {@code admin.example.} names the same host as {@code admin.example} (nginx drops the dot too), so
   * the dot cannot step past a host's route to an any-host one.
   */
  static String canonicalHost(String host) {
    int n = host == null ? 0 : host.length();
    int end = n;
    while (end > 1 && host.charAt(end - 1) == '.') {
      end--;
    }
    return end == n ? host : host.substring(0, end);
  }

  /** The routes of the deepest node on {@code path}'s walk from {@code node} (at {@code depth}) that accept host and method. */
  @SuppressWarnings("unchecked")
  private T deepest(Node<T> node, int depth, String host, String method, String path) {
    if (depth < path.length()) {
      Node<T> next = node.child(path.charAt(depth));
      if (next != null) {
        T deeper = deepest(next, depth + 1, host, method, path);
        if (deeper != null) {
          return deeper;
        }
      }
    }
    Object[] routes = node.routes;
    for (int i = 0; i < routes.length; i++) {
      Entry<T> e = (Entry<T>) routes[i];
      if ((e.host() == null || e.host().equalsIgnoreCase(host)) && e.accepts(method)) {
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
      String canonical = canonicalHost(host);
      for (Entry<T> e : entries) {
        if (e.matches(canonical, path)) {
          allowed.addAll(e.methods().isEmpty() ? ANY_BUT_TRACE : e.methods());
        }
      }
    }
    return allowed;
  }

  public int size() {
    return entries.size();
  }
}
