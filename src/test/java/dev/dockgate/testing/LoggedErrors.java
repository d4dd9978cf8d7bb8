package dev.dockgate.testing;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * What an in-process gateway logs as an error while this is open: SEVERE lines, and lines of INFO or above
 * that carry a stack trace (an expected network event must be neither). Listens on the root logger.
 */
public final class LoggedErrors extends Handler implements AutoCloseable {

  private final List<String> lines = new CopyOnWriteArrayList<>();

  public LoggedErrors() {
    Logger.getLogger("").addHandler(this);
  }

  @Override
  public void publish(LogRecord record) {
    int level = record.getLevel().intValue();
    if (level >= Level.SEVERE.intValue() || record.getThrown() != null && level >= Level.INFO.intValue()) {
      lines.add(record.getLevel() + " " + record.getLoggerName() + ": " + record.getMessage()
          + (record.getThrown() == null ? "" : " " + record.getThrown()));
    }
  }

  /** The lines caught so far. */
  public List<String> lines() {
    return List.copyOf(lines);
  }

  @Override
  public void flush() {
  }

  @Override
  public void close() {
    Logger.getLogger("").removeHandler(this);
  }
}
