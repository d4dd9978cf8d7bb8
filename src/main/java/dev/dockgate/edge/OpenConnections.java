package dev.dockgate.edge;

import io.netty.channel.Channel;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Logger;

/**
 * Client connections open on the listener, across all router instances (each on its own event
 * loop), so {@code server.max_connections} caps the gateway, not each core; and whether the edge's
 * checks guard the listener, which any router may find out and whichever serves readiness reports.
 * Safe from any thread.
 *
 * <p>With eviction on (the admin listener), a connection beyond the cap is not refused while another one sits
 * between requests (idle, or its next head not complete): one of those is closed instead, from the client address
 * holding the most connections, the one between requests the longest. So clients holding connections open, idle
 * or sending heads slowly, cannot keep others (a load balancer's readiness checks) out; only requests being
 * answered, and event streams up to their own cap, hold a place.
 */
public final class OpenConnections {

  private static final Logger LOG = Logger.getLogger(EdgeGuard.class.getName());
  /** Set once a channel's close takes it out of {@link #between}, whichever path put it there. */
  private static final io.netty.util.AttributeKey<Object> WATCHED =
      io.netty.util.AttributeKey.valueOf("dockgate.edge.between-peer");

  private final AtomicInteger open = new AtomicInteger();
  /** Whether the last connection met the cap: said when it is reached and when it is left, at most every 10 s. */
  private final AtomicBoolean full = new AtomicBoolean();
  private final AtomicReference<String> unguarded = new AtomicReference<>();
  /** The setting that caps these connections, as the log names it. */
  private final String setting;
  /** With eviction on: the connections between requests, and since when ({@link System#nanoTime}); else null. */
  private final Map<Channel, Long> between;
  /** With eviction on: open connections per client address (the remote IP), those {@link #between} has seen. */
  private final Map<Object, AtomicInteger> perPeer;
  private final AtomicInteger streams = new AtomicInteger();
  /** The cap's log lines: at most one every 10 s, with the connections refused or evicted since. */
  private final LogPace capped = new LogPace(10, java.util.concurrent.TimeUnit.SECONDS);
  /** A warning about the cap was said and the line saying it is left is still to come (with the count since). */
  private final AtomicBoolean warned = new AtomicBoolean();
  /** Connections closed at the cap since the start (the new one, or with eviction one between requests). */
  private final java.util.concurrent.atomic.AtomicLong refused = new java.util.concurrent.atomic.AtomicLong();

  /** A cap the process's file descriptors set below the configured one (0: none); set before the routers start. */
  private volatile int ceiling;

  /** The main listener's connections ({@code server.max_connections}), refused beyond the cap. */
  public OpenConnections() {
    this("max_connections", false);
  }

  /** Connections capped by {@code setting}, which the log lines name; {@code evicting}: see the class. */
  public OpenConnections(String setting, boolean evicting) {
    this.setting = setting;
    this.between = evicting ? new ConcurrentHashMap<>() : null;
    this.perPeer = evicting ? new ConcurrentHashMap<>() : null;
  }

  /** Adds one to {@code count} unless {@code max} (0: no limit) are counted already. */
  private static boolean tryCount(AtomicInteger count, int max) {
    while (true) {
      int now = count.get();
      if (max > 0 && now >= max) {
        return false;
      }
      if (count.compareAndSet(now, now + 1)) {
        return true;
      }
    }
  }

  /**
   * Counts a new connection unless {@code max} (0: no limit) are open already and, with eviction on, none is
   * between requests to make room; says so when the cap is reached and when connections are counted again, at
   * most every 10 s. False: the caller closes the connection.
   */
  boolean admit(int max) {
    if (!tryCount(open, max)) {
      boolean evicted = between != null && evictLongestBetween();
      if (evicted) {
        open.incrementAndGet(); // the evicted one is released when its close completes
      }
      refused.incrementAndGet();
      capped.count();
      full.set(true);
      if (capped.due()) {
        // At most once in 10 s: a client churning connections at the cap would flood the log.
        LOG.warning(setting + " (" + max + ") open: " + (between == null
            ? "new connections are closed until some end"
            : "for each new connection, one between requests is closed, from the client address holding the most "
                + "(none: the new one is)")
            + " (" + capped.takeCount() + " since the last such line)");
        warned.set(true);
      }
      return evicted;
    }
    if (full.get() && full.compareAndSet(true, false) && warned.compareAndSet(true, false)) {
      // Once per warning (so at most two lines in 10 s), however soon: what was closed after the warning is said
      // here rather than lost, and the operator learns the cap was left.
      long since = capped.takeCount();
      LOG.info("connections below " + setting + " (" + max + ") again"
          + (since > 0 ? "; " + since + " more closed since the last such line" : ""));
    }
    return true;
  }

