package dev.dockgate.proxy;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The hop-by-hop test behind the response's one-pass header scan (ForwardingIT checks the whole path). */
class HeaderPolicyTest {

  @ParameterizedTest
  @ValueSource(strings = {"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
      "Proxy-Authorization", "TE", "Trailer", "Transfer-Encoding", "Upgrade"})
  void everyHopByHopNameIsFoundInAnyCase(String name) {
    assertTrue(HeaderPolicy.hopByHop(name));
    assertTrue(HeaderPolicy.hopByHop(name.toLowerCase(Locale.ROOT)));
    assertTrue(HeaderPolicy.hopByHop(name.toUpperCase(Locale.ROOT)));
  }

  @Test
  void endToEndHeadersAreNot() {
    for (String name : new String[] {"", "t", "ta", "tex", "trailers", "upgrades", "connectiox", "keep_alive",
        "content-type", "content-length", "date", "server", "x-forwarded-for", "proxy-connectiom",
        "transfer-encodinG2", "proxy-authenticatf", "proxy-authorizatioN1", "set-cookie", "etag"}) {
      assertFalse(HeaderPolicy.hopByHop(name), name);
    }
  }
}
