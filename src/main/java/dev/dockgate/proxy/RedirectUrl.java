package dev.dockgate.proxy;

import dev.dockgate.config.Cidr;
import dev.dockgate.discovery.Instance;
import io.vertx.core.net.HostAndPort;

/**
 * A backend's redirect URL ({@code Location}, {@code Content-Location}, {@code Refresh}'s URL) with the prefix of a
 * {@code strip_prefix} route put back, and the instance's own address replaced by the client's origin (see
 * {@link StrippedPrefix}): pure, called on the request's event loop, allocating only for a value it rewrites.
 */
final class RedirectUrl {

  private RedirectUrl() {
  }

  /**
   * {@code url} with {@code prefix} (a route's stripped prefix, without a trailing slash; empty: none) put back, or
   * null to leave it as it is. A path-absolute reference ({@code /login}) gets the prefix in front. An http(s) URL
   * naming the client's Host keeps its scheme and authority and gets the prefix before its path. One naming the
   * instance, which the client cannot reach, gets the client's origin (the scheme it used, the Host it sent) and the
   * path under the prefix ({@code http://gw.example/api/payment/login}), as nginx's proxy_redirect default replaces the
   * proxied URL with the location's (see {@link #namesInstance}). Without a Host from the client, it becomes the path
   * alone, unless a browser would read that as another host ({@code //evil.example/x}). A path already under the prefix
   * (or under {@code forwarded}: a backend that reads X-Forwarded-Prefix), a relative reference, a network-path one
   * ({@code //host/x}) and any other host are left alone: with the empty prefix (a route that strips none), all but
   * those naming the instance.
   */
  static String withPrefix(String url, String prefix, String forwarded, HostAndPort client, boolean secure,
      HostAndPort sent, Instance instance) {
    int n = url.length();
    if (n == 0) {
      return null;
    }
    if (url.charAt(0) == '/') {
      if (n > 1 && (url.charAt(1) == '/' || url.charAt(1) == '\\')) {
        return null; // another host, as browsers read "//" and "/\"
      }
      return StrippedPrefix.under(url, 0, n, prefix, forwarded) ? null : prefix + url;
    }
    int start = url.regionMatches(true, 0, "http://", 0, 7) ? 7 : url.regionMatches(true, 0, "https://", 0, 8) ? 8 : 0;
    if (start == 0) {
      return null; // relative (resolved against the client's URL, which has the prefix), or another scheme
    }
    int end = start;
    while (end < n && url.charAt(end) != '/' && url.charAt(end) != '?' && url.charAt(end) != '#') {
      if (url.charAt(end) == '@') {
        return null; // user information: not a URL a backend redirects its own clients to
      }
      end++;
    }
    int defaultPort = start == 8 ? 443 : 80;
    if (client != null && names(url, start, end, defaultPort, client.host(), client.port())) {
      // The client's own origin: the prefix before the path, unless it is there already.
      return StrippedPrefix.under(url, end, n, prefix, forwarded) ? null
          : url.substring(0, end) + prefix + (end < n && url.charAt(end) == '/' ? "" : "/") + url.substring(end);
    }
    if (!namesInstance(url, start, end, defaultPort, sent, instance)) {
      return null;
    }
    String path = end < n && url.charAt(end) == '/' ? url.substring(end) : "/" + url.substring(end);
    if (!StrippedPrefix.under(path, 0, path.length(), prefix, forwarded)) {
      path = prefix + path;
    }
    if (client != null) {
      return (secure ? "https://" : "http://") + client + path;
    }
    return path.length() > 1 && (path.charAt(1) == '/' || path.charAt(1) == '\\') ? null : path;
  }

  /**
   * Whether the authority {@code url[start, end)} certainly names {@code instance}: the Host the backend was sent
   * (pass_host: false: the instance's address or TLS server name), the instance's address as the gateway connected to
   * it or the name it was found under (a dns_targets name) on its port, or the sent Host's name on the instance's port
   * in the scheme the gateway speaks to it (nginx's own redirects, port_in_redirect; an https URL there from a
   * plain-HTTP instance is a redirect to HTTPS meant for another listener, which rewritten would loop).
   */
  private static boolean namesInstance(String url, int start, int end, int defaultPort, HostAndPort sent,
      Instance instance) {
    if (sent != null && names(url, start, end, defaultPort, sent.host(), sent.port())) {
      return true;
    }
    if (instance == null) {
      return false;
    }
    int port = instance.port();
    return names(url, start, end, defaultPort, instance.host(), port)
        || names(url, start, end, defaultPort, instance.hostName(), port)
        || sent != null && (start == 8) == instance.tls() && names(url, start, end, defaultPort, sent.host(), port);
  }

