package dev.dockgate.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** gRPC's grpc-timeout header (gRPC over HTTP/2: TimeoutValue of at most 8 digits, then H, M, S, m, u or n). */
class GrpcTimeoutTest {

  @Test
  void eachUnitIsRead() {
    assertEquals(2L * 3_600_000_000_000L, ProxyHandler.grpcTimeoutNanos("2H"));
    assertEquals(3L * 60_000_000_000L, ProxyHandler.grpcTimeoutNanos("3M"));
    assertEquals(5_000_000_000L, ProxyHandler.grpcTimeoutNanos("5S"));
    assertEquals(1_500_000_000L, ProxyHandler.grpcTimeoutNanos("1500m"));
    assertEquals(250_000L, ProxyHandler.grpcTimeoutNanos("250u"));
    assertEquals(99_999_999L, ProxyHandler.grpcTimeoutNanos("99999999n"));
  }

  @Test
  void anythingElseIsNoTimeout() {
    for (String bad : new String[] {null, "", "S", "5", "5s", "5 S", "-5S", "123456789S", "5SS", "0x5S", "５S"}) {
      assertEquals(0, ProxyHandler.grpcTimeoutNanos(bad), String.valueOf(bad));
    }
  }

  @Test
  void aHugeTimeoutIsCappedSoDeadlinesNeverOverflow() {
    long capped = ProxyHandler.grpcTimeoutNanos("99999999H");
    assertEquals(true, capped > 0 && capped <= Long.MAX_VALUE >> 2, "capped: " + capped);
    assertEquals(true, System.nanoTime() + capped - System.nanoTime() > 0);
  }
}
