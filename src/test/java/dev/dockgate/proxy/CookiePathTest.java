package dev.dockgate.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

/**
 * A backend's Set-Cookie with a strip_prefix route's prefix put back into its Path, as a table (StrippedPrefixTest
 * checks every line of an answer, StripPrefixIT the whole path over real sockets).
 */
class CookiePathTest {

  static final String PAYMENT = "/api/payment";

  @Test
  void cookiePathsTable() {
    String[][] table = {
        // an absolute Path: the prefix in front; "/" the prefix alone (path-matches /api/payment and /api/payment/x,
        // not /api/paymentx)
        {"sid=1; Path=/account", "sid=1; Path=/api/payment/account"},
        {"sid=1; Path=/", "sid=1; Path=/api/payment"},
        {"sid=1; Path=/account/", "sid=1; Path=/api/payment/account/"},
        {"sid=1; Path=//x", "sid=1; Path=/api/payment//x"},
        {"sid=1; Path=/api/paymentx", "sid=1; Path=/api/payment/api/paymentx"},
        // the attribute's name in any case, blanks around its name, '=' and value kept as they were
        {"sid=1; path=/a", "sid=1; path=/api/payment/a"},
        {"sid=1; PATH=/a", "sid=1; PATH=/api/payment/a"},
        {"sid=1;Path=/a;Secure", "sid=1;Path=/api/payment/a;Secure"},
        {"sid=1;  Path \t=  /a  ; Secure", "sid=1;  Path \t=  /api/payment/a  ; Secure"},
        {"sid=1; Path = / ", "sid=1; Path = /api/payment "},
        // every other attribute and the value byte for byte, in their order; each Path (the last one counts)
        {"sid=\"a b\"; Expires=Wed, 09 Jun 2027 10:18:14 GMT; Path=/a; Domain=gw.example; Secure; HttpOnly;"
            + " SameSite=None; Partitioned", "sid=\"a b\"; Expires=Wed, 09 Jun 2027 10:18:14 GMT; Path=/api/payment/a;"
            + " Domain=gw.example; Secure; HttpOnly; SameSite=None; Partitioned"},
        {"sid=1; Path=/a; Max-Age=5; Path=/b", "sid=1; Path=/api/payment/a; Max-Age=5; Path=/api/payment/b"},
        // "Path" in the cookie's name or value, or in another attribute: not a Path attribute
        {"a=Path=/x", null},
        {"Path=/x", null},
        {"Path=/x; Secure", null},
        {"a=Path=/x; Secure", null},
        {"a=1; Comment=Path=/x", null},
        {"a=1; Paths=/x", null},
        {"a=1; Pat h=/x", null},
        {"a=1; xPath=/x", null},
        // a quoted value means nothing to a browser: it splits at every ';' and takes the Path as it stands
        {"q=\"v; w\"; Path=/", "q=\"v; w\"; Path=/api/payment"},
        {"q=\"a; Path=/x\"", "q=\"a; Path=/api/payment/x\""},
        {"q=1; Path=\"/x\"", null},
        // no Path, an empty or relative one: the browser's default-path, from the URL it asked (with the prefix)
        {"sid=1", null},
        {"sid=1; HttpOnly", null},
        {"sid=1; Path=", null},
        {"sid=1; Path=  ; Secure", null},
        {"sid=1; Path", null},
        {"sid=1; Path=account", null},
        {"sid=1; Path=./a", null},
        // already under the prefix (a backend that reads X-Forwarded-Prefix)
        {"sid=1; Path=/api/payment", null},
        {"sid=1; Path=/api/payment/", null},
        {"sid=1; Path=/api/payment/a", null},
        // a __Host- cookie (its name in any case) must keep Path=/, or browsers drop it (RFC 6265bis 5.7): it stays;
        // __Secure- asks for Secure alone
        {"__Host-sid=1; Path=/; Secure", null},
        {" __host-sid=1; Secure; path=/", null},
        {"__HOST-Http-sid=1; Secure; HttpOnly; Path=/", null},
        {"__Secure-sid=1; Path=/; Secure", "__Secure-sid=1; Path=/api/payment; Secure"},
        {"x__Host-sid=1; Path=/", "x__Host-sid=1; Path=/api/payment"},
        {"sid=__Host-1; Path=/", "sid=__Host-1; Path=/api/payment"},
        // what a browser drops whole stays as it is: no name and no value, a control character
        {"; Path=/x", null},
        {" = ; Path=/x", null},
        {"=v; Path=/x", "=v; Path=/api/payment/x"},
        {"a=1; Path=/x\u0001", null},
        {"a=1; Path=/x\u007f", null},
        {"", null},
        {";", null},
        {"a=1;", null},
    };
    for (String[] row : table) {
      assertEquals(row[1], CookiePath.withPrefix(row[0], PAYMENT, PAYMENT), row[0]);
    }
  }

  @Test
  void aCookieUnderTheWholeForwardedPrefixIsLeftAlone() {
    assertNull(CookiePath.withPrefix("a=1; Path=/outer/api/payment/x", PAYMENT, "/outer/api/payment"));
    assertNull(CookiePath.withPrefix("a=1; Path=/outer/api/payment", PAYMENT, "/outer/api/payment"));
    assertEquals("a=1; Path=/api/payment/outer",
        CookiePath.withPrefix("a=1; Path=/outer", PAYMENT, "/outer/api/payment"));
    assertEquals("a=1; Path=/api/payment/x", CookiePath.withPrefix("a=1; Path=/x", PAYMENT, "/outer/api/payment"));
    assertEquals("a=1; Path=/v2", CookiePath.withPrefix("a=1; Path=/", "/v2", "/v2"));
  }
}
