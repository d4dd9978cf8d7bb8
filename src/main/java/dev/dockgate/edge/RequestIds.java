package dev.dockgate.edge;

import dev.dockgate.events.TrafficEvent;
import io.vertx.core.http.HttpServerRequest;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Gives every request exactly one id: the client's X-Request-Id when it sent exactly one and it is a
 * sane token (up to 128 visible ASCII characters), else 32 random hex digits. The exchange keeps it;
 * the backend, the response, the access log and the traffic event all get that one value.
 */
public final class RequestIds {

  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private RequestIds() {
  }

  public static String of(HttpServerRequest request) {
    String given = request.getHeader(TrafficEvent.REQUEST_ID_HEADER);
    if (given == null) {
      return generate();
    }
    // Two ids would let a backend log one and the gateway another.
    return acceptable(given) && request.headers().getAll(TrafficEvent.REQUEST_ID_HEADER).size() == 1
        ? given : generate();
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

  /** A new id: 32 random hex digits. */
  public static String generate() {
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
