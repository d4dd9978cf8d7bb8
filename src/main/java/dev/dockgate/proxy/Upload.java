package dev.dockgate.proxy;

import io.vertx.core.AsyncResult;
import io.vertx.core.Handler;
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
 * client's connection is never left paused. Event-loop confined.
 */
final class Upload implements Handler<Buffer> {

  private final ReadStream<Buffer> from;
  private final HttpClientRequest to;
  /** Body bytes still to come when the request declared its length; -1: unknown (chunked). */
  private long left;
  private final Handler<AsyncResult<Void>> written = this::written;
  private Handler<Void> drain;
  private boolean over;
  /** The client's body failed before its end: the client left, or broke or stalled its body. */
  private boolean bodyFailed;

  private Upload(ReadStream<Buffer> from, HttpClientRequest to, long length) {
    this.from = from;
    this.to = to;
    this.left = length;
  }

  /**
   * Starts streaming {@code from} (paused until now) into {@code to}, whose head is set; {@code length}:
   * the body's declared length (Content-Length, already checked against the limit), or -1.
   */
  static Upload start(ReadStream<Buffer> from, HttpClientRequest to, long length) {
    Upload upload = new Upload(from, to, length);
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
      to.end(chunk).onComplete(written); // the last byte of a declared length: the head, if unsent, goes with it
      return;
    }
    to.write(chunk).onComplete(written);
    if (!over && to.writeQueueFull()) { // (a write that failed at once has stopped the upload)
      from.pause();
      if (drain == null) {
        drain = v -> from.resume();
      }
      to.drainHandler(drain);
    }
  }

  /** A write or the end failed: the backend's stream is gone; the try fails through the answer it will not give. */
  private void written(AsyncResult<Void> ar) {
    if (ar.failed()) {
      stop();
      to.reset();
    }
  }

  /** The body's end: nothing more comes, so its handlers stay as they are. */
  private void ended(Void v) {
    if (!over) {
      over = true;
      to.drainHandler(null);
      to.end().onComplete(written);
    }
  }

  /** The client's body failed (the client left, or the edge gave up on it): so does the try. */
  private void failed(Throwable err) {
    if (!over) {
      over = true;
      bodyFailed = true;
      release();
      to.reset();
    }
  }

  /**
   * Whether the try was reset because the client's body failed (its connection closed or its stream reset
   * mid-body, a body shorter than its length): the client's doing, whatever the backend's answer then says.
   */
  boolean bodyFailed() {
    return bodyFailed;
  }

  /** Stops streaming: what is left of the body is read and dropped. */
  void stop() {
    if (!over) {
      over = true;
      release();
      from.resume();
    }
  }

  /**
   * Unsets this upload's handlers. The body wrappers ({@code LimitedBody}, {@code PeekedBody}) hand the
   * request a new end handler, which a request already read whole refuses: it needs none unset.
   */
  private void release() {
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
