package dev.dockgate.pipeline;

import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;

/**
 * How the gateway answers a gRPC call itself (no instance, a deadline passed, a refused credential, a rate limit, no
 * route): as gRPC does, HTTP 200 with {@code content-type: application/grpc} and the call's status in
 * {@code grpc-status} and {@code grpc-message}, in one HEADERS frame that ends the stream (a trailers-only answer,
 * as Envoy's local replies to gRPC calls). A gRPC client given a bare HTTP 503 maps it to a status too (gRPC's
 * HTTP-to-status table), but loses the gateway's reason and reports an invalid content type. Stateless.
 */
public final class GrpcAnswer {

  static final CharSequence CONTENT_TYPE = HttpHeaders.createOptimized("application/grpc");
  static final CharSequence GRPC_STATUS = HttpHeaders.createOptimized("grpc-status");
  static final CharSequence GRPC_MESSAGE = HttpHeaders.createOptimized("grpc-message");

  /** gRPC's status codes the gateway answers with. */
  public static final int CANCELLED = 1;
  public static final int UNKNOWN = 2;
  public static final int DEADLINE_EXCEEDED = 4;
  public static final int PERMISSION_DENIED = 7;
  public static final int RESOURCE_EXHAUSTED = 8;
  public static final int UNIMPLEMENTED = 12;
  public static final int INTERNAL = 13;
  public static final int UNAVAILABLE = 14;
  public static final int UNAUTHENTICATED = 16;

  private static final char[] HEX = "0123456789ABCDEF".toCharArray();

  private GrpcAnswer() {
  }

  /** Whether {@code request} is a gRPC call, which gets its answers this way: HTTP/2 with a gRPC content type. */
  static boolean wanted(HttpServerRequest request) {
    return request.version() == HttpVersion.HTTP_2 && dev.dockgate.edge.Protocols.grpc(request);
  }

  /**
   * The gRPC status of the gateway's HTTP answer {@code status}: gRPC's own table for an HTTP status (400 INTERNAL,
   * 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 UNIMPLEMENTED, 429/502/503 UNAVAILABLE, others UNKNOWN), but for
   * the cases where the gateway knows more: 504 is a deadline it gave up at (DEADLINE_EXCEEDED), 413 a limit
   * (RESOURCE_EXHAUSTED, gRPC's status for a message too large) and 500 its own failure (INTERNAL).
   */
  public static int statusOf(int httpStatus) {
    return switch (httpStatus) {
      case 400, 500 -> INTERNAL;
      case 401 -> UNAUTHENTICATED;
      case 403 -> PERMISSION_DENIED;
      case 404 -> UNIMPLEMENTED;
      case 413 -> RESOURCE_EXHAUSTED;
      case 429, 502, 503 -> UNAVAILABLE;
      case 504 -> DEADLINE_EXCEEDED;
      default -> UNKNOWN;
    };
  }

  /**
   * {@code text} (what the gateway answers other clients) as a {@code grpc-message} value: without its final line
   * break, its UTF-8 bytes outside printable ASCII and {@code %} percent-encoded (gRPC over HTTP/2's rule), cut at a
   * character's end to at most {@link #MAX_MESSAGE} characters (a long default response body would otherwise pass
   * the 8 KiB of metadata gRPC clients accept by default, and the call fail with a protocol error).
   */
  public static String message(String text) {
    int end = text.length();
    while (end > 0 && (text.charAt(end - 1) == '\n' || text.charAt(end - 1) == '\r')) {
      end--;
    }
    StringBuilder out = new StringBuilder(Math.min(end, MAX_MESSAGE) + 8);
    byte[] utf8 = new byte[4];
    for (int i = 0; i < end; ) {
      int c = text.codePointAt(i);
      i += Character.charCount(c);
      if (c >= 0x20 && c <= 0x7e && c != '%') {
        if (out.length() + 1 > MAX_MESSAGE) {
          break;
        }
        out.append((char) c);
        continue;
      }
      int n = utf8(c, utf8);
      if (out.length() + 3 * n > MAX_MESSAGE) {
        break;
      }
      for (int b = 0; b < n; b++) {
        out.append('%').append(HEX[(utf8[b] >> 4) & 0xf]).append(HEX[utf8[b] & 0xf]);
      }
    }
    return out.toString();
  }

  /** The longest {@code grpc-message} the gateway sends, in characters (bytes) after encoding. */
  public static final int MAX_MESSAGE = 1024;

  /** {@code c}'s UTF-8 bytes in {@code out} (a lone surrogate as U+FFFD); gives how many. */
  private static int utf8(int c, byte[] out) {
    if (c >= Character.MIN_SURROGATE && c <= Character.MAX_SURROGATE) {
      c = 0xFFFD;
    }
    if (c < 0x80) {
      out[0] = (byte) c;
      return 1;
    }
    if (c < 0x800) {
      out[0] = (byte) (0xC0 | c >> 6);
      out[1] = (byte) (0x80 | c & 0x3F);
      return 2;
    }
    if (c < 0x10000) {
      out[0] = (byte) (0xE0 | c >> 12);
      out[1] = (byte) (0x80 | c >> 6 & 0x3F);
      out[2] = (byte) (0x80 | c & 0x3F);
      return 3;
    }
    out[0] = (byte) (0xF0 | c >> 18);
    out[1] = (byte) (0x80 | c >> 12 & 0x3F);
    out[2] = (byte) (0x80 | c >> 6 & 0x3F);
    out[3] = (byte) (0x80 | c & 0x3F);
    return 4;
  }
}
