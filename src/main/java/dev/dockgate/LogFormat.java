package dev.dockgate;

import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Locale;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * The format of the gateway's own log (java.util.logging, on standard error): {@code text}, one
 * readable line per record, or {@code json}, one JSON object per line with time, level, logger,
 * message and, when there is one, exception (its stack trace). Chosen by the system property
 * {@code gateway.log.format}, else the environment variable {@code GATEWAY_LOG_FORMAT}, else text.
 * Set up once, from the main thread, before the first logger is made.
 */
public final class LogFormat {

  public static final String PROPERTY = "gateway.log.format";
  public static final String ENV = "GATEWAY_LOG_FORMAT";

  private LogFormat() {
  }

  /** Applies the configured format to the root logger's handlers; returns a problem to report, or null. */
  static String setUp() {
    if (System.getProperty("java.util.logging.config.file") == null
        && System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
      System.setProperty("java.util.logging.SimpleFormatter.format", "%1$tF %1$tT.%1$tL %4$-7s [%3$s] %5$s%6$s%n");
    }
    NettyLogPace.install();
    String property = System.getProperty(PROPERTY);
    String value = property != null ? property : System.getenv(ENV);
    String format = value == null || value.isBlank() ? "text" : value.trim().toLowerCase(Locale.ROOT);
    switch (format) {
      case "text":
        return null;
      case "json":
        for (Handler handler : Logger.getLogger("").getHandlers()) {
          handler.setFormatter(new Json());
        }
        return null;
      default:
        return (property != null ? "-D" + PROPERTY : ENV) + ": unknown log format \"" + value + "\"; known: text, json";
    }
  }

  /** One JSON object per record, on one line (newlines inside the message are escaped). */
  public static final class Json extends Formatter {

    @Override
    public String format(LogRecord record) {
      JsonObject line = new JsonObject()
          .put("time", dev.dockgate.observability.AccessLogLine.ISO_MILLIS.format(record.getInstant()))
          .put("level", record.getLevel().getName())
          .put("logger", record.getLoggerName())
          .put("message", formatMessage(record));
      if (record.getThrown() != null) {
        StringWriter trace = new StringWriter();
        record.getThrown().printStackTrace(new PrintWriter(trace));
        line.put("exception", trace.toString());
      }
      return line.encode() + "\n";
    }
  }
}
