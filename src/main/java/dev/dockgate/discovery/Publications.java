package dev.dockgate.discovery;

import io.vertx.core.Future;
import io.vertx.core.Promise;
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
   * after {@code limitMs} in all, whichever comes first; never fails.
   */
  public Future<Void> afterFirstAnswers(List<Future<Void>> started, long limitMs) {
    if (started.isEmpty()) {
      return Future.succeededFuture();
    }
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(limitMs);
    return Future.join(started).timeout(limitMs, TimeUnit.MILLISECONDS)
        .compose(v -> settled().timeout(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())),
            TimeUnit.MILLISECONDS))
        .otherwiseEmpty();
  }
}
