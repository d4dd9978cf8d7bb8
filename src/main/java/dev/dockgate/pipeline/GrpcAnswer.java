package dev.dockgate.pipeline;

import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import java.nio.charset.StandardCharsets;

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
   * break, its UTF-8 bytes (a lone surrogate as U+FFFD) outside printable ASCII and {@code %} percent-encoded
   * (gRPC over HTTP/2's rule), cut at a character's end to at most {@link #MAX_MESSAGE} characters (a long default
   * response body would otherwise pass the 8 KiB of metadata gRPC clients accept by default, and the call fail with
   * a protocol error).
   */
  public static String message(String text) {
    int end = text.length();
    while (end > 0 && (text.charAt(end - 1) == '\n' || text.charAt(end - 1) == '\r')) {
      end--;
    }
    java.nio.ByteBuffer encoded;
    try {
      encoded = StandardCharsets.UTF_8.newEncoder()
          .onMalformedInput(java.nio.charset.CodingErrorAction.REPLACE).replaceWith(REPLACEMENT)
          .encode(java.nio.CharBuffer.wrap(text, 0, end));
    } catch (java.nio.charset.CharacterCodingException cannot) { // not with REPLACE
      throw new IllegalStateException(cannot);
    }
    byte[] utf8 = new byte[encoded.remaining()];
    encoded.get(utf8);
    StringBuilder out = new StringBuilder(Math.min(utf8.length, MAX_MESSAGE) + 8);
    for (int i = 0; i < utf8.length; ) {
      int b = utf8[i] & 0xff;
      int n = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2; // the character's bytes, from its first
      boolean plain = b >= 0x20 && b <= 0x7e && b != '%';
      if (out.length() + (plain ? 1 : 3 * n) > MAX_MESSAGE) {
        break;
      }
      for (int k = i; k < i + n; k++) {
        if (plain) {
          out.append((char) b);
        } else {
          out.append('%').append(HEX[(utf8[k] >> 4) & 0xf]).append(HEX[utf8[k] & 0xf]);
        }
      }
      i += n;
    }
    return out.toString();
  }

  /** The longest {@code grpc-message} the gateway sends, in characters (bytes) after encoding. */
  public static final int MAX_MESSAGE = 1024;

  /** U+FFFD in UTF-8: what a lone surrogate becomes. */
  private static final byte[] REPLACEMENT = {(byte) 0xEF, (byte) 0xBF, (byte) 0xBD};
}
