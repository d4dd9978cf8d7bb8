package dev.dockgate.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The hop-by-hop rules on headers toward the client (ForwardingIT and WebSocketIT check the whole path). */
class HeaderPolicyTest {

  @ParameterizedTest
  @ValueSource(strings = {"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
      "Proxy-Authorization", "TE", "Trailer", "Transfer-Encoding", "Upgrade", "HTTP2-Settings"})
  void everyHopByHopNameIsFoundInAnyCase(String name) {
    assertTrue(HeaderPolicy.hopByHop(name));
    assertTrue(HeaderPolicy.hopByHop(name.toLowerCase(Locale.ROOT)));
    assertTrue(HeaderPolicy.hopByHop(name.toUpperCase(Locale.ROOT)));
  }

  @Test
  void endToEndHeadersAreNot() {
    for (String name : new String[] {"", "t", "ta", "tex", "trailers", "upgrades", "connectiox", "keep_alive",
        "content-type", "content-length", "date", "server", "x-forwarded-for", "proxy-connectiom",
        "transfer-encodinG2", "proxy-authenticatf", "proxy-authorizatioN1", "http2-settingz", "set-cookie", "etag"}) {
      assertFalse(HeaderPolicy.hopByHop(name), name);
    }
  }

  /** A backend's answer headers: end-to-end ones in mixed case, every hop-by-hop kind, and one the Connection header names. */
  private static MultiMap backendAnswer(String connection) {
    return HttpHeaders.headers().add("Server", "nginx").add("Content-Type", "text/plain").add("Keep-Alive", "timeout=5")
        .add("Connection", connection).add("Set-Cookie", "a=1").add("Upgrade", "websocket").add("TE", "trailers")
        .add("Transfer-Encoding", "chunked").add("Proxy-Connection", "keep-alive").add("Trailer", "x-sum")
        .add("Proxy-Authenticate", "Basic").add("X-Private-Hop", "1").add("Set-Cookie", "b=2").add("ETag", "\"v1\"");
  }

  private static List<Map.Entry<String, String>> copied(int status, MultiMap from, MultiMap to) {
    HeaderPolicy.copyResponse(status, from, to);
    return to.entries().stream().map(e -> Map.entry(e.getKey(), e.getValue())).toList();
  }

  @Test
  void answerHeadersKeepEndToEndOnesInOrderAndDropHopByHopAndConnectionNamedOnes() {
    List<Map.Entry<String, String>> got = copied(200, backendAnswer("keep-alive, X-Private-Hop"), HttpHeaders.headers());
    assertEquals(List.of(Map.entry("Server", "nginx"), Map.entry("Content-Type", "text/plain"), Map.entry("Set-Cookie", "a=1"),
        Map.entry("Set-Cookie", "b=2"), Map.entry("ETag", "\"v1\"")), got);
  }

  @Test
  void teTrailersIsReadAsAListMemberWithOrWithoutParameters() {
    for (String te : new String[] {"trailers", "TRAILERS", "gzip, trailers", "trailers;q=1", " deflate ,trailers "}) {
      assertTrue(HeaderPolicy.acceptsTrailers(HttpHeaders.headers().add("TE", te)), te);
    }
    for (String te : new String[] {"gzip", "trailersx", "", "chunked, gzip;q=0.5"}) {
      assertFalse(HeaderPolicy.acceptsTrailers(HttpHeaders.headers().add("TE", te)), te);
    }
    assertFalse(HeaderPolicy.acceptsTrailers(HttpHeaders.headers()));
    assertTrue(HeaderPolicy.acceptsTrailers(HttpHeaders.headers().add("TE", "gzip").add("te", "trailers")));
  }

  @Test
  void trailersKeepEndToEndFieldsOnly() {
    MultiMap from = HttpHeaders.headers().add("grpc-status", "5").add("Content-Length", "9").add("Transfer-Encoding", "chunked")
        .add("Connection", "close").add("Host", "h").add("x-checksum", "a").add("x-checksum", "b");
    MultiMap to = HttpHeaders.headers();
    HeaderPolicy.copyTrailers(from, to);
    assertEquals(List.of(Map.entry("grpc-status", "5"), Map.entry("x-checksum", "a"), Map.entry("x-checksum", "b")),
        to.entries());
  }

  @Test
  void aSwitchingAnswerKeepsConnectionAndUpgrade() {
    List<Map.Entry<String, String>> got = copied(101, backendAnswer("Upgrade"), HttpHeaders.headers());
    assertEquals(List.of(Map.entry("Server", "nginx"), Map.entry("Content-Type", "text/plain"),
        Map.entry("Connection", "Upgrade"), Map.entry("Set-Cookie", "a=1"), Map.entry("Upgrade", "websocket"),
        Map.entry("X-Private-Hop", "1"), Map.entry("Set-Cookie", "b=2"), Map.entry("ETag", "\"v1\"")), got);
  }

  /** Headers already set on the answer take the entry-by-entry path; it must give the same headers after them. */
  @Test
  void bothCopyPathsAgree() {
    for (int status : new int[] {200, 101, 404}) {
      for (String connection : new String[] {"keep-alive", "close", "keep-alive, X-Private-Hop", "Upgrade, ETag"}) {
        List<Map.Entry<String, String>> fast = copied(status, backendAnswer(connection), HttpHeaders.headers());
        List<Map.Entry<String, String>> slow = copied(status, backendAnswer(connection), HttpHeaders.headers().add("X-First", "1"));
        assertEquals(Map.entry("X-First", "1"), slow.get(0));
        assertEquals(fast, slow.subList(1, slow.size()), status + " " + connection);
      }
    }
  }
}
