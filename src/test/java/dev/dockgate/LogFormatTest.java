package dev.dockgate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;

/** The JSON log line: one object per record, on one line, with the exception when there is one. */
class LogFormatTest {

  private static LogRecord record(Level level, String message, Throwable thrown, Object... params) {
    LogRecord record = new LogRecord(level, message);
    record.setLoggerName("dev.dockgate.Example");
    record.setInstant(Instant.parse("2025-03-04T05:06:07.123456Z"));
    record.setParameters(params.length == 0 ? null : params);
    record.setThrown(thrown);
    return record;
  }

  @Test
  void aRecordIsOneObjectOnOneLine() {
    String line = new LogFormat.Json().format(record(Level.WARNING, "two\nlines \"quoted\" {0}", null, "param"));
    assertTrue(line.endsWith("\n"));
    assertEquals(1, line.split("\n", -1).length - 1, "exactly one line: " + line);
    JsonObject json = new JsonObject(line);
    assertEquals(new JsonObject().put("time", "2025-03-04T05:06:07.123Z").put("level", "WARNING")
        .put("logger", "dev.dockgate.Example").put("message", "two\nlines \"quoted\" param"), json);
  }

  @Test
  void theTimeKeepsItsMillisecondsOnAWholeSecond() {
    LogRecord record = record(Level.INFO, "on the second", null);
    record.setInstant(Instant.parse("2025-03-04T05:06:07Z"));
    assertEquals("2025-03-04T05:06:07.000Z", new JsonObject(new LogFormat.Json().format(record)).getString("time"));
  }

  @Test
  void anExceptionComesWithItsStackTrace() {
    IllegalStateException failure = new IllegalStateException("broken", new java.io.IOException("disk full"));
    JsonObject json = new JsonObject(new LogFormat.Json().format(record(Level.SEVERE, "write failed", failure)));
    String exception = json.getString("exception");
    assertTrue(exception.startsWith("java.lang.IllegalStateException: broken\n\tat dev.dockgate.LogFormatTest."), exception);
    assertTrue(exception.contains("Caused by: java.io.IOException: disk full"), exception);
    assertEquals("write failed", json.getString("message"));
    assertFalse(json.containsKey("thread"));
  }
}
