package dev.dockgate.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import org.junit.jupiter.api.Test;

class FileDescriptorsTest {

  @Test
  void twoDescriptorsPerClientConnectionAfterABase() {
    assertEquals((20_000 - 128) / 2, FileDescriptors.fit(20_000, 128));
    assertEquals((20_000 - 300) / 2, FileDescriptors.fit(20_000, 300));
    assertEquals(1, FileDescriptors.fit(64, 128), "never below one connection");
    assertEquals(0, FileDescriptors.fit(-1, 128), "a limit the JVM cannot tell holds nothing back");
  }

  @Test
  void theBaseIsWhatIsOpenNowAndAMarginAtLeast128() {
    long base = FileDescriptors.base();
    assertTrue(base >= FileDescriptors.BASE, Long.toString(base));
    long open = ((com.sun.management.UnixOperatingSystemMXBean)
        java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getOpenFileDescriptorCount();
    assertTrue(base >= open + FileDescriptors.MARGIN - 16, base + " for " + open + " open");
  }

  @Test
  void theCapIsHeldOnlyWhereTheLimitCannotHoldIt() {
    assertEquals(0, FileDescriptors.heldAt(10_000, 1_048_576, 128));
    assertEquals(0, FileDescriptors.heldAt(500, 4096, 128));
    assertEquals(1984, FileDescriptors.heldAt(10_000, 4096, 128));
    assertEquals(1984, FileDescriptors.heldAt(0, 4096, 128), "no limit in the config is still the descriptors' limit");
    assertEquals(0, FileDescriptors.heldAt(0, -1, 128));
    String held = FileDescriptors.held(10_000, 1984, 4096, 128);
    assertTrue(held.startsWith("server.max_connections held at 1984 (configured: 10000): the process may open 4096"
        + " file descriptors, holds 128 besides its connections"), held);
  }

  @Test
  void aCeilingHoldsEveryConfiguredCapBelowIt() {
    OpenConnections open = new OpenConnections();
    assertEquals(10_000, open.within(10_000));
    assertEquals(0, open.within(0));
    open.ceiling(86);
    assertEquals(86, open.within(10_000));
    assertEquals(50, open.within(50));
    assertEquals(86, open.within(0));
  }

  @Test
  void backendConnectsRefusedForWantOfDescriptorsAreSaidOncePerTenSeconds() {
    java.util.logging.Logger logger = java.util.logging.Logger.getLogger(FileDescriptors.class.getName());
    java.util.List<String> said = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.logging.Handler handler = new java.util.logging.Handler() {
      @Override
      public void publish(java.util.logging.LogRecord record) {
        said.add(record.getMessage());
      }

      @Override
      public void flush() {
      }

      @Override
      public void close() {
      }
    };
    logger.addHandler(handler);
    logger.setUseParentHandlers(false); // the CI log keeps only warnings worth reading
    try {
      for (int i = 0; i < 5; i++) {
        FileDescriptors.backendConnectFailed("app", "127.0.0.1:8080");
      }
    } finally {
      logger.removeHandler(handler);
      logger.setUseParentHandlers(true);
    }
    assertEquals(1, said.size(), said.toString());
    assertTrue(said.get(0).startsWith("no file descriptor left to connect to backend \"app\" instance 127.0.0.1:8080"
        + " (1 backend connection(s) refused so since the last such line; the process's limit is "), said.get(0));
  }

  @Test
  void outOfDescriptorsIsRecognisedAsEachTransportWordsIt() {
    assertTrue(FileDescriptors.exhausted(new IOException("io_uring accept(..) failed with error(-24): Too many open"
        + " files")));
    assertTrue(FileDescriptors.exhausted(new IOException("accept(..) failed: Too many open files in system")));
    assertTrue(FileDescriptors.exhausted(new RuntimeException(new IOException("Too many open files"))));
    assertFalse(FileDescriptors.exhausted(new IOException("Connection reset by peer")));
  }
}
