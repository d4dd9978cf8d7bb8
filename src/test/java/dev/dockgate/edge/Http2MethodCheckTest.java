package dev.dockgate.edge;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class Http2MethodCheckTest {

  @ParameterizedTest
  @ValueSource(strings = {"GET", "get", "PROPFIND", "M-SEARCH", "X!#$%&'*+.^_`|~9"})
  void tokensPass(String method) {
    assertDoesNotThrow(() -> Http2MethodCheck.check(1, new DefaultHttp2Headers(false).method(method)));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "GET /x", "G(T", "GET\t", "G\"T", "GÉT", "GET\u0000"})
  void otherNamesResetTheirStreamOnly(String method) {
    Http2Exception refused = assertThrows(Http2Exception.class,
        () -> Http2MethodCheck.check(7, new DefaultHttp2Headers(false).method(method)));
    assertEquals(Http2Error.PROTOCOL_ERROR, refused.error());
    assertEquals(7, ((Http2Exception.StreamException) refused).streamId(), "a stream error, not the connection's");
  }

  @ParameterizedTest
  @ValueSource(strings = {"/", "/up/x?q=1", "//double", "*"})
  void originFormPathsAndAsteriskPass(String path) {
    assertDoesNotThrow(() -> Http2MethodCheck.check(1, new DefaultHttp2Headers(false).method("GET").path(path)));
  }

  @ParameterizedTest
  @ValueSource(strings = {"http://elsewhere.example/x", "https://a/", "up/x", "**", "?q", "/a b", "/x?q=1 HTTP/1.1",
      "/caf\u00e9", "/a\tb", "/a\u007fb"})
  void otherPathsResetTheirStreamOnly(String path) {
    Http2Exception refused = assertThrows(Http2Exception.class,
        () -> Http2MethodCheck.check(5, new DefaultHttp2Headers(false).method("GET").path(path)));
    assertEquals(Http2Error.PROTOCOL_ERROR, refused.error());
    assertEquals(5, ((Http2Exception.StreamException) refused).streamId(), "a stream error, not the connection's");
  }

  @ParameterizedTest
  @ValueSource(strings = {"a ", "a\t", "a b  ", " "})
  void aValueEndingWithWhitespaceResetsItsStreamOnlyInTrailersToo(String value) {
    Http2Exception refused = assertThrows(Http2Exception.class,
        () -> Http2MethodCheck.check(9, new DefaultHttp2Headers(false).method("GET").path("/x").add("x-note", value)));
    assertEquals(Http2Error.PROTOCOL_ERROR, refused.error());
    assertEquals(9, ((Http2Exception.StreamException) refused).streamId(), "a stream error, not the connection's");
    assertThrows(Http2Exception.class, () -> Http2MethodCheck.check(9, new DefaultHttp2Headers(false).add("x-note", value)));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "a", "a b", "a\tb"})
  void valuesWithinPass(String value) {
    assertDoesNotThrow(() -> Http2MethodCheck.check(1, new DefaultHttp2Headers(false).method("GET").path("/x")
        .add("x-note", value)));
  }

  @Test
  void trailersHaveNoMethodAndPass() {
    assertDoesNotThrow(() -> Http2MethodCheck.check(3, new DefaultHttp2Headers(false).add("grpc-status", "0")));
  }

  /** An empty port is no port, as with HTTP/1's Host: Vert.x read {@code a.example:} as port 0. */
  @ParameterizedTest
  @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', value = {
      "a.example:|a.example", "[::1]:|[::1]", "[::1]:8080|[::1]:8080", "a.example|a.example", "a.example:0|a.example:0"})
  void anEmptyPortInTheAuthorityIsDropped(String sent, String read) throws Http2Exception {
    io.netty.handler.codec.http2.Http2Headers headers = new DefaultHttp2Headers(false).method("GET").path("/x").authority(sent);
    Http2MethodCheck.check(1, headers);
    assertEquals(read, headers.authority().toString());
  }
}
