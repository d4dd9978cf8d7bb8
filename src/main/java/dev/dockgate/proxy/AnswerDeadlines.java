package dev.dockgate.proxy;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientRequest;
import java.util.concurrent.TimeoutException;

/**
 * The answer deadlines of one route's requests to its backends, on one router's event loop: a
 * request whose response head has not arrived {@code timeoutMs} after it was sent is reset with a
 * {@link TimeoutException}, which the proxy answers with 504.
 *
 * <p>One timeout per route means deadlines fall in the order requests are sent, so the requests in
 * flight form a queue whose head expires first, and one Vert.x timer armed at the head's deadline
 * serves them all. A request leaving the queue (answered or failed) is unlinked in O(1). Under load
 * the timer fires about once per timeout period instead of being set and cancelled per request, as
 * the HTTP client's own idle timeout would.
 */
final class AnswerDeadlines {

  /**
   * The HTTP/2 error code of a backend stream given up on: CANCEL, "no longer needed" (RFC 9113 §7), which gRPC servers
   * report as the call cancelled. An HTTP/1 backend's connection is closed whatever the code.
   */
  static final long CANCEL = 0x8;

  private final Vertx vertx;
  private final long timeoutMs;
  private final long timeoutNanos;
  private Pending head;
  private Pending tail;
  private long timer = -1;

  AnswerDeadlines(Vertx vertx, long timeoutMs) {
    this.vertx = vertx;
    this.timeoutMs = timeoutMs;
    this.timeoutNanos = timeoutMs * 1_000_000L;
  }

  /** Starts the deadline of {@code request}, just sent; the caller calls {@link Pending#settled()} at its answer or failure. */
  Pending watch(HttpClientRequest request) {
    Pending p = new Pending(request, System.nanoTime() + timeoutNanos);
    if (tail == null) {
      head = p;
    } else {
      tail.next = p;
      p.prev = tail;
    }
    tail = p;
    if (timer == -1) {
      arm(timeoutMs);
    }
    return p;
  }

  long timeoutNanos() {
    return timeoutNanos;
  }

  /**
   * A deadline shorter than the route's (what is left of a request's overall deadline): it falls
   * out of the queue's order, so it has a timer of its own, cancelled when settled.
   */
  Pending watchFor(HttpClientRequest request, long ms) {
    Pending p = new Pending(request, System.nanoTime() + ms * 1_000_000L);
    p.settled = true; // never in the queue
    long own = vertx.setTimer(ms, id -> request.reset(CANCEL, new TimeoutException("no answer within the request's deadline")));
    p.timer = own;
    return p;
  }

  /** The number of requests waiting for an answer (for tests). */
  int pending() {
    int n = 0;
    for (Pending p = head; p != null; p = p.next) {
      n++;
    }
    return n;
  }

  private void arm(long delayMs) {
    timer = vertx.setTimer(Math.max(1, delayMs), id -> expire());
  }

  private void expire() {
    timer = -1;
    long now = System.nanoTime();
    while (head != null && head.deadline - now <= 0) {
      Pending late = head;
      late.settled();
      late.request.reset(CANCEL, new TimeoutException("no answer within " + timeoutMs + " ms"));
    }
    if (head != null) {
      // Round up, so the timer never fires just before the deadline and has to be armed again.
      arm((head.deadline - now + 999_999) / 1_000_000);
    }
  }

  /** One request in flight; settled once, at its answer, its failure or its deadline. */
  final class Pending {
    private final HttpClientRequest request;
    private final long deadline;
    private Pending prev;
    private Pending next;
    private boolean settled;
    /** A timer of its own ({@link #watchFor}), else -1. */
    private long timer = -1;

    private Pending(HttpClientRequest request, long deadline) {
      this.request = request;
      this.deadline = deadline;
    }

    /** Leaves the queue; later calls do nothing. */
    void settled() {
      if (timer != -1) {
        vertx.cancelTimer(timer);
        timer = -1;
      }
      if (settled) {
        return;
      }
      settled = true;
      if (prev == null) {
        head = next;
      } else {
        prev.next = next;
      }
      if (next == null) {
        tail = prev;
      } else {
        next.prev = prev;
      }
      prev = null;
      next = null;
    }
  }
}
