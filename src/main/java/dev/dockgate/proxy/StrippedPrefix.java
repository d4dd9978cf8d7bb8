package dev.dockgate.proxy;

import dev.dockgate.config.RouteConfig;
import dev.dockgate.discovery.Instance;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.net.HostAndPort;

/**
 * The prefix a {@code strip_prefix} route takes off the path: said to the backend as {@code X-Forwarded-Prefix}
 * (Traefik's StripPrefix, Spring Cloud Gateway), and, unless {@code rewrite_location: false}, put back into the
 * backend's answer where it names one of its own paths: {@code Location} of a 3xx or 201, {@code Content-Location},
 * {@code Refresh}'s URL (nginx's {@code proxy_redirect default} covers Location and Refresh; Apache's ProxyPassReverse
 * Content-Location too; read by {@link RedirectUrl}); unless {@code rewrite_cookie_path: false}, the {@code Path} of
 * each {@code Set-Cookie} (nginx's {@code proxy_cookie_path}, Apache's {@code ProxyPassReverseCookiePath}; read by
 * {@link CookiePath}). A route that strips nothing (or only "/") has the empty prefix: no X-Forwarded-Prefix, no
 * cookie's Path, and of those URLs only the ones naming the instance's own address are rewritten (to the client's
 * origin), as on every route. Immutable, one per route; called on the request's event loop, allocating only for a value
 * it rewrites (and for the lines of an answer's Set-Cookie).
 */
final class StrippedPrefix {

  static final CharSequence X_FORWARDED_PREFIX = HttpHeaders.createOptimized("x-forwarded-prefix");
  private static final CharSequence REFRESH = HttpHeaders.createOptimized("refresh");
  /** What {@link #rewriteLines} rewrites in a header: a URL, a Refresh value, a Set-Cookie's Path. */
  private static final int URL = 0;
  private static final int REFRESH_URL = 1;
  private static final int COOKIE_PATH = 2;

  /**
   * The path the route takes away, without a trailing slash: {@code /api/payment} (of /api/payment or /api/payment/);
   * empty on a route that strips none.
   */
  private final String prefix;
  /** Redirects get the prefix back, and those naming the instance the client's origin (rewrite_location). */
  private final boolean locations;
  /** Cookies' Path gets the prefix back (rewrite_cookie_path); never with the empty prefix. */
  private final boolean cookies;

  private StrippedPrefix(String prefix, boolean locations, boolean cookies) {
    this.prefix = prefix;
    this.locations = locations;
    this.cookies = cookies;
  }

  /**
   * What {@code route} strips and rewrites, or null: nothing (it strips no prefix, nor rewrites any redirect,
   * {@code rewrite_location: false}).
   */
  static StrippedPrefix of(RouteConfig route) {
    String prefix = route.pathPrefix();
    int end = 0;
    if (route.stripPrefix()) {
      end = prefix.length();
      while (end > 0 && prefix.charAt(end - 1) == '/') {
        end--;
      }
    }
    if (end == 0) {
      return route.rewriteLocation() ? new StrippedPrefix("", true, false) : null;
    }
    return new StrippedPrefix(prefix.substring(0, end), route.rewriteLocation(), route.rewriteCookiePath());
  }

  /** {@code uri} without the route's {@code pathPrefix}; what remains always starts with "/". */
  static String strip(String uri, String pathPrefix) {
    String rest = uri.length() >= pathPrefix.length() ? uri.substring(pathPrefix.length()) : "";
    return rest.startsWith("/") ? rest : "/" + rest;
  }

  /** The path the route takes away; empty: none. */
  String prefix() {
    return prefix;
  }

  /** Whether the backend's answers get the prefix back somewhere: its redirects, or its cookies' Path. */
  boolean rewrites() {
    return locations || cookies;
  }

  /**
   * The X-Forwarded-Prefix the backend gets: the prefix; from a trusted proxy that sent one (it stripped a prefix of
   * its own first), that one, then this prefix ({@code /outer/api/payment}). Several (header lines, or a list in one:
   * proxies in a row) make one path, each without its blanks and (back)slashes at either end ({@code /a/, /b} and this
   * prefix: {@code /a/b/api/payment}), as Spring's ForwardedHeaderFilter reads such a list: a backend that takes the
   * value as it comes (or its last element) builds the same links, and {@link RedirectUrl#withPrefix} sees a redirect
   * under it as such. Any other client's is not believed. Allocates only for a trusted proxy's. Null on a route that
   * strips none (a trusted proxy's goes on as it sent it, see HeaderPolicy).
   */
  String forwarded(MultiMap client, boolean trustedPeer) {
    if (prefix.isEmpty()) {
      return null;
    }
    if (!trustedPeer || client.get(X_FORWARDED_PREFIX) == null) {
      return prefix;
    }
    StringBuilder path = new StringBuilder(64);
    for (String value : client.getAll(X_FORWARDED_PREFIX)) {
      int n = value.length();
      for (int start = 0; start < n; ) {
        int comma = value.indexOf(',', start);
        int end = comma < 0 ? n : comma;
        int from = start;
        int to = end;
        while (from < to && trimmed(value.charAt(from))) {
          from++;
        }
        while (to > from && trimmed(value.charAt(to - 1))) {
          to--;
        }
        if (from < to) {
          path.append('/').append(value, from, to);
        }
        start = end + 1;
      }
    }
    return path.length() == 0 ? prefix : path.append(prefix).toString();
  }

