package dev.dockgate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.transport.Transport;
import org.junit.jupiter.api.Test;

class NetworkTransportTest {

  @Test
  void autoTakesTheFirstAvailableNativeTransportInOrder() {
    Transport expected = Transport.IO_URING.available() ? Transport.IO_URING
        : Transport.EPOLL.available() ? Transport.EPOLL : Transport.NIO;
    assertSame(expected, NetworkTransport.choose("auto", true));
    assertSame(Transport.NIO, NetworkTransport.choose("auto", false), "preferNativeTransport false means NIO");
  }

  @Test
  void explicitNamesAreHonouredOrRefusedWithTheReason() {
    assertSame(Transport.NIO, NetworkTransport.choose("nio", true));
    for (String name : new String[] {"io_uring", "io-uring", "epoll"}) {
      Transport wanted = name.startsWith("io") ? Transport.IO_URING : Transport.EPOLL;
      if (wanted.available()) {
        assertSame(wanted, NetworkTransport.choose(name, true));
      } else {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> NetworkTransport.choose(name, true));
        assertTrue(e.getMessage().contains("is unavailable here: "), e.getMessage());
      }
    }
    IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
        () -> NetworkTransport.choose("kqueue", true));
    assertEquals("GATEWAY_TRANSPORT: unknown transport \"kqueue\"; known: auto, io_uring, epoll, nio",
        unknown.getMessage());
  }

  @Test
  void aRunningVertxIsDescribedByItsTransport() {
    for (Transport transport : new Transport[] {Transport.NIO, Transport.EPOLL, Transport.IO_URING}) {
      if (!transport.available()) {
        continue;
      }
      Vertx vertx = Vertx.builder().withTransport(transport).build();
      try {
        assertEquals(transport.name(), NetworkTransport.describe(vertx));
        assertEquals(transport != Transport.IO_URING, NetworkTransport.supportsDomainSockets(vertx),
            "only io_uring lacks unix sockets in Vert.x 5.0");
      } finally {
        vertx.close();
      }
    }
  }

  @Test
  void nettysMultishotPollsAreOffForIoUringUnlessSetByTheOperator() {
    NetworkTransport.choose("auto", true);
    assertEquals("false", System.getProperty(NetworkTransport.POLL_MULTISHOT));
  }

  @Test
  void skippedNamesWhyEachBetterTransportWasPassedOver() {
    assertEquals("", NetworkTransport.skipped(Transport.IO_URING));
    String skipped = NetworkTransport.skipped(Transport.NIO);
    for (Transport passedOver : new Transport[] {Transport.IO_URING, Transport.EPOLL}) {
      // Available and still passed over: only "preferNativeTransport": false in -options does that.
      String expected = passedOver.available()
          ? passedOver.name() + " not tried (\"preferNativeTransport\": false in -options)"
          : passedOver.name() + " unavailable (";
      assertTrue(skipped.contains(expected), skipped);
    }
  }
}
