package dev.dockgate.routing;

import dev.dockgate.events.TrafficEvent;
import io.vertx.core.http.HttpServerRequest;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Gives every request an id: the client's X-Request-Id when it is a sane token (up to 128 visible
 * ASCII characters), else 32 random hex digits. Stored in the request's headers, so it is forwarded
 * to the backend; the response and the traffic event carry it too.
 */
final class RequestIds {

  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private RequestIds() {
  }

  static void assign(HttpServerRequest request) {
    String given = request.getHeader(TrafficEvent.REQUEST_ID_HEADER);
    if (!acceptable(given)) {
      request.headers().set(TrafficEvent.REQUEST_ID_HEADER, generate());
    }
  }

  static boolean acceptable(String id) {
    if (id == null || id.isEmpty() || id.length() > 128) {
      return false;
    }
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      if (c <= 0x20 || c >= 0x7f) {
        return false;
      }
    }
    return true;
  }

  static String generate() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    long hi = random.nextLong();
    long lo = random.nextLong();
    char[] out = new char[32];
    for (int i = 0; i < 16; i++) {
      out[i] = HEX[(int) (hi >>> (60 - 4 * i)) & 0xf];
      out[16 + i] = HEX[(int) (lo >>> (60 - 4 * i)) & 0xf];
    }
    return new String(out);
  }
}
