package dev.dockgate.observability;

import dev.dockgate.config.AccessLogConfig;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/** Formats one traffic event as an access-log line. Pure. */
public final class AccessLogLine {

  private static final DateTimeFormatter CLF_TIME =
      DateTimeFormatter.ofPattern("dd/MMM/yyyy:HH:mm:ss Z", Locale.ROOT).withZone(ZoneOffset.UTC);

  private AccessLogLine() {
  }

  public static String format(AccessLogConfig.Format format, JsonObject event) {
    return format == AccessLogConfig.Format.JSON ? json(event) : combined(event);
  }

  /** The traffic event as it is, with the time as ISO-8601 first. */
  static String json(JsonObject event) {
    String encoded = event.encode();
    return "{\"time\":\"" + Instant.ofEpochMilli(event.getLong("timestamp", 0L)) + "\","
        + encoded.substring(1);
  }

  /**
   * The combined log format (client, time, request line, status, bytes, referer and user agent as
   * "-"), followed by the gateway's own fields as key=value.
   */
  static String combined(JsonObject e) {
    return dash(e.getString("client")) + " - - [" + CLF_TIME.format(Instant.ofEpochMilli(e.getLong("timestamp", 0L)))
        + "] \"" + e.getString("method") + " " + e.getString("path") + " " + e.getString("protocol", "HTTP/1.1") + "\" " + e.getInteger("status")
        + " " + e.getLong("bytes", 0L) + " \"-\" \"-\" request_id=" + dash(e.getString("request_id"))
        + " consumer=" + dash(e.getString("consumer"))
        + " route=" + dash(e.getString("route")) + " backend=" + dash(e.getString("backend"))
        + " instance=" + dash(e.getString("instance")) + " latency_ms=" + e.getDouble("latency_ms", 0.0);
  }

  private static String dash(String value) {
    return value == null || value.isEmpty() ? "-" : value;
  }
}
