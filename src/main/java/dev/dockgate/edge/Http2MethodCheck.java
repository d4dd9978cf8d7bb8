package dev.dockgate.edge;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpHeaderValidationUtil;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameListener;
import io.netty.handler.codec.http2.Http2FrameListenerDecorator;
import io.netty.handler.codec.http2.Http2Headers;

/**
 * Refuses an HTTP/2 request whose {@code :method} is empty or not a token (RFC 9110 §9.1: {@code GET /x},
 * {@code G(T}) as a malformed request: a stream error of type PROTOCOL_ERROR (RFC 9113 §8.1.1), so the client
 * gets RST_STREAM for that stream and the connection's other streams go on. Without it, Vert.x parses the
 * method with Netty's {@code HttpMethod}, which throws on such a name, and closes the whole connection without a
 * GOAWAY, ending every stream on it (those of other users too, behind a proxy that shares connections), and
 * without telling the client which of them were processed. An HTTP/1 request line with such a method is
 * refused by the strict decoder (400). A {@code :path} that is neither origin form nor {@code *} is refused alike, and
 * so is one holding a space, a control byte or a byte outside ASCII: no URI holds them, and the backend's HTTP/1
 * encoder throws on a space (the request then hung until {@code timeout_ms}, its 504 counted against the instance).
 * An {@code :authority} with an empty port ({@code a.example:}) loses its {@code :}, as HTTP/1's Host does; one
 * naming an IPv6 address with a zone id ({@code [fe80::1%25eth0]}) is malformed, as HTTP/1's Host gets 400.
 */
final class Http2MethodCheck extends Http2FrameListenerDecorator {

  private Http2MethodCheck(Http2FrameListener listener) {
    super(listener);
  }

  /**
   * Puts the check in front of the connection's frame listener. Called from the server's connection handler,
   * which Vert.x runs once the client's first SETTINGS frame is read and its listener set, before any
   * request's HEADERS frame is decoded.
   */
  static boolean install(Http2ConnectionHandler handler) {
    Http2FrameListener listener = handler.decoder().frameListener();
    if (listener == null || listener instanceof Http2MethodCheck) {
      return false;
    }
    handler.decoder().frameListener(new Http2MethodCheck(listener));
    return true;
  }

  @Override
  public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
      boolean endOfStream) throws Http2Exception {
    check(streamId, headers);
    super.onHeadersRead(ctx, streamId, headers, padding, endOfStream);
  }

  @Override
  public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int streamDependency,
      short weight, boolean exclusive, int padding, boolean endOfStream) throws Http2Exception {
    check(streamId, headers);
    super.onHeadersRead(ctx, streamId, headers, streamDependency, weight, exclusive, padding, endOfStream);
  }

  /**
   * A request's head (trailers carry no {@code :method}). Its {@code :path}, when there is one, must be in origin
   * form ({@code /...}) or {@code *} (RFC 9113 §8.3.1): an absolute URL or a relative path makes the request
   * malformed, as nginx and Envoy take it (Vert.x would take the path out of a URL, and the gateway route it); so
   * does a byte the strict HTTP/1 decoder refuses in a request target (a space, a control byte, non-ASCII). A field
   * value ending with a space or a tab makes the request (or its trailers) malformed too (RFC 9113 §8.2.1).
   */
  static void check(int streamId, Http2Headers headers) throws Http2Exception {
    // RFC 9113 §8.2.1: no field value starts or ends with a space or a tab (Netty refuses the leading ones).
    for (java.util.Map.Entry<CharSequence, CharSequence> field : headers) {
      CharSequence value = field.getValue();
      int last = value.length() - 1;
      if (last >= 0 && (value.charAt(last) == ' ' || value.charAt(last) == '\t')) {
        throw Http2Exception.streamError(streamId, Http2Error.PROTOCOL_ERROR,
            "a field value ends with a space or a tab");
      }
    }
    CharSequence authority = headers.authority();
    if (authority != null && authority.length() > 1 && authority.charAt(authority.length() - 1) == ':') {
      // An empty port is no port (StrictRequestDecoder.withoutEmptyPort): Vert.x would read port 0.
      headers.authority(authority.subSequence(0, authority.length() - 1));
    }
    // No URI host has a zone id (StrictRequestDecoder.zoned). Without :authority Vert.x takes the host field (with
    // both, it refuses a host field naming another).
    CharSequence host = authority != null ? authority : headers.get(io.netty.handler.codec.http.HttpHeaderNames.HOST);
    if (host != null && StrictRequestDecoder.zoned(host)) {
      throw Http2Exception.streamError(streamId, Http2Error.PROTOCOL_ERROR, "the request's host has an IPv6 zone id");
    }
    CharSequence method = headers.method();
    if (method != null && (method.length() == 0 || HttpHeaderValidationUtil.validateToken(method) != -1)) {
      throw Http2Exception.streamError(streamId, Http2Error.PROTOCOL_ERROR, "the request's :method is not a token");
    }
    CharSequence path = headers.path();
    if (path == null) {
      return;
    }
    if (path.length() > 0 && path.charAt(0) != '/' && !(path.length() == 1 && path.charAt(0) == '*')) {
      throw Http2Exception.streamError(streamId, Http2Error.PROTOCOL_ERROR, "the request's :path is not in origin form");
    }
    for (int i = 0; i < path.length(); i++) {
      if (!StrictRequestDecoder.targetChar(path.charAt(i))) {
        throw Http2Exception.streamError(streamId, Http2Error.PROTOCOL_ERROR,
            "the request's :path holds a control, space or non-ASCII byte");
      }
    }
  }
}
