package dev.dockgate.proxy;

import dev.dockgate.pipeline.Exchange;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.streams.ReadStream;

/**
 * A client's request body streamed to the backend with back-pressure: what
 * {@code body.pipe().endOnFailure(false).to(request)} does, but a body of a declared length ends the
 * backend request with the chunk that completes it, so that a small body leaves with its head in one
 * write rather than one for the head and body and a second for the end. A body that fails (the client
 * left, or was too slow) resets the backend request; a backend that stops taking the body (a write
 * fails) or a try that is given up ({@link #stop}) has the rest of the body read and dropped, so the
 * client's connection is never left paused.
 *
 * <p>A backend that takes none of the body for the route's {@code timeout_ms} while the gateway has more of it to
 * send (the backend stopped reading: its socket buffers full, the client's reading paused) fails the try as a
 * timeout: 504, counted against the instance, its request reset and so its connection closed (nginx's
 * {@code proxy_send_timeout}: the gap between two writes, so a slow backend that keeps reading is waited for). The
 * body's end, once written but still queued behind what the backend has not taken, is watched so by the route's
 * {@link AnswerDeadlines} (one sweep, no timer per upload): its last bytes may fit below the write queue's limit, and
 * the answer's deadline starts only once the end has left. An HTTP/1 connection so given up on is closed at once, what
 * it still queued dropped ({@link ConnectionPool}); an HTTP/2 stream is reset (CANCEL). Once the backend has answered,
 * nothing of that applies ({@link #answered}): its answer is passed on, not cut as a stall. Meanwhile the edge's
 * {@code body_timeout_ms} does not blame the client for a body the backend holds up ({@link Exchange#takeBodyHeldMs}).
 * Event-loop confined.
 */
final class Upload implements Handler<Buffer>, Exchange.BodyHold {

  private final ReadStream<Buffer> from;
  private final HttpClientRequest to;
  /** Body bytes still to come when the request declared its length; -1: unknown (chunked). */
  private long left;
  private final Handler<AsyncResult<Void>> written = this::written;
  private Handler<Void> drain;
  private boolean over;
  /** A write failed on a connection whose output it shut: the answer may still come, the request is not reset. */
  private boolean writeFailed;
  /** The client's body failed before its end: the client left, or broke or stalled its body. */
  private boolean bodyFailed;
  /** The backend's answer has come: what it leaves of the body unread is no longer a stall ({@link #answered}). */
  private boolean answered;
  /** Set when the backend took none of the body in time ({@link #endStalled}). */
  private java.util.concurrent.TimeoutException stalled;
  private final Exchange exchange;
  private final Vertx vertx;
  /** How long the backend may take none of the body while more waits (the route's timeout_ms); 0: no limit here. */
  private final long stallMs;
  /** The timer of a wait on the backend, or -1. */
  private long stall = -1;
  /** Completed once the body's end is written to the backend; failed when the upload stops short of it. */
  private final io.vertx.core.Promise<Void> sent = io.vertx.core.Promise.promise();
  /** Time the body waited on the backend not yet given back to the edge's body deadline, and since when (0: not). */
  private long heldNanos;
  private long heldSinceNanos;
  /**
   * Since when the backend has taken none of the body while some waited on it, {@link System#nanoTime}: the last
   * completed write, or the write issued when none was left in flight (a client's pause is not the backend's stall).
   */
  private long progressNanos = System.nanoTime();
  /** Writes (and the end) handed to the backend request, not yet completed. */
  private int inFlight;
  /** The route's deadlines, which watch the body's end while the backend has not taken it ({@link #ending}). */
  private final AnswerDeadlines deadlines;
  /** Links of {@link AnswerDeadlines}' uploads whose end waits on their backend (owned by it). */
  Upload sendingPrev;
  Upload sendingNext;
  boolean sendingLinked;

  private Upload(ReadStream<Buffer> from, HttpClientRequest to, long length, Exchange exchange, Vertx vertx,
      long stallMs, AnswerDeadlines deadlines) {
    this.from = from;
    this.to = to;
    this.left = length;
    this.exchange = exchange;
    this.vertx = vertx;
    this.stallMs = stallMs;
    this.deadlines = deadlines;
  }

