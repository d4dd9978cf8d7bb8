package dev.dockgate.discovery;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.internal.ContextInternal;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The registry publications an importer has under way, so that a start or a reload can wait until what the importer
 * found is in the registry (a publication completes a moment after the answer that asked for it). Used on the
 * importer's context only.
 */
public final class Publications {

  private int inFlight;

  /**
   * What an importer follows while a reload to {@code next} is under way: the backends it followed and {@code next}'s,
   * each once (a router still on an earlier config resolves its backends from what those name).
   */
  public static List<dev.dockgate.config.BackendConfig> union(List<dev.dockgate.config.BackendConfig> followed,
      List<dev.dockgate.config.BackendConfig> next) {
    java.util.LinkedHashSet<dev.dockgate.config.BackendConfig> both = new java.util.LinkedHashSet<>(followed);
    both.addAll(next);
    return List.copyOf(both);
  }
  private final List<Promise<Void>> waiting = new ArrayList<>();

  /** Counts {@code publication} in flight until it completes, either way; returns it. */
  public <T> Future<T> track(Future<T> publication) {
    inFlight++;
    return publication.andThen(ar -> {
      if (--inFlight == 0 && !waiting.isEmpty()) {
        List<Promise<Void>> done = List.copyOf(waiting);
        waiting.clear();
        done.forEach(Promise::tryComplete);
      }
    });
  }

  /** Completes when no publication is in flight (at once if none is). */
  public Future<Void> settled() {
    if (inFlight == 0) {
      return Future.succeededFuture();
    }
    Promise<Void> settled = Promise.promise();
    waiting.add(settled);
    return settled.future();
  }

  /**
   * Completes when every watch in {@code started} has had its first outcome and what they found is published, or
   * after {@code limitMs} in all, whichever comes first; never fails. Completes on the importer's context, the one it
   * is called on, whichever way it ends: a plain future's {@code timeout} fires on a thread of no context (Netty's
   * global executor), and the discovery verticle goes on with its own state (a reading of the registry) from here.
   */
  public Future<Void> afterFirstAnswers(List<Future<Void>> started, long limitMs) {
    ContextInternal context = ContextInternal.current();
    if (started.isEmpty()) {
      return context != null ? context.succeededFuture() : Future.succeededFuture();
    }
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(limitMs);
    Future<Void> answered = Future.join(started).mapEmpty();
    if (context != null) {
      // Its timeout then fires on the context's event loop, and what follows runs on the context.
      Promise<Void> onContext = context.promise();
      answered.onComplete(onContext);
      answered = onContext.future();
    }
    return answered.timeout(limitMs, TimeUnit.MILLISECONDS)
        .compose(v -> settledOn(context)
            .timeout(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())), TimeUnit.MILLISECONDS))
        .otherwiseEmpty();
  }

  private Future<Void> settledOn(ContextInternal context) {
    Future<Void> settled = settled();
    if (context == null) {
      return settled;
    }
    Promise<Void> onContext = context.promise();
    settled.onComplete(onContext);
    return onContext.future();
  }
}
