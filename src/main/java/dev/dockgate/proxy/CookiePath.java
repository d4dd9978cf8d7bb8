package dev.dockgate.proxy;

/**
 * The {@code Path} of a backend's {@code Set-Cookie} with the prefix of a {@code strip_prefix} route put back (see
 * {@link StrippedPrefix}): pure, called on the request's event loop, allocating only for a value it rewrites.
 */
final class CookiePath {

  private CookiePath() {
  }

  /**
   * A Set-Cookie value with {@code prefix} (a route's stripped prefix, without a trailing slash) put before the path
   * of each absolute {@code Path} attribute, or null to leave it as it is. Read as RFC 6265 (5.2) has browsers read
   * it: the name=value pair up to the first ';' is not looked into ({@code a=Path=/x}), then each attribute up to the
   * next ';' (quotes mean nothing there), named without case, blanks around its name, '=' and value ignored. Only the
   * path changes; every other byte stays as sent.
   * <ul>
   * <li>{@code Path=/} becomes the prefix itself, {@code /api}, not {@code /api/}: a request path path-matches
   *     {@code /api} (6265, 5.1.4) when it is {@code /api} or goes on with a '/' ({@code /api/x}, not {@code /apix}),
   *     while {@code /api/} would miss {@code /api} itself. Any other path gets the prefix in front, as a Location
   *     does ({@code /account} becomes {@code /api/account}, {@code /account/} {@code /api/account/}).
   * <li>A path already under the prefix or under {@code forwarded} (a backend that reads X-Forwarded-Prefix) stays, as
   *     a Location does.
   * <li>No Path, or an empty or relative one (a quoted one too: browsers do not unquote it): the browser takes the
   *     default-path of the URL it asked for (5.1.4), which has the prefix already, so it stays.
   * <li>A cookie browsers ignore whole (RFC 6265bis: a control character, no name and no value) stays, unread.
   * <li>A {@code __Host-} cookie (its name in any case, as 6265bis 5.7 matches it) stays: browsers keep one only with
   *     {@code Path=/}, the whole host, which is what its backend asked for.
   * </ul>
   */
  static String withPrefix(String value, String prefix, String forwarded) {
    int first = value.indexOf(';');
    if (first < 0) {
      return null; // no attributes
    }
    int n = value.length();
    for (int i = 0; i < n; i++) {
      char c = value.charAt(i);
      if (c < ' ' && c != '\t' || c == 0x7f) {
        return null;
      }
    }
    int pair = StrippedPrefix.skipSpaces(value, 0);
    if (pair < n && value.charAt(pair) == '=') {
      pair = StrippedPrefix.skipSpaces(value, pair + 1);
    }
    if (pair == first || value.regionMatches(true, pair, "__Host-", 0, 7)) {
      return null;
    }
    StringBuilder out = null;
    int copied = 0;
    for (int at = first; at < n; ) {
      int end = value.indexOf(';', at + 1);
      if (end < 0) {
        end = n;
      }
      int name = StrippedPrefix.skipSpaces(value, at + 1);
      if (value.regionMatches(true, name, "path", 0, 4)) {
        int eq = StrippedPrefix.skipSpaces(value, name + 4);
        if (eq < end && value.charAt(eq) == '=') {
          int from = StrippedPrefix.skipSpaces(value, eq + 1);
          int to = end;
          while (to > from && (value.charAt(to - 1) == ' ' || value.charAt(to - 1) == '\t')) {
            to--;
          }
          if (from < to && value.charAt(from) == '/' && !StrippedPrefix.under(value, from, to, prefix, forwarded)) {
            if (out == null) {
              out = new StringBuilder(n + 2 * prefix.length());
            }
            out.append(value, copied, from).append(prefix);
            copied = to - from == 1 ? to : from; // "/": the prefix alone (see above)
          }
        }
      }
      at = end;
    }
    return out == null ? null : out.append(value, copied, n).toString();
  }
}
