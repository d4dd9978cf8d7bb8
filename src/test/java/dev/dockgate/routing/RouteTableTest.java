package dev.dockgate.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Longest plain-string-prefix matching, checked against every insertion order of the routes. */
class RouteTableTest {

  /** Prefix to the name of its target; the target is the prefix's own name so a match is readable. */
  static final List<String> API_PREFIXES = List.of(
      "/api", "/api/payment", "/api/orders", "/api/orders/v2");

  static final List<String> WITH_CATCH_ALL = concat(List.of("/"), API_PREFIXES);

  static Stream<Arguments> withoutCatchAll() {
    return Stream.of(
        Arguments.of("/api/payment", "/api/payment"),           // path equals the prefix
        Arguments.of("/api/payment/charge", "/api/payment"),
        Arguments.of("/api/paymentX", "/api/payment"),          // plain string prefix, not a path segment
        Arguments.of("/api/payment?x=1", "/api/payment"),
        Arguments.of("/api/orders/v2/items", "/api/orders/v2"), // longest of three candidates
        Arguments.of("/api/orders/v1", "/api/orders"),
        Arguments.of("/api/orders/v", "/api/orders"),
        Arguments.of("/api/ord", "/api"),
        Arguments.of("/api", "/api"),
        Arguments.of("/apix", "/api"),
        Arguments.of("/ap", null),
        Arguments.of("/other", null),
        Arguments.of("/", null),
        Arguments.of("", null),
        Arguments.of("api/payment", null),                      // no leading slash
        Arguments.of("/API/payment", null),                     // case-sensitive
        Arguments.of(null, null));
  }

