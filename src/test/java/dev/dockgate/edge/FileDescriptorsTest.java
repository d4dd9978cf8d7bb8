package dev.dockgate.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import org.junit.jupiter.api.Test;

class FileDescriptorsTest {

  @Test
  void twoDescriptorsPerClientConnectionAfterABase() {
    assertEquals((20_000 - FileDescriptors.BASE) / 2, FileDescriptors.fit(20_000));
    assertEquals(1, FileDescriptors.fit(64), "never below one connection");
    assertEquals(0, FileDescriptors.fit(-1), "a limit the JVM cannot tell holds nothing back");
  }

  @Test
  void theCapIsHeldOnlyWhereTheLimitCannotHoldIt() {
    assertEquals(0, FileDescriptors.heldAt(10_000, 1_048_576));
    assertEquals(0, FileDescriptors.heldAt(500, 4096));
    assertEquals(1984, FileDescriptors.heldAt(10_000, 4096));
    assertEquals(1984, FileDescriptors.heldAt(0, 4096), "no limit in the config is still the descriptors' limit");
    assertEquals(0, FileDescriptors.heldAt(0, -1));
    assertTrue(FileDescriptors.held(10_000, 1984, 4096).startsWith("server.max_connections held at 1984 (configured:"
        + " 10000): the process may open 4096 file descriptors"), FileDescriptors.held(10_000, 1984, 4096));
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
  void outOfDescriptorsIsRecognisedAsEachTransportWordsIt() {
    assertTrue(FileDescriptors.exhausted(new IOException("io_uring accept(..) failed with error(-24): Too many open"
        + " files")));
    assertTrue(FileDescriptors.exhausted(new IOException("accept(..) failed: Too many open files in system")));
    assertTrue(FileDescriptors.exhausted(new RuntimeException(new IOException("Too many open files"))));
    assertFalse(FileDescriptors.exhausted(new IOException("Connection reset by peer")));
  }
}
