package dev.dockgate.proxy;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;

/**
 * A paused request body whose first chunk is read ahead, to learn whether there is a body at all:
 * an HTTP/2 request without Content-Length may end with its head or stream a body of any size, and
 * the HTTP/1.1 request made from it must say which (nothing, or chunked). The chunk read ahead is
 * handed on first. Used on the request's event loop only.
 */
final class PeekedBody implements ReadStream<Buffer> {

  private final ReadStream<Buffer> source;
  private Buffer first;
  private Handler<Buffer> handler;
  private boolean paused = true;
  /** HTTP/2 requests refuse pause, resume and fetch once their end was delivered. */
  private boolean ended;

  PeekedBody(ReadStream<Buffer> source) {
    this.source = source;
  }

  /** True when a non-empty chunk came before the end; the source is paused again either way. */
  Future<Boolean> peek() {
    Promise<Boolean> promise = Promise.promise();
    source.exceptionHandler(promise::tryFail);
    source.endHandler(v -> {
      ended = true;
      promise.tryComplete(false);
    });
    source.handler(chunk -> {
      if (chunk.length() == 0) {
        source.fetch(1);
        return;
      }
      first = chunk;
      source.pause();
      promise.tryComplete(true);
    });
    source.fetch(1);
    return promise.future();
  }

  @Override
  public ReadStream<Buffer> handler(Handler<Buffer> handler) {
    this.handler = handler;
    source.handler(handler);
    return this;
  }

  @Override
  public ReadStream<Buffer> exceptionHandler(Handler<Throwable> handler) {
    source.exceptionHandler(handler);
    return this;
  }

  @Override
  public ReadStream<Buffer> endHandler(Handler<Void> endHandler) {
    source.endHandler(v -> {
      ended = true;
      if (endHandler != null) {
        endHandler.handle(v);
      }
    });
    return this;
  }

  @Override
  public ReadStream<Buffer> pause() {
    paused = true;
    if (!ended) {
      source.pause();
    }
    return this;
  }

  @Override
  public ReadStream<Buffer> resume() {
    paused = false;
    handOnFirst();
    if (!paused && !ended) {
      source.resume();
    }
    return this;
  }

  @Override
  public ReadStream<Buffer> fetch(long amount) {
    if (amount > 0 && first != null) {
      handOnFirst();
      amount--;
    }
    if (amount > 0 && !ended) {
      source.fetch(amount);
    }
    return this;
  }

  /** Delivers the chunk read ahead, once; its handler may pause this stream again. */
  private void handOnFirst() {
    Buffer chunk = first;
    if (chunk != null && handler != null) {
      first = null;
      handler.handle(chunk);
    }
  }
}
