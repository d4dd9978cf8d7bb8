package dev.dockgate;

import dev.dockgate.edge.LogPace;
import java.util.concurrent.TimeUnit;
import java.util.logging.Filter;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Paces Netty's io_uring line {@code CompletionQueue overflow detected, consider increasing size: 4096}: Netty logs it
 * each time a burst of completions outgrows the ring's completion queue (thousands of slow clients closing at once),
 * up to 22 lines a second in a load trial, unpaced. Nothing is lost then (the kernel keeps the overflowing
 * completions), so it is a hint, said at most once a minute with the count since the last line. Other lines of the
 * logger pass as they are.
 */
final class NettyLogPace implements Filter {

  static final String LOGGER = "io.netty.channel.uring.IoUringIoHandler";
  static final String OVERFLOW = "CompletionQueue overflow detected";
  /** Held: java.util.logging keeps loggers weakly, and a collected logger would lose its filter. */
  private static final Logger IO_URING = Logger.getLogger(LOGGER);

  private final LogPace pace;

  NettyLogPace(long every, TimeUnit unit) {
    this.pace = new LogPace(every, unit);
  }

  /** On Netty's io_uring logger, before Netty makes it. */
  static void install() {
    IO_URING.setFilter(new NettyLogPace(1, TimeUnit.MINUTES));
  }

  @Override
  public boolean isLoggable(LogRecord record) {
    String message = record.getMessage();
    if (message == null || !message.startsWith(OVERFLOW)) {
      return true;
    }
    pace.count();
    if (!pace.due()) {
      return false;
    }
    long times = pace.takeCount();
    record.setMessage(message + " (io_uring; " + times + " time(s) since the last such line, said at most once a"
        + " minute; no completion is lost)");
    return true;
  }
}
