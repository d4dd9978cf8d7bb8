package dev.dockgate.proxy;

import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;

/**
 * A request body that fails once more than {@code max} bytes have come, for bodies whose size is
 * not announced (chunked). Passes everything else through to the underlying stream.
 */
final class LimitedBody implements ReadStream<Buffer> {

  /** The body went over the limit. */
  static final class TooLarge extends RuntimeException {
    TooLarge(long max) {
      super("request body over " + max + " bytes", null, false, false);
    }
  }

  private final ReadStream<Buffer> body;
  private final long max;
  private final Runnable onExceeded;
  private long seen;
  private boolean exceeded;
  private Handler<Throwable> exceptionHandler;

  LimitedBody(ReadStream<Buffer> body, long max, Runnable onExceeded) {
    this.body = body;
    this.max = max;
    this.onExceeded = onExceeded;
  }

  @Override
  public ReadStream<Buffer> handler(Handler<Buffer> handler) {
    if (handler == null) {
      body.handler(null);
      return this;
    }
    body.handler(chunk -> {
      if (exceeded) {
        return;
      }
      seen += chunk.length();
      if (seen > max) {
        exceeded = true;
        onExceeded.run();
        if (exceptionHandler != null) {
          exceptionHandler.handle(new TooLarge(max));
        }
        return;
      }
      handler.handle(chunk);
    });
    return this;
  }

  @Override
  public ReadStream<Buffer> exceptionHandler(Handler<Throwable> handler) {
    exceptionHandler = handler;
    body.exceptionHandler(handler);
    return this;
  }

  @Override
  public ReadStream<Buffer> pause() {
    body.pause();
    return this;
  }

  @Override
  public ReadStream<Buffer> resume() {
    body.resume();
    return this;
  }

  @Override
  public ReadStream<Buffer> fetch(long amount) {
    body.fetch(amount);
    return this;
  }

  @Override
  public ReadStream<Buffer> endHandler(Handler<Void> endHandler) {
    body.endHandler(v -> {
      if (!exceeded && endHandler != null) {
        endHandler.handle(v);
      }
    });
    return this;
  }
}
