package dev.dockgate.edge;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Client connections open on the listener, across all router instances (each on its own event
 * loop), so {@code server.max_connections} caps the gateway, not each core; and whether the edge's
 * checks guard the listener, which any router may find out and whichever serves readiness reports.
 * Safe from any thread.
 */
public final class OpenConnections {

  private final AtomicInteger open = new AtomicInteger();
  private final AtomicReference<String> unguarded = new AtomicReference<>();

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

  /** Records why the strict decoder could not be put in place; true for the first report only. */
  boolean unguarded(String problem) {
    return unguarded.compareAndSet(null, problem);
  }

  /** Null while the edge's checks are in place; else why not (see {@link EdgeGuard}). */
  String unguarded() {
    return unguarded.get();
  }
}
