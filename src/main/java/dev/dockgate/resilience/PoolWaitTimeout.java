package dev.dockgate.resilience;

import io.vertx.core.http.ConnectionPoolTooBusyException;

/**
 * Every connection of an instance's pool stayed in use while a request waited its {@code connect_timeout_ms} for
 * one. Like a full wait queue this is load, not a failing instance: nothing was sent, and the instance's circuit does
 * not count it ({@link UpstreamFailure.Busy}).
 */
public final class PoolWaitTimeout extends ConnectionPoolTooBusyException {

  public PoolWaitTimeout(String address, long connectTimeoutMs) {
    super("no connection of " + address + " came free within " + connectTimeoutMs + " ms");
  }
}
