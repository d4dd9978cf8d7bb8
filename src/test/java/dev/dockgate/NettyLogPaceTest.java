package dev.dockgate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/** Netty's io_uring overflow line, logged through the real logger with the filter the gateway installs. */
class NettyLogPaceTest {

  @Test
  void theOverflowLineIsSaidOnceAPeriodWithItsCountAndOtherLinesPass() throws InterruptedException {
    Logger logger = Logger.getLogger(NettyLogPace.LOGGER);
    List<String> seen = new ArrayList<>();
    Handler capture = new Handler() {
      @Override
      public void publish(LogRecord record) {
        seen.add(record.getMessage()); // the logger's filter was asked before its handlers
      }

      @Override
      public void flush() {
      }

      @Override
      public void close() {
      }
    };
    logger.setFilter(new NettyLogPace(300, TimeUnit.MILLISECONDS));
    logger.setUseParentHandlers(false);
    logger.addHandler(capture);
    try {
      for (int i = 0; i < 1000; i++) {
        logger.log(Level.WARNING, "CompletionQueue overflow detected, consider increasing size: 4096 ");
      }
      logger.log(Level.WARNING, "something else");
      Thread.sleep(400);
      logger.log(Level.WARNING, "CompletionQueue overflow detected, consider increasing size: 4096 ");
      assertEquals(3, seen.size(), seen.toString());
      assertTrue(seen.get(0).contains("1 time(s) since the last such line"), seen.get(0));
      assertEquals("something else", seen.get(1));
      assertTrue(seen.get(2).contains("1000 time(s) since the last such line"), seen.get(2));
    } finally {
      logger.removeHandler(capture);
      logger.setUseParentHandlers(true);
      NettyLogPace.install();
    }
  }
}
