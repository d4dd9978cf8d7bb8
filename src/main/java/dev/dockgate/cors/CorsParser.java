package dev.dockgate.cors;

import dev.dockgate.config.ApiKeyParser;
import dev.dockgate.config.ConfigLoader;
import dev.dockgate.config.Fields;
import java.util.ArrayList;
import java.util.List;

/** Reads a route's {@code cors} block (see {@link CorsConfig}); part of {@link CorsFeature}. */
final class CorsParser {

  private CorsParser() {
  }

  static CorsConfig cors(Fields f, List<String> routeMethods) {
    List<String> origins = corsOrigins(f);
    List<String> methods = f.has("allow_methods") ? ConfigLoader.methods(f, "allow_methods") : routeMethods.isEmpty()
        ? CorsConfig.DEFAULT_METHODS : routeMethods;
    if (f.raw("allow_methods") instanceof io.vertx.core.json.JsonArray list && list.isEmpty()) {
      f.problem(f.at("allow_methods"), "must list at least one method; leave it out for the default");
    }
    List<String> allowHeaders = headerNames(f, "allow_headers");
    List<String> exposeHeaders = headerNames(f, "expose_headers");
    boolean credentials = f.bool("allow_credentials", false);
    Integer maxAge = f.has("max_age_s") ? (int) f.number("max_age_s", 0, 0, 86_400) : null;
    if (credentials && origins.contains("*")) {
      f.problem(f.at("allow_origins"), "\"*\" cannot be combined with allow_credentials: true "
          + "(browsers refuse credentialed answers for any origin); list the origins");
    }
    if (credentials && exposeHeaders.contains("*")) {
      f.problem(f.at("expose_headers"), "\"*\" exposes nothing with allow_credentials: true "
          + "(browsers take it as a header name); list the headers");
    }
    f.rejectUnknown();
    return new CorsConfig(origins, methods, allowHeaders, exposeHeaders, credentials, maxAge);
  }

  /** scheme://host[:port], lower case, no path; a host may start with "*." for any subdomain. */
  private static final java.util.regex.Pattern ORIGIN = java.util.regex.Pattern.compile(
      "[a-z][a-z0-9+.-]*://(\\*\\.)?([a-z0-9-]+(\\.[a-z0-9-]+)*|\\[[0-9a-f:.]+\\])(:[0-9]{1,5})?");

  /**
   * {@code origin} with its IPv6 host as browsers send it (the WHATWG URL serializer: RFC 5952's compression, lower
   * case, a mapped address in hex, {@code http://[::ffff:7f00:1]}), since origins are compared as text; {@code origin}
   * itself when its host is no IPv6 literal; null when the brackets hold no IPv6 address.
   */
  static String ipv6AsBrowsersWriteIt(String origin) {
    int open = origin.indexOf("://[") + 3;
    if (open < 3) {
      return origin;
    }
    int close = origin.indexOf(']', open);
    String literal = origin.substring(open + 1, close);
    byte[] address = literal.indexOf(':') < 0 ? null : dev.dockgate.config.Cidr.literal(literal);
    if (address == null) {
      return null;
    }
    if (address.length == 4) { // ::ffff:127.0.0.1, which the JDK reads as IPv4
      byte[] mapped = new byte[16];
      mapped[10] = (byte) 0xff;
      mapped[11] = (byte) 0xff;
      System.arraycopy(address, 0, mapped, 12, 4);
      address = mapped;
    }
    return origin.substring(0, open + 1) + dev.dockgate.config.Cidr.text(address) + origin.substring(close);
  }

  /**
   * {@code origin} with its port as browsers write it in Origin: none for the scheme's default port
   * ({@code https://app.example.com:443} is {@code https://app.example.com}), no leading zero ({@code :08080} is
   * {@code :8080}), since origins are compared as text and such an entry never matched; null for a port above 65535,
   * which no URL has.
   */
  static String withoutDefaultPort(String origin) {
    int colon = origin.lastIndexOf(':');
    int port = 0;
    for (int i = colon + 1; i < origin.length(); i++) { // a valid origin ends with at most five digits after a colon
      char c = origin.charAt(i);
      if (c < '0' || c > '9') {
        return origin; // no port: the colon was the scheme's, or inside an IPv6 host's brackets
      }
      port = port * 10 + (c - '0');
    }
    if (port > 65535) {
      return null;
    }
    int standard = origin.startsWith("https://") ? 443 : origin.startsWith("http://") ? 80 : -1;
    return origin.substring(0, port == standard ? colon : colon + 1) + (port == standard ? "" : Integer.toString(port));
  }

  private static List<String> corsOrigins(Fields f) {
    String field = f.at("allow_origins");
    if (!f.has("allow_origins")) {
      f.problem(field, "is required: the origins allowed, e.g. [https://app.example.com], or [\"*\"]");
      return List.of();
    }
    List<Object> items = f.list("allow_origins");
    if (items.isEmpty() && f.raw("allow_origins") instanceof io.vertx.core.json.JsonArray) {
      f.problem(field, "must list at least one origin");
    }
    List<String> result = new ArrayList<>();
    for (int i = 0; i < items.size(); i++) {
      Object item = items.get(i);
      String origin = item instanceof String s ? s.trim().toLowerCase(java.util.Locale.ROOT) : null;
      if ("*".equals(origin)) {
        if (items.size() > 1) {
          f.problem(field + "[" + i + "]", "\"*\" allows every origin and must be the only entry");
          continue;
        }
      } else if ("null".equals(origin)) {
        f.problem(field + "[" + i + "]", "\"null\" is not allowed: sandboxed pages and local files all send it");
        continue;
      } else if (origin == null || !ORIGIN.matcher(origin).matches() || (origin = ipv6AsBrowsersWriteIt(origin)) == null
          || (origin = withoutDefaultPort(origin)) == null) {
        f.problem(field + "[" + i + "]", "expected an origin such as https://app.example.com (scheme://host[:port], "
            + "no path), https://*.example.com or \"*\", got " + Fields.describe(item));
        continue;
      }
      if (result.contains(origin)) {
        f.problem(field + "[" + i + "]", "duplicate origin \"" + origin + "\"");
      } else {
        result.add(origin);
      }
    }
    return result;
  }

  /** Header names (lower case), or the single entry "*". */
  private static List<String> headerNames(Fields f, String key) {
    List<Object> items = f.list(key);
    List<String> result = new ArrayList<>();
    for (int i = 0; i < items.size(); i++) {
      Object item = items.get(i);
      String name = item instanceof String s ? s.trim().toLowerCase(java.util.Locale.ROOT) : null;
      if (name == null || !ApiKeyParser.HEADER_NAME.matcher(name).matches()) {
        f.problem(f.at(key) + "[" + i + "]", "expected a header name, got " + Fields.describe(item));
      } else if (name.equals("*") && items.size() > 1) {
        f.problem(f.at(key) + "[" + i + "]", "\"*\" stands for every header and must be the only entry");
      } else if (!result.contains(name)) {
        result.add(name);
      }
    }
    return result;
  }
}
