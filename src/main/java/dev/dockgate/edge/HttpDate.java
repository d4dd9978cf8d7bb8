package dev.dockgate.edge;

import io.netty.handler.codec.DateFormatter;
import java.util.Date;

/**
 * The {@code Date} field value (RFC 9110 §6.6.1, IMF-fixdate) for the answers the gateway makes itself, formatted once
 * per second and shared by every thread (a stale read only formats the same second again).
 */
public final class HttpDate {

  private record Second(long epochSecond, String text) {
  }

  private static volatile Second current = new Second(-1, "");

  private HttpDate() {
  }

  public static String now() {
    long second = System.currentTimeMillis() / 1000;
    Second seen = current;
    if (seen.epochSecond() != second) {
      seen = new Second(second, DateFormatter.format(new Date(second * 1000)));
      current = seen;
    }
    return seen.text();
  }
}
