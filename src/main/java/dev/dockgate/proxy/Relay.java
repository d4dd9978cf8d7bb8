package dev.dockgate.proxy;

import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpServerResponse;

/**
 * A backend's answer body streamed to the client with back-pressure: what {@code response.pipe().to(out)}
 * does, in one object per answer instead of a pipe, its promises and a future per write. The body ends the
 * client's response; a backend that fails mid-body (or a client that leaves, which resets the backend's
 * stream: see {@code ProxyHandler.sendRequest}) resets both sides. {@code done} runs once, either way.
 * Event-loop confined.
 */
final class Relay implements Handler<Buffer> {

  private final HttpClientResponse from;
  private final HttpServerResponse to;
  private final Runnable done;
  private Handler<Void> drain;
  private boolean over;

  private Relay(HttpClientResponse from, HttpServerResponse to, Runnable done) {
    this.from = from;
    this.to = to;
    this.done = done;
  }

  /** Starts the relay of {@code from}'s body (paused until now) into {@code to}, whose head is set. */
  static void start(HttpClientResponse from, HttpServerResponse to, Runnable done) {
    Relay relay = new Relay(from, to, done);
    from.exceptionHandler(relay::failed);
    from.endHandler(relay::ended);
    from.handler(relay);
    from.resume();
  }

  @Override
  public void handle(Buffer chunk) {
    try {
      to.write(chunk);
    } catch (IllegalStateException answered) {
      failed(answered); // the edge answered meanwhile (408 for a body too slow): the backend's answer is dropped
      return;
    }
    if (to.writeQueueFull()) {
      from.pause();
      if (drain == null) {
        drain = v -> from.resume();
      }
      to.drainHandler(drain);
    }
  }

  private void ended(Void v) {
    if (over) {
      return;
    }
    over = true;
    io.vertx.core.Future<Void> sent;
    try {
      sent = to.end();
    } catch (IllegalStateException answered) {
      sent = io.vertx.core.Future.failedFuture(answered); // the edge answered meanwhile
    }
    sent.onComplete(ar -> {
      if (ar.failed()) {
        from.request().reset();
        to.reset();
      }
      done.run();
    });
  }

  private void failed(Throwable err) {
    if (over) {
      return;
    }
    over = true;
    from.request().reset();
    to.reset();
    done.run();
  }
}