  /**
   * Starts streaming {@code from} (paused until now) into {@code to}, whose head is set; {@code length}:
   * the body's declared length (Content-Length, already checked against the limit), or -1.
   */
  static Upload start(ReadStream<Buffer> from, HttpClientRequest to, long length, Exchange exchange, Vertx vertx,
      long stallMs, AnswerDeadlines deadlines) {
    Upload upload = new Upload(from, to, length, exchange, vertx, stallMs, deadlines);
    exchange.bodyHold(upload);
    from.exceptionHandler(upload::failed);
    from.endHandler(upload::ended);
    from.handler(upload);
    from.resume();
    return upload;
  }

  @Override
  public void handle(Buffer chunk) {
    if (over) {
      return;
    }
    if (left > 0 && (left -= chunk.length()) <= 0) {
      over = true;
      release();
      issuing();
      to.end(chunk).onComplete(this::endWritten); // the last byte of a declared length: the head, if unsent, with it
      ending();
      return;
    }
    issuing();
    to.write(chunk).onComplete(written);
    if (!over && to.writeQueueFull()) { // (a write that failed at once has stopped the upload)
      from.pause();
      if (drain == null) {
        drain = v -> {
          unheld();
          from.resume();
        };
      }
      to.drainHandler(drain);
      if (heldSinceNanos == 0) {
        heldSinceNanos = System.nanoTime() | 1;
      }
      if (stallMs > 0 && stall < 0 && !answered) {
        watchStall(stallMs);
      }
    }
  }

  /**
   * A write is handed to the backend: one issued with none left in flight starts the wait on the backend, which
   * before had nothing of the body to take (the client had sent nothing more), so cannot have stalled on it.
   */
  private void issuing() {
    if (inFlight++ == 0) {
      progressNanos = System.nanoTime();
    }
  }

  /**
   * Checks in {@code ms} whether the backend took any of the body for {@link #stallMs}: a slow backend that keeps
   * taking it (each completed write) is waited for, as nginx's {@code proxy_send_timeout} times the gap between two
   * writes, not the whole upload.
   */
  private void watchStall(long ms) {
    stall = vertx.setTimer(Math.max(1, ms), id -> {
      stall = -1;
      long idleMs = (System.nanoTime() - progressNanos) / 1_000_000;
      if (idleMs >= stallMs) {
        backendStalled();
      } else if (!over) {
        watchStall(stallMs - idleMs);
      }
    });
  }

  /** The backend takes the body again (or the upload is over): no longer waiting on it. */
  private void unheld() {
    if (stall >= 0) {
      vertx.cancelTimer(stall);
      stall = -1;
    }
    if (heldSinceNanos != 0) {
      heldNanos += System.nanoTime() - heldSinceNanos;
      heldSinceNanos = 0;
    }
  }

  @Override
  public long takeHeldMs() {
    long held = heldNanos;
    if (heldSinceNanos != 0) {
      long now = System.nanoTime();
      held += now - heldSinceNanos;
      heldSinceNanos = now | 1;
    }
    heldNanos = 0;
    return held / 1_000_000;
  }

  /** The backend took none of the body in time: the try fails as a timeout (504), the rest of the body dropped. */
  private void backendStalled() {
    if (!over && !answered) {
      endStalled();
    }
  }

  /**
   * The body's end is written, not yet taken by the backend (queued behind what it has not read): watched by the
   * route's deadlines until it leaves, the upload's own stall timer being gone with the body's last chunk.
   */
  private void ending() {
    if (stallMs > 0 && !answered && !sent.future().isComplete()) {
      deadlines.sending(this);
    }
  }

  /**
   * The backend's answer has come while the body was still being sent (an early answer: a 401, a 413, or one it
   * streams without reading on): the backend may leave the rest unread, the answer is what the try waits on, and a
   * stall cut it mid-way, so neither the stall timer nor the end's watch fails the try while it is passed on. An
   * HTTP/1 connection is closed at the answer's end ({@link ConnectionPool}), which ends the upload; an HTTP/2 backend
   * may still read the rest (RFC 9113 §8.1), watched again from then on ({@link #relayed}).
   */
  void answered() {
    answered = true;
    if (stall >= 0) {
      vertx.cancelTimer(stall);
      stall = -1;
    }
    if (sendingLinked) {
      deadlines.sent(this);
    }
  }