  static Stream<Arguments> withCatchAll() {
    return Stream.of(
        Arguments.of("/api/paymentX", "/api/payment"),
        Arguments.of("/api/orders/v2", "/api/orders/v2"),
        Arguments.of("/api/ord", "/api"),
        Arguments.of("/ap", "/"),
        Arguments.of("/other/deep/path", "/"),
        Arguments.of("/", "/"),
        Arguments.of("", null),
        Arguments.of("api", null),
        Arguments.of(null, null));
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @MethodSource("withoutCatchAll")
  void matchesWithoutCatchAll(String path, String expected) {
    for (List<String> order : permutations(API_PREFIXES)) {
      assertEquals(expected, table(order).match(path), "insertion order " + order);
    }
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @MethodSource("withCatchAll")
  void matchesWithCatchAll(String path, String expected) {
    for (List<String> order : permutations(WITH_CATCH_ALL)) {
      assertEquals(expected, table(order).match(path), "insertion order " + order);
    }
  }

  @Test
  void emptyTableMatchesNothing() {
    RouteTable<String> empty = new RouteTable<>(Map.of());
    assertEquals(0, empty.size());
    assertNull(empty.match("/"));
    assertNull(empty.match(null));
  }

  @Test
  void sizeCountsRoutes() {
    assertEquals(5, table(WITH_CATCH_ALL).size());
  }

  @Test
  void targetsAreTheGivenObjects() {
    Object payment = new Object();
    Map<String, Object> routes = new LinkedHashMap<>();
    routes.put("/api/payment", payment);
    assertEquals(payment, new RouteTable<>(routes).match("/api/payment/1"));
  }

  // ---------------------------------------------------------------- fixtures

  /** A table whose target for each prefix is the prefix itself, inserted in the given order. */
  static RouteTable<String> table(List<String> prefixes) {
    Map<String, String> routes = new LinkedHashMap<>();
    prefixes.forEach(p -> routes.put(p, p));
    return new RouteTable<>(routes);
  }

  static List<List<String>> permutations(List<String> items) {
    if (items.isEmpty()) {
      return List.of(List.of());
    }
    List<List<String>> result = new ArrayList<>();
    for (int i = 0; i < items.size(); i++) {
      List<String> rest = new ArrayList<>(items);
      String head = rest.remove(i);
      for (List<String> tail : permutations(rest)) {
        result.add(concat(List.of(head), tail));
      }
    }
    return result;
  }

  static List<String> concat(List<String> a, List<String> b) {
    List<String> all = new ArrayList<>(a);
    all.addAll(b);
    return List.copyOf(all);
  }

  // ---------------------------------------------------------------- host and method restrictions

  static RouteTable<String> hostAndMethodTable() {
    return new RouteTable<>(List.of(
        new RouteTable.Entry<>("/api", null, java.util.Set.of(), "any-host"),
        new RouteTable.Entry<>("/api", "admin.example.com", java.util.Set.of(), "admin-host"),
        new RouteTable.Entry<>("/api/items", null, java.util.Set.of("GET", "HEAD"), "items-read"),
        new RouteTable.Entry<>("/api/items", null, java.util.Set.of("POST"), "items-write"),
        new RouteTable.Entry<>("/only-get", null, java.util.Set.of("GET"), "only-get")));
  }

  static Stream<Arguments> hostAndMethodCases() {
    return Stream.of(
        Arguments.of("example.com", "GET", "/api/x", "any-host"),
        Arguments.of("admin.example.com", "GET", "/api/x", "admin-host"),
        Arguments.of("ADMIN.example.com", "GET", "/api/x", "admin-host"),
        Arguments.of("admin.example.com.", "GET", "/api/x", "admin-host"),
        Arguments.of("admin.example.com..", "GET", "/api/x", "admin-host"),
        Arguments.of(".", "GET", "/api/x", "any-host"),
        Arguments.of(null, "GET", "/api/x", "any-host"),
        Arguments.of("example.com", "GET", "/api/items/1", "items-read"),
        Arguments.of("example.com", "HEAD", "/api/items/1", "items-read"),
        Arguments.of("example.com", "POST", "/api/items", "items-write"),
        // a method no longer-prefix route accepts falls back to the shorter prefix
        Arguments.of("example.com", "DELETE", "/api/items/1", "any-host"),
        Arguments.of("admin.example.com", "DELETE", "/api/items/1", "admin-host"),
        Arguments.of("example.com", "POST", "/only-get", null),
        Arguments.of("example.com", "GET", "/elsewhere", null));
  }

  @ParameterizedTest(name = "{0} {1} {2} -> {3}")
  @MethodSource("hostAndMethodCases")
  void matchesHostMethodAndPath(String host, String method, String path, String expected) {
    assertEquals(expected, hostAndMethodTable().match(host, method, path));
  }

  @Test
  void allowedMethodsTellA405FromNoRoute() {
    RouteTable<String> table = hostAndMethodTable();
    assertEquals(java.util.Set.of("GET"), table.allowedMethods("x", "/only-get/1"));
    assertEquals(java.util.Set.of(), table.allowedMethods("x", "/elsewhere"));
  }

  @Test
  void traceReachesOnlyARouteThatListsIt() {
    RouteTable<String> table = new RouteTable<>(List.of(
        new RouteTable.Entry<>("/", null, java.util.Set.of(), "any"),
        new RouteTable.Entry<>("/debug", null, java.util.Set.of("TRACE", "GET"), "debug")));
    assertNull(table.match("x", "TRACE", "/api"));
    assertNull(table.match("x", "trace", "/api"));
    assertEquals("any", table.match("x", "PROPFIND", "/api"));
    assertEquals("debug", table.match("x", "TRACE", "/debug/x"));
    assertNull(table.match("x", "CONNECT", "/api"));
    assertNull(table.match("x", "connect", "/api"));
    assertEquals(java.util.Set.of("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"),
        table.allowedMethods("x", "/api"));
  }

  /** The rule the trie must follow, as a plain scan: longest prefix, then host-specific, then method-specific. */
  static String reference(List<RouteTable.Entry<String>> routes, String host, String method, String path) {
    return routes.stream()
        .filter(e -> path.startsWith(e.prefix()) && (e.host() == null || e.host().equalsIgnoreCase(host))
            && (e.methods().isEmpty() ? !method.equalsIgnoreCase("TRACE") && !method.equalsIgnoreCase("CONNECT")
                : e.methods().contains(method)))
        .sorted(java.util.Comparator.comparingInt((RouteTable.Entry<String> e) -> e.prefix().length()).reversed()
            .thenComparing(e -> e.host() == null)
            .thenComparing(e -> e.methods().isEmpty())
            .thenComparing(RouteTable.Entry::prefix))
        .map(RouteTable.Entry::target).findFirst().orElse(null);
  }

  @Test
  void aThousandMixedRoutesMatchAsThePlainRuleSays() {
    java.util.Random random = new java.util.Random(42);
    String[] segments = {"api", "v1", "v2", "orders", "o", "users", "u", "x", "pay", "p"};
    String[] hosts = {null, null, null, "a.example", "b.example"};
    String[] methods = {"GET", "POST", "PUT"};
    List<RouteTable.Entry<String>> routes = new java.util.ArrayList<>();
    java.util.Set<String> seen = new java.util.HashSet<>();
    while (routes.size() < 1000) {
      StringBuilder prefix = new StringBuilder();
      for (int d = random.nextInt(4); d >= 0; d--) {
        prefix.append('/').append(segments[random.nextInt(segments.length)]);
        if (random.nextInt(5) == 0) {
          prefix.append(random.nextInt(10));
        }
      }
      String host = hosts[random.nextInt(hosts.length)];
      java.util.Set<String> m = random.nextInt(3) == 0 ? java.util.Set.of(methods[random.nextInt(3)]) : java.util.Set.of();
      if (seen.add(prefix + " " + host + " " + m)) {
        routes.add(new RouteTable.Entry<>(prefix.toString(), host, m, "r" + routes.size()));
      }
    }
    RouteTable<String> table = new RouteTable<>(routes);
    for (int i = 0; i < 20_000; i++) {
      StringBuilder path = new StringBuilder();
      for (int d = random.nextInt(6); d >= 0; d--) {
        path.append('/').append(segments[random.nextInt(segments.length)]);
        if (random.nextInt(4) == 0) {
          path.append(random.nextInt(10));
        }
      }
      String host = hosts[random.nextInt(hosts.length)];
      String method = methods[random.nextInt(3)];
      assertEquals(reference(routes, host, method, path.toString()), table.match(host, method, path.toString()),
          host + " " + method + " " + path);
    }
  }
}
