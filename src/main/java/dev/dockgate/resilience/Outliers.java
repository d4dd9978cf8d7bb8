package dev.dockgate.resilience;

import dev.dockgate.config.OutlierConfig;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Logger;

/**
 * Passive outlier detection of one instance, shared by every router instance: after
 * {@code consecutive5xx} answers with a 5xx status in a row, the instance is ejected (skipped while
 * others can answer) for {@code ejectionMs}; any other answer resets the count. Beside the circuit
 * breaker, which counts connection failures. Thread-safe; called on the routers' event loops.
 */
public final class Outliers {

  private static final Logger LOG = Logger.getLogger(Outliers.class.getName());

  private final String name;
  private final OutlierConfig config;
  private final AtomicInteger consecutive = new AtomicInteger();
  private volatile long ejectedUntilNanos = System.nanoTime() - Long.MAX_VALUE / 2;

  public Outliers(String name, OutlierConfig config) {
    this.name = name;
    this.config = config;
  }

  /** Counts an answer's status. */
  public void answered(int status, long nowNanos) {
    if (status < 500) {
      if (consecutive.get() != 0) {
        consecutive.set(0);
      }
      return;
    }
    if (consecutive.incrementAndGet() == config.consecutive5xx()) {
      consecutive.set(0);
      ejectedUntilNanos = nowNanos + config.ejectionMs() * 1_000_000L;
      LOG.warning("instance " + name + " ejected for " + config.ejectionMs() + " ms after "
          + config.consecutive5xx() + " consecutive 5xx answers");
    }
  }

  public OutlierConfig config() {
    return config;
  }

  public boolean ejected(long nowNanos) {
    return nowNanos - ejectedUntilNanos < 0;
  }
}
