package dev.dockgate.edge;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Client connections open on the listener, across all router instances (each on its own event
 * loop), so {@code server.max_connections} caps the gateway, not each core. Safe from any thread.
 */
public final class OpenConnections {

  private final AtomicInteger open = new AtomicInteger();

  /** Counts a new connection unless {@code max} (0: no limit) are open already. */
  boolean tryOpen(int max) {
    while (true) {
      int now = open.get();
      if (max > 0 && now >= max) {
        return false;
      }
      if (open.compareAndSet(now, now + 1)) {
        return true;
      }
    }
  }

  void closed() {
    open.decrementAndGet();
  }

  public int current() {
    return open.get();
  }
}
