package dev.dockgate.cors;

import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpMethod;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The CORS protocol of one route (Fetch standard): the gateway answers preflights itself and adds
 * the Access-Control-* headers to other answers for allowed origins. Built once per config from
 * {@link CorsConfig}, nothing computed per request but the checks; immutable, safe from any thread.
 */
public final class Cors {

  /** The answer to a preflight: 204 with the CORS headers, or 403 (with {@code refusal}) and none of them. */
  public record Preflight(int status, MultiMap headers, String refusal) {
    public boolean allowed() {
      return status == 204;
    }
  }

  /** Methods a browser sends cross-origin without asking: allowed whatever the list says. */
  private static final Set<String> SAFELISTED_METHODS = Set.of("GET", "HEAD", "POST");
  private static final String PREFLIGHT_VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

  private final boolean anyOrigin;
  private final Set<String> origins = new HashSet<>();
  /** Subdomain patterns as {scheme://, .domain[:port]}. */
  private final List<String[]> patterns = new ArrayList<>();
  private final Set<String> methods;
  private final String allowMethods;
  private final boolean anyHeader;
  private final Set<String> headers;
  private final String allowHeaders;
  private final String exposeHeaders;
  private final boolean credentials;
  private final String maxAge;

  public Cors(CorsConfig config) {
    anyOrigin = config.allowOrigins().contains("*");
    for (String origin : config.allowOrigins()) {
      int wildcard = origin.indexOf("://*.");
      if (wildcard > 0) {
        patterns.add(new String[] {origin.substring(0, wildcard + 3), origin.substring(wildcard + 4)});
      } else {
        origins.add(origin);
      }
    }
    methods = Set.copyOf(config.allowMethods());
    allowMethods = String.join(", ", config.allowMethods());
    anyHeader = config.allowHeaders().contains("*");
    headers = Set.copyOf(config.allowHeaders());
    allowHeaders = anyHeader || headers.isEmpty() ? null : String.join(", ", config.allowHeaders());
    exposeHeaders = config.exposeHeaders().isEmpty() ? null : String.join(", ", config.exposeHeaders());
    credentials = config.allowCredentials();
    maxAge = config.maxAgeSeconds() == null ? null : config.maxAgeSeconds().toString();
  }

  /** OPTIONS with Origin and Access-Control-Request-Method: a browser asking before the real request. */
  public static boolean isPreflight(HttpMethod method, MultiMap requestHeaders) {
    return method == HttpMethod.OPTIONS && requestHeaders.contains("origin")
        && requestHeaders.contains("access-control-request-method");
  }

  /** Whether {@code origin} (as the browser sent it) may read this route's answers. */
  public boolean allows(String origin) {
    if (origin == null) {
      return false;
    }
    if (anyOrigin) {
      return true;
    }
    String o = origin.toLowerCase(Locale.ROOT);
    if (origins.contains(o)) {
      return true;
    }
    for (String[] p : patterns) {
      int hostStart = p[0].length();
      int hostEnd = o.length() - p[1].length();
      if (hostEnd > hostStart && o.startsWith(p[0]) && o.endsWith(p[1]) && isSubdomain(o, hostStart, hostEnd)) {
        return true;
      }
    }
    return false;
  }

  /** The labels before the pattern's domain: non-empty, and no port, path or user info among them. */
  private static boolean isSubdomain(String origin, int start, int end) {
    for (int i = start; i < end; i++) {
      char c = origin.charAt(i);
      if (!(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.')) {
        return false;
      }
    }
    return origin.charAt(start) != '.' && origin.charAt(end - 1) != '.';
  }

  /** Decides a preflight: origin, requested method and every requested header must be allowed. */
  public Preflight preflight(MultiMap request) {
    MultiMap answer = MultiMap.caseInsensitiveMultiMap().add("vary", PREFLIGHT_VARY);
    String origin = request.get("origin");
    if (!allows(origin)) {
      return new Preflight(403, answer, "origin " + origin + " is not allowed");
    }
    String method = String.valueOf(request.get("access-control-request-method")).trim();
    if (!methods.contains(method) && !SAFELISTED_METHODS.contains(method)) {
      return new Preflight(403, answer, "method " + method + " is not allowed");
    }
    String requested = request.get("access-control-request-headers");
    if (!anyHeader && requested != null) {
      for (String name : requested.split(",")) {
        String header = name.trim().toLowerCase(Locale.ROOT);
        if (!header.isEmpty() && !headers.contains(header)) {
          return new Preflight(403, answer, "header " + header + " is not allowed");
        }
      }
    }
    answer.add("access-control-allow-origin", anyOrigin ? "*" : origin);
    if (credentials) {
      answer.add("access-control-allow-credentials", "true");
    }
    answer.add("access-control-allow-methods", allowMethods);
    String allowed = anyHeader ? requested : allowHeaders;
    if (allowed != null && !allowed.isBlank()) {
      answer.add("access-control-allow-headers", allowed.trim());
    }
    if (maxAge != null) {
      answer.add("access-control-max-age", maxAge);
    }
    return new Preflight(204, answer, null);
  }

  /**
   * Adds to {@code response} what an answer to a non-preflight request needs: for an allowed origin,
   * that origin (or {@code *}), credentials and exposed headers; and Vary: Origin whenever the
   * answer depends on the origin, so that caches keep one copy per origin.
   */
  public void onActual(String origin, MultiMap response) {
    if (!anyOrigin) {
      response.add("vary", "Origin");
    }
    if (!allows(origin)) {
      return;
    }
    response.set("access-control-allow-origin", anyOrigin ? "*" : origin);
    if (credentials) {
      response.set("access-control-allow-credentials", "true");
    }
    if (exposeHeaders != null) {
      response.set("access-control-expose-headers", exposeHeaders);
    }
  }

  /** Drops a backend's own Access-Control-* headers: on a CORS route the gateway's are the only ones. */
  public static void dropBackendHeaders(MultiMap response) {
    List<String> names = new ArrayList<>();
    for (String name : response.names()) {
      if (name.regionMatches(true, 0, "access-control-", 0, "access-control-".length())) {
        names.add(name);
      }
    }
    names.forEach(response::remove);
  }
}
