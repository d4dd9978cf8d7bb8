package dev.dockgate.testing;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * What an in-process gateway logs as an error while this is open: SEVERE lines, and lines of INFO or above
 * that carry a stack trace (an expected network event must be neither). Listens on the root logger, or on the
 * logger and level given.
 */
public final class LoggedErrors extends Handler implements AutoCloseable {

  private final List<String> lines = new CopyOnWriteArrayList<>();
  private final Logger logger;
  private final Level atLeast;

  public LoggedErrors() {
    this("", Level.SEVERE);
  }

  /** Lines of {@code logger} (and the loggers below it) at {@code atLeast} or above, or with a stack trace. */
  public LoggedErrors(String logger, Level atLeast) {
    this.logger = Logger.getLogger(logger); // held: java.util.logging keeps loggers weakly
    this.atLeast = atLeast;
    this.logger.addHandler(this);
  }

  @Override
  public void publish(LogRecord record) {
    int level = record.getLevel().intValue();
    if (level >= atLeast.intValue() || record.getThrown() != null && level >= Level.INFO.intValue()) {
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
    logger.removeHandler(this);
  }
}
