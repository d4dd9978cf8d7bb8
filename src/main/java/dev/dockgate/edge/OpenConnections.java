package dev.dockgate.edge;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Logger;

/**
 * Client connections open on the listener, across all router instances (each on its own event
 * loop), so {@code server.max_connections} caps the gateway, not each core; and whether the edge's
 * checks guard the listener, which any router may find out and whichever serves readiness reports.
 * Safe from any thread.
 */
public final class OpenConnections {

  private static final Logger LOG = Logger.getLogger(EdgeGuard.class.getName());

  private final AtomicInteger open = new AtomicInteger();
  /** Whether the last connection was refused for the cap: said once when it is reached, once when it is left. */
  private final AtomicBoolean full = new AtomicBoolean();
  private final AtomicReference<String> unguarded = new AtomicReference<>();
  /** The setting that caps these connections, as the log names it. */
  private final String setting;

  /** The main listener's connections ({@code server.max_connections}). */
  public OpenConnections() {
    this("max_connections");
  }

  /** Connections capped by {@code setting}, which the log lines name. */
  public OpenConnections(String setting) {
    this.setting = setting;
  }

  /** Counts a new connection unless {@code max} (0: no limit) are open already. */
  private boolean tryOpen(int max) {
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

  /**
   * Counts a new connection unless {@code max} (0: no limit) are open already, saying so once when the cap is
   * reached and once when connections are counted again; false: the caller closes the connection.
   */
  boolean admit(int max) {
    if (!tryOpen(max)) {
      if (full.compareAndSet(false, true)) {
        LOG.warning(setting + " (" + max + ") open: new connections are closed until some end");
      }
      return false;
    }
    if (full.get() && full.compareAndSet(true, false)) {
      LOG.info("connections below " + setting + " (" + max + ") again");
    }
    return true;
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
