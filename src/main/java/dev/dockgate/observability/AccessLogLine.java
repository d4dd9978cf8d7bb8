package dev.dockgate.observability;

import dev.dockgate.config.AccessLogConfig;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/** Formats one traffic event as an access-log line. Pure. */
public final class AccessLogLine {

  private static final DateTimeFormatter CLF_TIME =
      DateTimeFormatter.ofPattern("dd/MMM/yyyy:HH:mm:ss Z", Locale.ROOT).withZone(ZoneOffset.UTC);
  /**
   * ISO-8601 in UTC to the millisecond, always three digits ({@code Instant.toString()} leaves them out on a whole
   * second): every line's time has one width, for fixed-layout parsers and for sorting as text.
   */
  public static final DateTimeFormatter ISO_MILLIS =
      DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSX", Locale.ROOT).withZone(ZoneOffset.UTC);
  private static final char[] HEX = "0123456789ABCDEF".toCharArray();

  private AccessLogLine() {
  }

  public static String format(AccessLogConfig.Format format, JsonObject event) {
    return format == AccessLogConfig.Format.JSON ? json(event) : combined(event);
  }

  /** The traffic event as it is, with the time as ISO-8601 first. */
  static String json(JsonObject event) {
    String encoded = event.encode();
    return "{\"time\":\"" + ISO_MILLIS.format(Instant.ofEpochMilli(event.getLong("timestamp", 0L))) + "\","
        + encoded.substring(1);
  }

  /**
   * The combined log format (client, time, request line, status, bytes, referer and user agent as
   * "-"), followed by the gateway's own fields as key=value ({@code retries=N} for a request sent again after a
   * failed try, {@code cut=backend} last, for an answer its backend cut mid-body). The request line has the target as the
   * client sent it, query included (nginx's {@code $request}), escaped as nginx does; {@code -} when the codec could
   * not read it (the event has no method).
   */
  static String combined(JsonObject e) {
    return dash(e.getString("client")) + " - - [" + CLF_TIME.format(Instant.ofEpochMilli(e.getLong("timestamp", 0L)))
        + "] \"" + requestLine(e) + "\" " + e.getInteger("status")
        + " " + e.getLong("bytes", 0L) + " \"-\" \"-\" request_id=" + dash(e.getString("request_id"))
        + " consumer=" + dash(e.getString("consumer"))
        + " route=" + dash(e.getString("route")) + " backend=" + dash(e.getString("backend"))
        + " instance=" + dash(e.getString("instance")) + " latency_ms=" + e.getDouble("latency_ms", 0.0)
        + (e.containsKey("grpc_status") ? " grpc_status=" + e.getValue("grpc_status") : "")
        + (e.containsKey("retries") ? " retries=" + e.getValue("retries") : "")
        + (e.containsKey("cut") ? " cut=" + e.getValue("cut") : "");
  }

  private static String requestLine(JsonObject e) {
    String method = e.getString("method");
    if (method == null) {
      return "-";
    }
    String query = e.getString("query");
    String target = query == null ? e.getString("path") : e.getString("path") + "?" + query;
    return method + " " + escaped(target) + " " + e.getString("protocol", "HTTP/1.1");
  }

  /**
   * {@code text} with every byte that could end the quoted request line or the line itself, or
   * mislead a reader ({@code "}, {@code \}, control bytes, DEL and non-ASCII), written as
   * {@code \xHH}, as nginx escapes its access log: a request cannot forge a field or a line. Also for outside
   * values quoted in the gateway's own log (a container's labels).
   */
  public static String escaped(String text) {
    int i = 0;
    while (i < text.length() && plain(text.charAt(i))) {
      i++;
    }
    if (i == text.length()) {
      return text;
    }
    StringBuilder out = new StringBuilder(text.length() + 16).append(text, 0, i);
    for (byte b : text.substring(i).getBytes(StandardCharsets.UTF_8)) {
      int c = b & 0xff;
      if (plain((char) c)) {
        out.append((char) c);
      } else {
        out.append("\\x").append(HEX[c >> 4]).append(HEX[c & 0xf]);
      }
    }
    return out.toString();
  }

  private static boolean plain(char c) {
    return c > 0x1f && c < 0x7f && c != '"' && c != '\\';
  }

  private static String dash(String value) {
    return value == null || value.isEmpty() ? "-" : value;
  }
}
