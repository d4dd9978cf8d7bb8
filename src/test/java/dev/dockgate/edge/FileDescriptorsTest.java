package dev.dockgate.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.config.ServerConfig;
import java.io.IOException;
import org.junit.jupiter.api.Test;

class FileDescriptorsTest {

  private static ServerConfig withMaxConnections(int max) {
    ServerConfig.Limits d = ServerConfig.Limits.DEFAULTS;
    return new ServerConfig("127.0.0.1", 8080, 0, "/stats", new ServerConfig.Limits(d.maxBodyBytes(),
        d.maxHeaderBytes(), d.maxRequestLineBytes(), d.idleTimeoutMs(), d.headerTimeoutMs(), d.bodyTimeoutMs(), max,
        d.maxHeaderCount()), ServerConfig.AdminPaths.DEFAULTS);
  }

  @Test
  void twoDescriptorsPerClientConnectionOnePerAdminConnectionAndABase() {
    ServerConfig server = withMaxConnections(10_000);
    assertEquals(256, server.adminListener().maxConnections(), "the default admin listener");
    assertEquals(2 * 10_000 + 256 + FileDescriptors.BASE, FileDescriptors.needed(server));
    assertNull(FileDescriptors.misfit(server, 1_048_576));
    assertNull(FileDescriptors.misfit(server, 20_384));
    assertNull(FileDescriptors.misfit(server, -1), "a limit the JVM cannot read is not a misfit");
  }

  @Test
  void aCapThatDoesNotFitIsNamedWithWhatWouldFit() {
    String warning = FileDescriptors.misfit(withMaxConnections(10_000), 4096);
    assertTrue(warning.startsWith("the process may open 4096 file descriptors, and server.max_connections 10000 and"
        + " admin_listener.max_connections 256 need up to 20384"), warning);
    assertTrue(warning.endsWith("or lower server.max_connections to " + (4096 - FileDescriptors.BASE - 256) / 2
        + " or less"), warning);
  }

  @Test
  void noCapAtAllNeverFits() {
    String warning = FileDescriptors.misfit(withMaxConnections(0), 1_048_576);
    assertTrue(warning.contains("server.max_connections is 0 (no limit)"), warning);
  }

  @Test
  void outOfDescriptorsIsRecognisedAsEachTransportWordsIt() {
    assertTrue(AcceptGuard.outOfDescriptors(new IOException("io_uring accept(..) failed with error(-24): Too many open"
        + " files")));
    assertTrue(AcceptGuard.outOfDescriptors(new IOException("accept(..) failed: Too many open files in system")));
    assertTrue(AcceptGuard.outOfDescriptors(new RuntimeException(new IOException("Too many open files"))));
    assertTrue(!AcceptGuard.outOfDescriptors(new IOException("Connection reset by peer")));
  }
}