  /**
   * Closes a registered connection between requests: from the client address holding the most connections, the one
   * between requests the longest; false when there is none.
   */
  private boolean evictLongestBetween() {
    while (true) {
      Map.Entry<Channel, Long> longest = null;
      int longestPeerCount = 0;
      for (Map.Entry<Channel, Long> entry : between.entrySet()) {
        Channel channel = entry.getKey();
        if (!channel.isOpen()) {
          between.remove(channel, entry.getValue()); // its close listener is on its way; nothing to evict
          continue;
        }
        if (!channel.isRegistered()) {
          continue;
        }
        // The client holding the most connections gives one up first: one client opening connections in a loop
        // closes its own, not another client's check.
        Object address = channel.attr(WATCHED).get(); // null for a moment while another loop puts it
        AtomicInteger peer = address == null ? null : perPeer.get(address);
        int peerCount = peer == null ? 0 : peer.get();
        if (longest == null || peerCount > longestPeerCount
            || (peerCount == longestPeerCount && entry.getValue() - longest.getValue() < 0)) {
          longest = entry;
          longestPeerCount = peerCount;
        }
      }
      if (longest == null) {
        return false;
      }
      if (between.remove(longest.getKey(), longest.getValue())) {
        Channel channel = longest.getKey();
        LOG.fine(() -> "connection " + channel.remoteAddress() + " closed for a new one (" + setting + ")");
        if (channel instanceof io.netty.channel.socket.DuplexChannel duplex) {
          // Both directions shut first: a close alone, asked from another event loop, left io_uring sockets
          // established without an owner (no FIN to the client, no descriptor, no timeout) under a connect loop.
          duplex.shutdown().addListener(f -> channel.close());
        } else {
          channel.close();
        }
        return true;
      }
    }
  }

  /**
   * With eviction on: the connection waits for a request (just opened, or its last answer ended). Its close takes it
   * out again, whichever path put it here.
   */
  public void between(Channel channel) {
    if (between != null && channel.isOpen()) {
      Object peer = peerOf(channel);
      boolean first = channel.attr(WATCHED).setIfAbsent(peer) == null;
      between.put(channel, System.nanoTime());
      if (first) {
        perPeer.compute(peer, (p, n) -> {
          AtomicInteger count = n == null ? new AtomicInteger() : n;
          count.incrementAndGet(); // under the map's lock, as the decrement that may remove it
          return count;
        });
        channel.closeFuture().addListener(f -> {
          between.remove(channel);
          perPeer.computeIfPresent(peer, (p, n) -> n.decrementAndGet() <= 0 ? null : n);
        });
      }
    }
  }

  /** A connection's client address (its IP, without the port), or its remote address as it is. */
  private static Object peerOf(Channel channel) {
    java.net.SocketAddress remote = channel.remoteAddress();
    if (remote instanceof java.net.InetSocketAddress inet && inet.getAddress() != null) {
      return inet.getAddress();
    }
    return remote == null ? "unknown" : remote.toString();
  }

  /** How many connections are held as between requests (for tests). */
  int betweenCount() {
    return between == null ? 0 : between.size();
  }

  /** With eviction on: a request arrived on the connection, or it closed; it is no longer evicted. */
  public void busy(Channel channel) {
    if (between != null) {
      between.remove(channel);
    }
  }

  /** Whether a connection between requests is closed for a new one at the cap. */
  public boolean evicting() {
    return between != null;
  }

  /**
   * Counts a long-lived answer (an event stream) unless {@code max} (0: no limit) are open; the returned task,
   * run any number of times, releases it. Null when at the cap.
   */
  public Runnable openStream(int max) {
    if (!tryCount(streams, max)) {
      return null;
    }
    AtomicBoolean released = new AtomicBoolean();
    return () -> {
      if (released.compareAndSet(false, true)) {
        streams.decrementAndGet();
      }
    };
  }

  void closed() {
    open.decrementAndGet();
  }

  public int current() {
    return open.get();
  }

  /** Connections closed at the cap since the start: refused, or with eviction, closed between requests for a new one. */
  public long refused() {
    return refused.get();
  }

  /** Holds the cap at {@code ceiling} whatever the setting says ({@link FileDescriptors#heldAt}); 0: no ceiling. */
  public void ceiling(int ceiling) {
    this.ceiling = ceiling;
  }

  /** The cap that holds for a configured one (0: no limit): the configured one, or the ceiling below it. */
  int within(int configured) {
    int held = ceiling;
    return held == 0 ? configured : configured == 0 ? held : Math.min(configured, held);
  }

  /** The setting that caps these connections. */
  String setting() {
    return setting;
  }

  /** Records why the strict decoder could not be put in place; true for the first report only. */
  boolean unguarded(String problem) {
    return unguarded.compareAndSet(null, problem);
  }

  /** Null while the edge's checks are in place; else why not (see {@link EdgeGuard}). */
  String unguarded() {
    return unguarded.get();
  }
}
