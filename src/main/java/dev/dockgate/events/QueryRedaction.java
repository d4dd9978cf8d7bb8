package dev.dockgate.events;

/**
 * Takes credentials out of a request's query before it is published in a traffic event (and so before the access
 * log, the TCP tap or any other consumer sees it): the value of every parameter named in {@link #NAMES} is replaced by
 * {@link #REDACTED}. Names are matched case-insensitively and percent-decoded ({@code access%5Ftoken} is
 * {@code access_token}), as a backend would read them. A query holding none of them is returned as it is, with
 * nothing allocated; each byte of the query is looked at a bounded number of times (a query of a thousand bare
 * {@code &} is not scanned a thousand times for its {@code =}). Pure; any thread.
 */
public final class QueryRedaction {

  /**
   * Query parameters that carry credentials in common APIs: OAuth 2 bearer tokens in a URI (RFC 6750 2.3), OpenID
   * Connect tokens, API keys ({@code key} as Google's APIs take it), client secrets and passwords.
   */
  public static final String[] NAMES = {"access_token", "id_token", "refresh_token", "token", "api_key", "apikey",
      "api-key", "key", "client_secret", "password", "secret"};
  public static final String REDACTED = "REDACTED";

  private QueryRedaction() {
  }

  /** {@code query} (may be null) with the values of credential parameters replaced; the same string when none. */
  public static String redacted(String query) {
    if (query == null) {
      return null;
    }
    StringBuilder out = null;
    int copied = 0;
    int start = 0;
    int length = query.length();
    int equals = -1; // the first '=' at or after start, looked for again only once start has passed it
    while (start <= length) {
      int end = query.indexOf('&', start);
      if (end < 0) {
        end = length;
      }
      if (equals < start) {
        equals = query.indexOf('=', start);
        if (equals < 0) {
          break; // no value in the rest of the query: nothing more to redact
        }
      }
      if (equals < end - 1 && credential(query, start, equals)) {
        if (out == null) {
          out = new StringBuilder(length + 16);
        }
        out.append(query, copied, equals + 1).append(REDACTED);
        copied = end;
      }
      start = end + 1;
    }
    return out == null ? query : out.append(query, copied, length).toString();
  }

  private static boolean credential(String query, int start, int end) {
    for (String name : NAMES) {
      if (named(query, start, end, name)) {
        return true;
      }
    }
    return false;
  }

  /** Whether {@code query[start, end)}, percent-decoded ({@code +} as a space), is {@code name} in any case. */
  private static boolean named(String query, int start, int end, String name) {
    int j = 0;
    for (int i = start; i < end; i++, j++) {
      if (j == name.length()) {
        return false;
      }
      char c = query.charAt(i);
      if (c == '%' && i + 2 < end && hex(query.charAt(i + 1)) >= 0 && hex(query.charAt(i + 2)) >= 0) {
        c = (char) (hex(query.charAt(i + 1)) << 4 | hex(query.charAt(i + 2)));
        i += 2;
      } else if (c == '+') {
        c = ' ';
      }
      if (c >= 'A' && c <= 'Z') {
        c = (char) (c + ('a' - 'A'));
      }
      if (c != name.charAt(j)) {
        return false;
      }
    }
    return j == name.length();
  }

  private static int hex(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
  }
}
