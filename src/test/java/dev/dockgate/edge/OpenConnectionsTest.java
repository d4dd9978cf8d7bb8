package dev.dockgate.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

/** The connection count's cap: refusal on the main listener, eviction of the longest idle on the admin one. */
class OpenConnectionsTest {

  @Test
  void withoutEvictionANewConnectionBeyondTheCapIsRefused() {
    OpenConnections open = new OpenConnections();
    EmbeddedChannel idle = new EmbeddedChannel();
    assertTrue(open.admit(1));
    open.between(idle); // no effect without eviction
    assertFalse(open.admit(1), "the cap is reached");
    assertTrue(idle.isOpen(), "nothing is closed for the newcomer");
    open.closed();
    assertTrue(open.admit(1), "a place is free again");
  }

  @Test
  void withEvictionTheConnectionLongestBetweenRequestsMakesRoom() throws InterruptedException {
    OpenConnections open = new OpenConnections("admin_listener.max_connections", true);
    EmbeddedChannel older = new EmbeddedChannel();
    EmbeddedChannel newer = new EmbeddedChannel();
    assertTrue(open.admit(2));
    open.between(older);
    Thread.sleep(2); // distinct times, whatever the clock's resolution
    assertTrue(open.admit(2));
    open.between(newer);
    assertTrue(open.admit(2), "a third connection gets in at the cap");
    assertFalse(older.isOpen(), "the connection between requests the longest is closed for it");
    assertTrue(newer.isOpen());
    assertEquals(3, open.current(), "the closed one is released when its close completes (the edge's close listener)");
    open.closed();

    open.busy(newer); // a request arrived on it: it keeps its place
    assertFalse(open.admit(2), "none is between requests: the newcomer is refused");
    assertTrue(newer.isOpen());
    open.between(newer); // its answer ended
    assertTrue(open.admit(2));
    assertFalse(newer.isOpen());
  }

  @Test
  void eventStreamsHaveACapOfTheirOwnReleasedOnce() {
    OpenConnections open = new OpenConnections("admin_listener.max_connections", true);
    Runnable first = open.openStream(1);
    assertNotNull(first);
    assertNull(open.openStream(1), "one stream at most");
    first.run();
    first.run(); // its end and its connection's close both release it: counted once
    Runnable second = open.openStream(1);
    assertNotNull(second, "a place again");
    assertNull(open.openStream(1), "released once, not twice");
  }

  /**
   * A connection put between requests by any path (an answer's end on a connection the edge refused, say) leaves the
   * table when it closes: before, such entries stayed for good (257 after a churn on io_uring, in a review).
   */
  @Test
  void aClosedConnectionLeavesTheTableWhateverPutItThere() {
    OpenConnections open = new OpenConnections("admin_listener.max_connections", true);
    EmbeddedChannel channel = new EmbeddedChannel();
    open.between(channel);
    open.busy(channel);
    open.between(channel); // a second request's end: one close listener still
    assertEquals(1, open.betweenCount());
    channel.close();
    assertEquals(0, open.betweenCount(), "its close took it out");
    open.between(channel);
    assertEquals(0, open.betweenCount(), "a closed connection is not put back");
  }

  /** A channel whose client is {@code ip} (no traffic: an embedded channel with an address). */
  private static EmbeddedChannel from(String ip, int port) {
    java.net.InetSocketAddress address = new java.net.InetSocketAddress(ip, port);
    return new EmbeddedChannel() {
      @Override
      protected java.net.SocketAddress remoteAddress0() {
        return address;
      }
    };
  }

  /**
   * The client holding the most connections gives one up first: a check from another address keeps its place
   * though it has waited longest (a review measured checks lost to one client's connect loop).
   */
  @Test
  void theClientHoldingTheMostConnectionsGivesOneUpFirst() throws InterruptedException {
    OpenConnections open = new OpenConnections("admin_listener.max_connections", true);
    EmbeddedChannel check = from("192.0.2.1", 40000);
    EmbeddedChannel loopOlder = from("192.0.2.9", 40001);
    EmbeddedChannel loopNewer = from("192.0.2.9", 40002);
    for (EmbeddedChannel channel : java.util.List.of(check, loopOlder, loopNewer)) {
      assertTrue(open.admit(3));
      open.between(channel);
      Thread.sleep(2);
    }
    assertTrue(open.admit(3));
    assertTrue(check.isOpen(), "the check, alone from its address, keeps its place");
    assertFalse(loopOlder.isOpen(), "the older of the two from one address is closed");
    assertTrue(loopNewer.isOpen());
    open.closed();
    loopNewer.close(); // its address now holds as many as the check's: the longest between goes next
    open.closed();
    EmbeddedChannel other = from("192.0.2.7", 40003);
    assertTrue(open.admit(3));
    open.between(other);
    Thread.sleep(2);
    assertTrue(open.admit(3));
    assertFalse(check.isOpen(), "one connection per address: the longest between goes");
    assertTrue(other.isOpen());
  }
}