  /**
   * The answer has been passed on (or given up): a body its backend still leaves unread is watched again, so that an
   * HTTP/2 stream whose backend never takes the rest is reset at the route's timeout rather than kept for ever; no
   * answer is left to cut.
   */
  void relayed() {
    if (!answered || sent.future().isComplete()) {
      return;
    }
    answered = false;
    progressNanos = System.nanoTime(); // the time the answer took is not the backend's stall
    if (over) {
      ending();
    } else if (heldSinceNanos != 0 && stallMs > 0 && stall < 0) {
      watchStall(stallMs);
    }
  }

  long progressNanos() {
    return progressNanos;
  }

  /** The backend took none of the body, nor its end, in time: the try fails as a timeout (504). */
  void endStalled() {
    stop();
    stalled = new java.util.concurrent.TimeoutException("the backend took none of the request body in time");
    to.reset(AnswerDeadlines.CANCEL, stalled);
  }

  /** Why the try was given up on a backend that stopped taking the body (a timeout), or null. */
  java.util.concurrent.TimeoutException stalled() {
    return stalled;
  }

  /**
   * The whole request is written to the backend (or not): when its answer's deadline starts, as nginx's
   * {@code proxy_read_timeout} follows the request's sending, not the gateway's reading of the client.
   */
  Future<Void> sent() {
    return sent.future();
  }

  private void endWritten(AsyncResult<Void> ar) {
    if (sendingLinked) {
      deadlines.sent(this);
    }
    written(ar);
    if (ar.succeeded()) {
      sent.tryComplete();
    } else {
      sent.tryFail(ar.cause());
    }
  }

  /**
   * A write or the end failed: the backend takes no more of the body, the rest is dropped. On a connection of the
   * gateway's pool, whose output the failed write shut, the request is not reset: an answer the backend sent before
   * it stopped reading (a 401 or 413 from the head alone, then the reset its kernel sends for the body left unread)
   * is still read, where a reset at once dropped it (502); the connection is closed once that answer has ended
   * ({@link ConnectionPool}). Without an answer its close fails the try, and the answer's deadline starts here.
   */
  private void written(AsyncResult<Void> ar) {
    inFlight--;
    if (ar.failed()) {
      stop();
      io.netty.channel.Channel channel = BackendClients.channelOf(to.connection());
      if (channel instanceof io.netty.channel.socket.DuplexChannel duplex && duplex.isOutputShutdown()) {
        writeFailed = true;
      } else {
        to.reset(); // (an HTTP/2 stream, a closed connection): the try fails through the answer it will not give
      }
    } else {
      progressNanos = System.nanoTime();
    }
  }

  /** The body's end: nothing more comes, so its handlers stay as they are. */
  private void ended(Void v) {
    if (!over) {
      over = true;
      to.drainHandler(null);
      issuing();
      to.end().onComplete(this::endWritten);
      ending();
    }
  }

  /** The client's body failed (the client left, or the edge gave up on it): so does the try. */
  private void failed(Throwable err) {
    if (sendingLinked) {
      deadlines.sent(this);
    }
    if (!over) {
      over = true;
      bodyFailed = true;
      release();
      to.reset();
    }
    sent.tryFail(err);
  }

  /**
   * Whether the try was reset because the client's body failed (its connection closed or its stream reset
   * mid-body, a body shorter than its length): the client's doing, whatever the backend's answer then says.
   */
  boolean bodyFailed() {
    return bodyFailed;
  }

  /** Whether the backend stopped taking the body (a write failed, its connection's output shut): its answer may come. */
  boolean writeFailed() {
    return writeFailed;
  }

  /** Stops streaming: what is left of the body is read and dropped. */
  void stop() {
    if (sendingLinked) {
      deadlines.sent(this);
    }
    if (!over) {
      over = true;
      release();
      from.resume();
    }
    sent.tryFail("the upload stopped");
  }

  /**
   * Unsets this upload's handlers. The body wrappers ({@code LimitedBody}, {@code PeekedBody}) hand the
   * request a new end handler, which a request already read whole refuses: it needs none unset.
   */
  private void release() {
    unheld();
    to.drainHandler(null);
    try {
      from.handler(null);
      from.exceptionHandler(null);
      from.endHandler(null);
    } catch (IllegalStateException alreadyRead) {
      // its end came: nothing more will
    }
  }
}
