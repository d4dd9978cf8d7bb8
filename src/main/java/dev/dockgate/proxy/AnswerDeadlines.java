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
  /**
   * Uploads whose end is written toward the backend but not yet taken by it, oldest first ({@link #sending}): linked
   * through the uploads themselves, checked by one sweep while any is here.
   */
  private Upload sendingHead;
  private Upload sendingTail;
  private long sweep = -1;
  private final io.vertx.core.Handler<Long> sweeper = id -> sweepSending();

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

  /**
   * Watches {@code upload}, whose end is written but queued behind what its backend has not taken: the body's last
   * bytes may fit below the write queue's limit, so no full queue ever arms the upload's own stall timer, and the
   * answer's deadline starts only once the end has left. A backend that takes none of it for the route's timeout
   * fails the try ({@link Upload#endStalled}), found by a sweep every quarter of the timeout (so within 1.25 times
   * it); no timer per upload. The upload leaves at its end's write or its failure ({@link #sent}).
   */
  void sending(Upload upload) {
    if (upload.sendingLinked) {
      return;
    }
    upload.sendingLinked = true;
    if (sendingTail == null) {
      sendingHead = upload;
    } else {
      sendingTail.sendingNext = upload;
      upload.sendingPrev = sendingTail;
    }
    sendingTail = upload;
    if (sweep == -1) {
      sweep = vertx.setTimer(Math.max(10, timeoutMs / 4), sweeper);
    }
  }

  /** {@code upload} no longer waits on its backend for its end (written, or failed); later calls do nothing. */
  void sent(Upload upload) {
    if (!upload.sendingLinked) {
      return;
    }
    upload.sendingLinked = false;
    if (upload.sendingPrev == null) {
      sendingHead = upload.sendingNext;
    } else {
      upload.sendingPrev.sendingNext = upload.sendingNext;
    }
    if (upload.sendingNext == null) {
      sendingTail = upload.sendingPrev;
    } else {
      upload.sendingNext.sendingPrev = upload.sendingPrev;
    }
    upload.sendingPrev = null;
    upload.sendingNext = null;
  }

  private void sweepSending() {
    sweep = -1;
    long now = System.nanoTime();
    for (Upload upload = sendingHead; upload != null; ) {
      Upload next = upload.sendingNext;
      if (now - upload.progressNanos() >= timeoutNanos) {
        sent(upload);
        upload.endStalled();
        if (next != null && !next.sendingLinked) {
          // The reset ended the next one too (its end written or failed, synchronously): it left the list, no longer
          // to judge, and what follows it is found again from the head.
          next = sendingHead;
        }
      }
      upload = next;
    }
    if (sendingHead != null) {
      sweep = vertx.setTimer(Math.max(10, timeoutMs / 4), sweeper);
    }
  }

  /** The number of uploads whose end waits on their backend (for tests). */
  int sending() {
    int n = 0;
    for (Upload upload = sendingHead; upload != null; upload = upload.sendingNext) {
      n++;
    }
    return n;
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
