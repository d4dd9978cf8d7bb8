package dev.dockgate.proxy;

import dev.dockgate.pipeline.Exchange;
import dev.dockgate.tracing.BackendTry;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.streams.ReadStream;

/**
 * The proxy's state of one request across its tries; also what its answer's {@link Relay} calls back
 * (done, failed before anything left, or cut by its backend), so that no callback is made per answer. Event-loop
 * confined.
 */
final class Attempt implements Runnable, Relay.Failures, io.vertx.core.Handler<MultiMap> {
  final TryFailures owner;
  final Exchange exchange;
  final HttpServerRequest incoming;
  /** The request's URI toward the backend (normalized path, prefix stripped when the route says so). */
  String uri;
  /** The X-Forwarded-Prefix the backend is sent (see {@link StrippedPrefix#forwarded}); null: none stripped. */
  String prefix;
  /** The client's Content-Length, or -1 when it announced none. */
  long length;
  /**
   * What is streamed to the backend: the client's request, or a wrapper of it; null: nothing to stream (a bodiless
   * request, or one whose body is {@link #held}).
   */
  ReadStream<Buffer> body;
  /** The body read whole before the first try, sent by each try (HTTP/2: {@link ProxyHandler#hold}); null: none. */
  Buffer held;
  /** The heap its body counts among those held whole ({@link HeldBodies#reserve}); 0: none, or given back. */
  long heldBytes;
  /** The body's stream to the current try's backend request, once started; null: none. */
  Upload upload;
  /**
   * The backend's instances outside the router's window ({@code subset_size}), until a try has failed over to them;
   * none without a subset, or once used. Set by {@link Tries#dispatch}.
   */
  Upstream[] beyond;
  /** The instance of the current try; null between tries. */
  Upstream upstream;
  /** The current try's span; null when tracing is off. */
  BackendTry span;
  /** The client's unannounced body went past the limit (413). */
  boolean tooLarge;
  /** The current try found no connection: nothing was sent, any request may go elsewhere. */
  boolean unsent;
  /** System.nanoTime() by which the request, all tries together, must have its answer; 0: none. */
  long deadlineNanos;
  /** A gRPC call's own deadline (its grpc-timeout, from arrival), which replaces the route's timeout; 0: none. */
  long grpcDeadlineNanos;
  /** Idempotent and bodiless as the client sent it: safe to send again after it left the gateway. */
  boolean replayable;
  /**
   * The current try was sent again: on a new connection, its reused one closed before any answer; or on a new HTTP/2
   * stream, the instance having refused the first unprocessed.
   */
  boolean resent;

  /** What the route's stages had set on the client's response before the backend's head (null: nothing). */
  MultiMap before;
  /** The client left (its connection closed or its stream reset) while a try was under way. */
  boolean clientGone;
  /** The answer's relay has started: what {@link #handle} is given is trailers, no longer early hints. */
  boolean relaying;
  /** 103 Early Hints passed on to the client so far. */
  int hints;
  /** The backend cut the answer after a part of it left ({@link TryFailures#cutByBackend}). */
  boolean cut;
  /**
   * The answer is a stream that may never end (an event stream, a gRPC call): it counts for its instance at its first
   * body bytes rather than at its end ({@link BackendAnswer#respond}).
   */
  boolean stream;
  /** The answer was counted for its instance (a stream's, at its first body bytes). */
  boolean counted;
  /**
   * The generation of its instance's circuit the current try was let through in (see
   * {@link dev.dockgate.resilience.Breaker#generation}): its success counts in that one alone.
   */
  int generation;
  /** The status of the instance's answer being relayed (the client's may be the edge's own: a 408 for its body). */
  int status;

  Attempt(TryFailures owner, Exchange exchange, HttpServerRequest incoming) {
    this.owner = owner;
    this.exchange = exchange;
    this.incoming = incoming;
    this.body = incoming;
  }

  /**
   * The answer's relay is over: the request is counted, and the answer for its instance (with the instance's status)
   * unless its backend cut it or it was counted already.
   */
  @Override
  public void run() {
    if (!cut && !counted && upstream != null) {
      counted = true;
      Tries.answered(upstream, generation, status);
    }
    owner.finished(this);
    exchange.endWritten();
  }

  /** The answer's end is about to be written: an HTTP/2 exchange waits ({@link #ended}, or {@link #run}). */
  @Override
  public void ending() {
    exchange.endPending();
  }

  /** The answer was wholly handed to the client's connection: counted now. */
  @Override
  public void ended() {
    exchange.endWritten();
  }

  /** The answer's end never left: its traffic event says what its client saw ({@link Exchange#endLost}). */
  @Override
  public void endLost(boolean cut) {
    exchange.endLost(cut);
  }

  /**
   * The first bytes of the answer's body are relayed: a stream counts for its instance now (its head alone showed
   * that the instance took the stream, not that it serves it; a stream cut before this is a failure alone).
   */
  @Override
  public void flowing() {
    if (stream && !counted && upstream != null) {
      counted = true;
      Tries.answered(upstream, generation, status);
    }
  }

  /** The answer failed before anything of it left. */
  @Override
  public void unanswered(Throwable err) {
    owner.unanswered(this, err);
  }

  /** The backend cut the answer after {@code relayed} bytes of it left. */
  @Override
  public void cut(Throwable err, long relayed) {
    owner.cutByBackend(this, err, relayed);
  }

  /**
   * Before the relay: a 103 Early Hints from the backend, passed on. During it: an HTTP/2 backend's trailers, at
   * the answer's end: a gRPC call's status; null: the answer was cut.
   */
  @Override
  public void handle(MultiMap trailers) {
    if (!relaying) {
      BackendAnswer.earlyHints(this, trailers);
    } else if (trailers == null) {
      exchange.grpcCut();
    } else {
      exchange.grpcStatus(trailers.get(BackendAnswer.GRPC_STATUS));
    }
  }
}