  /**
   * A character an element of X-Forwarded-Prefix loses at either end: a blank, or a slash (one is put back), or a
   * backslash, which browsers read as one: {@code /\evil.example} would make every path under it leave for another
   * host.
   */
  private static boolean trimmed(char c) {
    return c == ' ' || c == '\t' || c == '/' || c == '\\';
  }

  /**
   * Puts the prefix back into {@code answer}'s headers (status {@code status}) where they name a path of the backend:
   * Location (3xx and 201 only), Content-Location and Refresh (with rewrite_location), the Path of each Set-Cookie
   * (with rewrite_cookie_path). {@code forwarded}: the X-Forwarded-Prefix the backend was sent (null: none);
   * {@code client}: the Host the client sent (null: none); {@code secure}: the client came over TLS; {@code sent}: the
   * Host the backend was sent; {@code instance}: the instance that answered (null: none). An answer
   * without Location (or not a redirect), Content-Location and Refresh costs their lookups, nothing more.
   */
  void rewrite(int status, MultiMap answer, String forwarded, HostAndPort client, boolean secure, HostAndPort sent,
      Instance instance) {
    if (locations) {
      if (status >= 300 && status <= 399 || status == 201) {
        rewriteLines(answer, HttpHeaders.LOCATION, URL, forwarded, client, secure, sent, instance);
      }
      rewriteLines(answer, HttpHeaders.CONTENT_LOCATION, URL, forwarded, client, secure, sent, instance);
      rewriteLines(answer, REFRESH, REFRESH_URL, forwarded, client, secure, sent, instance);
    }
    if (cookies) {
      rewriteLines(answer, HttpHeaders.SET_COOKIE, COOKIE_PATH, forwarded, client, secure, sent, instance);
    }
  }

  /**
   * The header {@code name} of {@code answer} with the prefix put back as {@code kind} says; should the backend have
   * sent several lines, each is rewritten in turn and none is dropped. A URL or Refresh is judged by its first line
   * (left alone, so are the others: one lookup for an answer that needs nothing); every Set-Cookie line on its own,
   * being a cookie of its own.
   */
  private void rewriteLines(MultiMap answer, CharSequence name, int kind, String forwarded, HostAndPort client,
      boolean secure, HostAndPort sent, Instance instance) {
    String value = answer.get(name);
    if (value == null) {
      return;
    }
    String rewritten = rewritten(kind, value, forwarded, client, secure, sent, instance);
    if (rewritten == null && kind != COOKIE_PATH) {
      return;
    }
    java.util.List<String> lines = answer.getAll(name);
    int n = lines.size();
    if (n == 1) {
      if (rewritten != null) {
        answer.set(name, rewritten);
      }
      return;
    }
    String[] each = null;
    for (int i = 0; i < n; i++) {
      String line = i == 0 ? rewritten : rewritten(kind, lines.get(i), forwarded, client, secure, sent, instance);
      if (line != null) {
        if (each == null) {
          each = new String[n];
        }
        each[i] = line;
      }
    }
    if (each == null) {
      return;
    }
    answer.remove(name);
    for (int i = 0; i < n; i++) {
      answer.add(name, each[i] == null ? lines.get(i) : each[i]);
    }
  }

  private String rewritten(int kind, String value, String forwarded, HostAndPort client, boolean secure,
      HostAndPort sent, Instance instance) {
    return kind == COOKIE_PATH ? CookiePath.withPrefix(value, prefix, forwarded)
        : kind == REFRESH_URL ? RedirectUrl.refresh(value, prefix, forwarded, client, secure, sent, instance)
        : RedirectUrl.withPrefix(value, prefix, forwarded, client, secure, sent, instance);
  }

  /**
   * Whether the path {@code url[at, end)} is {@code prefix} or {@code forwarded}, or a path below either (followed by
   * a query or fragment in a URL).
   */
  static boolean under(String url, int at, int end, String prefix, String forwarded) {
    return startsWithSegment(url, at, end, prefix)
        || forwarded != null && forwarded != prefix && startsWithSegment(url, at, end, forwarded);
  }

  private static boolean startsWithSegment(String url, int at, int end, String path) {
    int next = at + path.length();
    if (next > end || !url.startsWith(path, at)) {
      return false;
    }
    if (next == end) {
      return true;
    }
    char c = url.charAt(next);
    return c == '/' || c == '?' || c == '#' || c == ';'; // ';': path parameters (;jsessionid=) of its last segment
  }

  static int skipSpaces(String value, int i) {
    while (i < value.length() && (value.charAt(i) == ' ' || value.charAt(i) == '\t')) {
      i++;
    }
    return i;
  }
}
