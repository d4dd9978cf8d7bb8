package dev.dockgate.edge;

/**
 * Puts a request path in normal form before it is matched and forwarded (RFC 3986 §6.2.2): percent-
 * encoded unreserved characters decoded, other escapes upper-cased, dot-segments removed, repeated
 * slashes collapsed. So {@code /api/public/../admin} or {@code /api/%61dmin} are matched, and
 * forwarded, as {@code /admin} and {@code /api/admin}. Encoded slash, backslash and NUL
 * ({@code %2F %5C %00}), malformed escapes, a fragment ({@code #}, which HTTP/1 requests cannot carry
 * past the strict decoder, HTTP/2 ones could), a raw control byte, space or non-ASCII byte (which the strict HTTP/1
 * decoder and the HTTP/2 check refuse, but an HTTP/1 request on an h2c listener, read by Vert.x's own decoder, could
 * carry) and paths not starting with "/" are refused (null). So are {@code ;} parameters where a backend that strips
 * them (Tomcat, Jetty, Spring) would read another path than the one matched: on any segment but the last
 * ({@code /public/..;/admin} and {@code /;/admin} are {@code /admin} to Tomcat, {@code /admin;x/users} is
 * {@code /admin/users}, which matches no {@code /admin/} route here), or on a last segment named {@code .} or
 * {@code ..} ({@code /public/..;} is {@code /} to Tomcat); a last segment's own ({@code /app/page;jsessionid=A1},
 * {@code /app/;jsessionid=A1}) are kept.
 * Pure; allocation-free for paths already in normal form.
 */
public final class PathNormalizer {

  private PathNormalizer() {
  }

  /** The normal form of {@code path}, {@code path} itself when already normal, or null when refused. */
  public static String normalize(String path) {
    if (path == null || path.isEmpty() || path.charAt(0) != '/') {
      return null;
    }
    if (isNormal(path)) {
      return path;
    }
    String decoded = decodeUnreserved(path);
    return decoded == null ? null : removeDotSegments(decoded);
  }

  /**
   * Whether a route's prefix can match some request path: paths are matched in normal form, so a prefix no normal path
   * starts with ({@code /a//b}, {@code /a/./b}, {@code /a;v=1/b}, {@code /%61}, {@code /%3a}) would never be chosen.
   * Tried on the prefix itself and on a few continuations (a prefix may end inside a segment or an escape:
   * {@code /api/.} matches {@code /api/.well-known}, {@code /api/%} matches {@code /api/%3A}, {@code /api/%4} matches
   * {@code /api/%40}, {@code /api/%5} matches {@code /api/%5B}: second digits that leave the escape undecoded).
   */
  public static boolean canMatch(String prefix) {
    for (String rest : new String[] {"", "x", "/x", "A", "3A", "0", "B"}) {
      String normal = normalize(prefix + rest);
      if (normal != null && normal.startsWith(prefix)) {
        return true;
      }
    }
    return false;
  }

  private static boolean isNormal(String path) {
    for (int i = 0, n = path.length(); i < n; i++) {
      char c = path.charAt(i);
      if (c == '%' || c == '\\' || c == '#' || c == ';' || c <= ' ' || c >= 0x7f) {
        return false;
      }
      if (c == '/' && i + 1 < n) {
        char next = path.charAt(i + 1);
        if (next == '/') {
          return false;
        }
        if (next == '.' && (i + 2 == n || path.charAt(i + 2) == '/'
            || (path.charAt(i + 2) == '.' && (i + 3 == n || path.charAt(i + 3) == '/')))) {
          return false;
        }
      }
    }
    return true;
  }

  private static String decodeUnreserved(String path) {
    StringBuilder out = new StringBuilder(path.length());
    for (int i = 0, n = path.length(); i < n; i++) {
      char c = path.charAt(i);
      if (c == '\\' || c == '#' || c <= ' ' || c >= 0x7f) {
        return null;
      }
      if (c != '%') {
        out.append(c);
        continue;
      }
      if (i + 2 >= n) {
        return null;
      }
      int hi = Character.digit(path.charAt(i + 1), 16);
      int lo = Character.digit(path.charAt(i + 2), 16);
      if (hi < 0 || lo < 0) {
        return null;
      }
      char decoded = (char) (hi * 16 + lo);
      if (decoded == '/' || decoded == '\\' || decoded == 0) {
        return null;
      }
      if (isUnreserved(decoded)) {
        out.append(decoded);
      } else {
        out.append('%').append(Character.toUpperCase(path.charAt(i + 1))).append(Character.toUpperCase(path.charAt(i + 2)));
      }
      i += 2;
    }
    return out.toString();
  }

  private static boolean isUnreserved(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
        || c == '-' || c == '.' || c == '_' || c == '~';
  }

  /** The segment's name before its parameters is {@code .} or {@code ..}. */
  private static boolean isDots(String segment, int parameters) {
    return segment.charAt(0) == '.' && (parameters == 1 || parameters == 2 && segment.charAt(1) == '.');
  }

  /** RFC 3986 §5.2.4 on an absolute path, also collapsing empty segments. */
  private static String removeDotSegments(String path) {
    String[] segments = path.split("/", -1);
    java.util.ArrayDeque<String> out = new java.util.ArrayDeque<>();
    for (int i = 1; i < segments.length; i++) {
      String s = segments[i];
      boolean last = i == segments.length - 1;
      int parameters = s.indexOf(';');
      if (parameters >= 0 && (!last || isDots(s, parameters))) {
        return null; // read by a parameter-stripping backend as another path than the one matched
      }
      if (s.equals("..")) {
        out.pollLast();
        if (last) {
          out.addLast("");
        }
      } else if (s.equals(".")) {
        if (last) {
          out.addLast("");
        }
      } else if (!s.isEmpty() || last) {
        out.addLast(s);
      }
    }
    return "/" + String.join("/", out);
  }
}
