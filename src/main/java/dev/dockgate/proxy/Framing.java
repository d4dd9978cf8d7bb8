package dev.dockgate.proxy;

import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;

/** How a message's body is framed, as its head says (Transfer-Encoding, Content-Length): pure, no allocation. */
final class Framing {

  /** A Content-Length of 0. */
  static final CharSequence ZERO = HttpHeaders.createOptimized("0");

  private Framing() {
  }

  /** Whether the body is chunked: true, false (no Transfer-Encoding), or null for any other coding. */
  static Boolean chunked(MultiMap headers) {
    String te = headers.get(HttpHeaders.TRANSFER_ENCODING);
    if (te == null) {
      return false;
    }
    for (String value : headers.getAll(HttpHeaders.TRANSFER_ENCODING)) {
      if (!value.equals("chunked")) {
        return null;
      }
    }
    return true;
  }

  /** Whether a backend's Transfer-Encoding lines name chunked alone (in any case: backends are read tolerantly). */
  static boolean onlyChunked(MultiMap headers) {
    for (String value : headers.getAll(HttpHeaders.TRANSFER_ENCODING)) {
      if (!value.trim().equalsIgnoreCase("chunked")) {
        return false;
      }
    }
    return true;
  }

  /** A Transfer-Encoding, or a Content-Length other than 0. */
  static boolean declaresBody(MultiMap headers) {
    String length = headers.get(HttpHeaders.CONTENT_LENGTH);
    return headers.contains(HttpHeaders.TRANSFER_ENCODING) || (length != null && !length.trim().equals("0"));
  }

  /**
   * Without a body by its head: no Transfer-Encoding and no Content-Length, or a zero one (RFC 9112 §6.3;
   * an HTTP/2 request that has a body without a length was marked chunked when its first frame came).
   */
  static boolean bodiless(HttpServerRequest request) {
    String length = request.getHeader(HttpHeaders.CONTENT_LENGTH);
    return (length == null || length.trim().equals("0")) && request.getHeader(HttpHeaders.TRANSFER_ENCODING) == null;
  }

  /** A Content-Length's value, or -1 when it is not a number. */
  static long contentLength(String value) {
    try {
      return Long.parseLong(value);
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
