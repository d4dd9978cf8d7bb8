package dev.dockgate.discovery;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import java.util.function.BooleanSupplier;

/**
 * Whether an instance accepts TCP connections yet: connects every {@link #INTERVAL_MS} until one
 * connection opens (then closes it at once) or the time allowed runs out. Used on one event loop.
 */
public final class ConnectProbe implements InstanceCatalog.Probe {

  static final long INTERVAL_MS = 50;
  /** One attempt's bound: a local refusal is immediate, a silent host should not hold the probe. */
  static final int ATTEMPT_TIMEOUT_MS = 250;

  private final Vertx vertx;
  private final NetClient client;

  public ConnectProbe(Vertx vertx) {
    this.vertx = vertx;
    this.client = vertx.createNetClient(new NetClientOptions().setConnectTimeout(ATTEMPT_TIMEOUT_MS));
  }

  @Override
  public Future<Boolean> untilOpen(Instance instance, long allowedMs, BooleanSupplier wanted) {
    Promise<Boolean> outcome = Promise.promise();
    attempt(instance, System.nanoTime() + allowedMs * 1_000_000, wanted, outcome);
    return outcome.future();
  }

  private void attempt(Instance instance, long deadlineNanos, BooleanSupplier wanted, Promise<Boolean> outcome) {
    if (!wanted.getAsBoolean()) {
      outcome.complete(false);
      return;
    }
    client.connect(instance.port(), instance.host()).onComplete(ar -> {
      if (ar.succeeded()) {
        ar.result().close();
        outcome.complete(true);
      } else if (System.nanoTime() + INTERVAL_MS * 1_000_000 - deadlineNanos >= 0) {
        outcome.complete(false);
      } else {
        vertx.setTimer(INTERVAL_MS, id -> attempt(instance, deadlineNanos, wanted, outcome));
      }
    });
  }

  public Future<Void> close() {
    return client.close();
  }
}