  /**
   * Whether the authority {@code url[start, end)} of a URL whose scheme's port is {@code defaultPort} names
   * {@code host} (any case, brackets of an IPv6 literal or not, a root dot or not) and {@code port}: the same
   * port, or, for a Host without one ({@code port} below 0), 80 or 443 (a backend behind a TLS gateway may say http
   * for https).
   */
  static boolean names(String url, int start, int end, int defaultPort, String host, int port) {
    if (host == null) {
      return false;
    }
    int hostEnd = end;
    int colon = -1;
    if (start < end && url.charAt(start) == '[') {
      int close = url.indexOf(']', start);
      if (close < 0 || close >= end) {
        return false;
      }
      hostEnd = close + 1;
      if (hostEnd < end && url.charAt(hostEnd) != ':') {
        return false; // "[::1]evil": not an address, nor a name
      }
      colon = hostEnd < end ? hostEnd : -1;
    } else {
      for (int i = start; i < end; i++) {
        if (url.charAt(i) == ':') {
          colon = i;
          hostEnd = i;
          break;
        }
      }
    }
    int urlPort = defaultPort;
    if (colon >= 0 && colon + 1 < end) {
      urlPort = 0;
      for (int i = colon + 1; i < end; i++) {
        char c = url.charAt(i);
        if (c < '0' || c > '9' || urlPort > 65535) {
          return false;
        }
        urlPort = urlPort * 10 + (c - '0');
      }
    }
    if (port >= 0 ? urlPort != port : urlPort != 80 && urlPort != 443) {
      return false;
    }
    int hs = start;
    int he = hostEnd;
    if (he - hs >= 2 && url.charAt(hs) == '[') {
      hs++;
      he--;
    }
    int cs = 0;
    int ce = host.length();
    if (ce >= 2 && host.charAt(0) == '[' && host.charAt(ce - 1) == ']') {
      cs++;
      ce--;
    }
    // A name with its root dot ("gw.example.") is the same name, as routes match hosts.
    if (he - hs > 1 && url.charAt(he - 1) == '.') {
      he--;
    }
    if (ce - cs > 1 && host.charAt(ce - 1) == '.') {
      ce--;
    }
    if (he - hs == ce - cs && url.regionMatches(true, hs, host, cs, ce - cs)) {
      return true;
    }
    return hs > start && sameIpv6(url.substring(hs, he), host.substring(cs, ce));
  }

  /**
   * Whether {@code literal} (from a URL's brackets) and {@code host} are one IPv6 address however each is spelt
   * ({@code 0:0:0:0:0:0:0:1}, {@code ::0001} and {@code ::1}), as a browser connects to it: parsed without a name lookup
   * ({@link Cidr#strictLiteral}, which refuses a zone id as no URL host has one). IPv4 is compared as text: a browser
   * reads {@code 127.000.000.001} as 127.0.0.1 but {@code 0177.0.0.1} as octal, which no backend writes for itself.
   * Reached only for a URL with an IPv6 literal on the instance's port that is not spelt as the gateway spells it.
   */
  private static boolean sameIpv6(String literal, String host) {
    if (host.indexOf(':') < 0) {
      return false;
    }
    byte[] a = Cidr.strictLiteral(literal);
    return a != null && a.length == 16 && java.util.Arrays.equals(a, Cidr.strictLiteral(host));
  }

  /**
   * A Refresh value ({@code 5; url=/login}, the URL quoted or not, after ';' or ',', with or without
   * {@code url=}) with its URL rewritten as {@link #withPrefix} does, or null to leave it.
   */
  static String refresh(String value, String prefix, String forwarded, HostAndPort client, boolean secure,
      HostAndPort sent, Instance instance) {
    int n = value.length();
    int i = 0;
    while (i < n && value.charAt(i) != ';' && value.charAt(i) != ',') {
      i++;
    }
    i = StrippedPrefix.skipSpaces(value, i + 1);
    if (i >= n) {
      return null;
    }
    if (value.regionMatches(true, i, "url", 0, 3)) {
      int j = StrippedPrefix.skipSpaces(value, i + 3);
      if (j < n && value.charAt(j) == '=') {
        i = StrippedPrefix.skipSpaces(value, j + 1);
      }
    }
    int end = n;
    if (i < n && (value.charAt(i) == '\'' || value.charAt(i) == '"')) {
      int close = value.indexOf(value.charAt(i), i + 1);
      i++;
      end = close < 0 ? n : close;
    }
    String rewritten = withPrefix(value.substring(i, end), prefix, forwarded, client, secure, sent, instance);
    return rewritten == null ? null : value.substring(0, i) + rewritten + value.substring(end);
  }
}
