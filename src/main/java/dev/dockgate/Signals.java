package dev.dockgate;

import dev.dockgate.events.Addresses;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonObject;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Logger;
import sun.misc.Signal;

/**
 * The process's signals once the gateway is deployed. SIGTERM: readiness turns 503 for the running
 * config's {@code server.drain_delay_ms} while the listeners still serve, so load balancers stop
 * sending; then the drain: the listeners close, in-flight requests get up to the drain timeout,
 * the routers stop, then the rest of Vert.x closes and the process exits 0 (a second SIGTERM during the delay drains at once). SIGHUP
 * re-reads the config file; SIGUSR1 reopens the access log file (logrotate's convention). The JVM
 * runs each handler on a thread of its own, so a handler may wait.
 */
final class Signals {

  private static final Logger LOG = Logger.getLogger(Signals.class.getName());
  /** After the drain, time left for the rest of Vert.x to close before exiting anyway. */
  private static final long CLOSE_MARGIN_MS = 10_000;

  private final Vertx vertx;
  private final long drainMs;
  private final AtomicBoolean stopping = new AtomicBoolean();
  private final CountDownLatch delayOver = new CountDownLatch(1);

  private Signals(Vertx vertx, long drainMs) {
    this.vertx = vertx;
    this.drainMs = drainMs;
  }

  /** Replaces the JVM's actions for SIGTERM (shutdown hooks, exit 143), SIGHUP and SIGUSR1 (exit). */
  static void install(Vertx vertx, long drainMs) {
    Signals signals = new Signals(vertx, drainMs);
    if (handle("TERM", signals::terminate, "it will stop the gateway with exit status 143, without a drain delay")) {
      LOG.info("ready; SIGTERM drains in-flight requests for up to " + drainMs + " ms, then exits 0");
    }
    handle("HUP", () -> {
      LOG.info("SIGHUP: reloading the configuration");
      vertx.eventBus().send(Addresses.CONFIG_RELOAD, null, Addresses.LOCAL);
    }, "config changes still apply when the file changes");
    handle("USR1", () -> {
      LOG.info("SIGUSR1: reopening the access log");
      vertx.eventBus().publish(Addresses.ACCESS_LOG_REOPEN, null, Addresses.LOCAL);
    }, "the access log cannot be reopened");
  }

  private static boolean handle(String name, Runnable action, String otherwise) {
    try {
      if (Signal.handle(new Signal(name), signal -> action.run()) == sun.misc.SignalHandler.SIG_IGN) {
        // The process was started with the signal ignored (nohup does so for SIGHUP): the JVM leaves it ignored.
        LOG.warning("SIG" + name + " is ignored in this process (started under nohup?): " + otherwise);
        return false;
      }
      return true;
    } catch (IllegalArgumentException e) {
      LOG.warning("cannot handle SIG" + name + " (" + e.getMessage() + "): " + otherwise);
      return false;
    }
  }

  private void terminate() {
    if (!stopping.compareAndSet(false, true)) {
      if (delayOver.getCount() > 0) {
        LOG.info("SIGTERM again: draining now");
        delayOver.countDown();
      } else {
        LOG.info("SIGTERM again: still draining");
      }
      return;
    }
    holdForLoadBalancers();
    System.exit(drainAndClose());
  }

  /** Readiness turns 503 on every router; the listeners keep serving for the configured delay. */
  private void holdForLoadBalancers() {
    try {
      JsonObject reply = vertx.eventBus().<JsonObject>request(Addresses.DRAIN_START, null, Addresses.LOCAL)
          .toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS).body();
      long delayMs = reply.getLong("delay_ms", 0L);
      if (delayMs > 0) {
        String readiness = reply.getString("readiness");
        LOG.info("SIGTERM: " + (readiness == null ? "not ready (no readiness endpoint is served)"
            : "readiness (" + readiness + ") answers 503 from now on") + "; the listeners keep serving for "
            + delayMs + " ms (server.drain_delay_ms) so load balancers stop sending, then drain (SIGTERM again: drain now)");
        delayOver.await(delayMs, TimeUnit.MILLISECONDS);
      }
    } catch (ExecutionException | TimeoutException e) {
      LOG.warning("SIGTERM: readiness not turned to 503 (" + e + "); draining now");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      delayOver.countDown();
    }
  }

  /**
   * Stops the routers before the rest ({@link Addresses#DRAIN_ROUTERS}), so that the requests they
   * drain are still counted and logged; if that fails, Vert.x's close stops everything at once.
   */
  private void drainRouters(long limitMs) throws InterruptedException, TimeoutException {
    try {
      vertx.eventBus().request(Addresses.DRAIN_ROUTERS, null, new DeliveryOptions().setLocalOnly(true).setSendTimeout(limitMs))
          .toCompletionStage().toCompletableFuture().get(limitMs, TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      LOG.warning("draining the routers failed (" + e.getCause() + "); stopping everything at once");
    }
  }

  private int drainAndClose() {
    LOG.info("SIGTERM: draining: no new connections, in-flight requests have up to " + drainMs + " ms to finish");
    long start = System.nanoTime();
    long drainedMs = 0; // the routers' drain alone: the rest of the close (a cluster's leave) cuts no request
    try {
      long limitMs = drainMs + CLOSE_MARGIN_MS;
      drainRouters(limitMs);
      drainedMs = (System.nanoTime() - start) / 1_000_000;
      long leftMs = Math.max(1, limitMs - (System.nanoTime() - start) / 1_000_000);
      vertx.close().toCompletionStage().toCompletableFuture().get(leftMs, TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      LOG.warning("gateway not stopped " + (drainMs + CLOSE_MARGIN_MS) + " ms after SIGTERM, exiting anyway");
      return 1;
    } catch (ExecutionException e) {
      LOG.warning("stopping the gateway failed, exiting: " + e.getCause());
      return 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 1;
    }
    LOG.info(drainedMs < drainMs
        ? "drained in " + drainedMs + " ms, stopped; exiting"
        : "drain timeout reached after " + drainedMs + " ms, unfinished requests were cut; stopped, exiting");
    return 0;
  }
}
