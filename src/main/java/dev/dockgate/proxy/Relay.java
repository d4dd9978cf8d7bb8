package dev.dockgate.proxy;

import io.vertx.core.Handler;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpServerResponse;

/**
 * A backend's answer body streamed to the client with back-pressure: what {@code response.pipe().to(out)}
 * does, in one object per answer instead of a pipe, its promises and a future per write. The body ends the
 * client's response; a backend that fails mid-body (or a client that leaves, which resets the backend's
 * stream: see {@code BackendRequest.sendRequest}) resets both sides. {@code done} runs once, either way.
 * An answer of a known length ends the client's response with the chunk that completes it, so that a
 * small answer leaves in one write (head, body and end together) rather than one for the head and body
 * and a second for the end; the backend's own end, read right after its last byte, then only counts.
 * Trailer fields the backend sends after its body (gRPC's status) follow the client's body where its framing carries
 * them and the client reads them: HTTP/2, and chunked HTTP/1.1 to a client that sent {@code TE: trailers}.
 * An HTTP/2 stream whose client takes nothing of the answer for {@code idle_timeout_ms} (its flow-control window
 * closed, while the connection lives on through other streams or PINGs, so the connection's idle timeout never
 * comes) is cut: the stream reset, the backend's request too. An HTTP/1 connection that stalls so is closed by that
 * idle timeout.
 * A body cut mid-way is cut toward the client visibly: its HTTP/1 connection closed, its HTTP/2 stream reset
 * with INTERNAL_ERROR; when the backend's side failed (its connection closed or reset, its stream reset, trailers no
 * client may be sent), {@link Failures#cut} is told first, with the bytes relayed.
 * A backend that fails before anything of its answer left (a bad first chunk, a close right after the
 * head) is handed to {@link Failures#unanswered} instead, which answers the client itself (502, as nginx does).
 * Event-loop confined.
 */
final class Relay implements Handler<Buffer> {

  /**
   * The HTTP/2 error code of a stream whose answer is cut: INTERNAL_ERROR. A reset with NO_ERROR (Vert.x's
   * default) after a part of an answer may be taken by the client for the answer's end (RFC 9113 §8.1; curl does).
   */
  private static final long CUT = 0x2;

  private final HttpClientResponse from;
  private final HttpServerResponse to;
  private final Runnable done;
  private final Failures failures;
  /** Body bytes still to come when the answer declared its length (the decoder reads no more); -1: unknown. */
  private long left;
  /** The client is sent trailer fields: an HTTP/2 stream, or a chunked HTTP/1.1 answer to a client asking for them. */
  private final boolean passTrailers;
  /** How long an HTTP/2 client may take nothing of the answer; null: no limit here (HTTP/1, or none set). */
  private final Stalls stalls;
  /**
   * Told the backend's trailers at the answer's end (an HTTP/2 backend's: a gRPC status), or null when the gateway
   * cuts the answer after a part of it left; null: nobody.
   */
  private final Handler<MultiMap> trailersRead;
  private Handler<Void> drain;
  /** Body bytes written to the client's response so far, but for a last chunk written with its end. */
  private long relayed;
  /** The stall timer, or -1. */
  private long stall = -1;
  /** System.nanoTime() (| 1) when the client's side last filled; 0: not stalled. */
  private long stalledSince;
  private boolean over;
  /** The gateway reset the stream whose end was held ({@link #watchEnd}, {@link #cutHeld}). */
  private boolean endCut;
  /** The answer's end waits for its client's window: the relay is among its router's {@link HeldEnds}. */
  private boolean heldEnd;
  /** The body's first bytes were relayed ({@link Failures#flowing}). */
  private boolean flowing;

  /** What the relay's owner is told of a failure of the backend's answer, and of its body's first bytes. */
  interface Failures {

    /** The body's first bytes came from the backend and are passed on. */
    void flowing();

    /** The answer failed before anything of it left: the client can still be answered. */
    void unanswered(Throwable err);

    /**
     * The answer failed on the backend's side after {@code relayed} bytes of its body had left (its connection closed
     * or reset, or its stream reset, mid-body; or a trailer no client may be sent). Told before the client's answer is
     * cut; the backend's failure may also be the echo of a client that left first (its owner knows).
     */
    void cut(Throwable err, long relayed);

    /**
     * The answer's end is about to be written, over HTTP/2 maybe held back by its client's window: then {@link #ended}
     * when all of it was handed to the connection at once, else {@code done} once it is written, or once its write
     * failed (the stream cut).
     */
    void ending();

    /** After {@link #ending}: the answer was wholly handed to the client's connection. */
    void ended();

    /**
     * After {@link #ending}: the end's write failed, its stream closed before it left: cut by the gateway ({@code cut}:
     * the held end's stall, RST_STREAM INTERNAL_ERROR), or by its client (its reset, its connection closed). Before
     * {@code done}.
     */
    void endLost(boolean cut);
  }

  /**
   * The stall limit of a router's HTTP/2 streams: {@code idle_timeout_ms}, on that router's timers; {@code held}: that
   * router's answers whose end waits for its client's window.
   */
  record Stalls(io.vertx.core.Vertx vertx, long ms, HeldEnds held) {
  }

  private Relay(HttpClientResponse from, HttpServerResponse to, long length, boolean passTrailers, Stalls stalls,
      Handler<MultiMap> trailersRead, Runnable done, Failures failures) {
    this.from = from;
    this.to = to;
    this.left = length;
    this.passTrailers = passTrailers;
    this.stalls = stalls;
    this.trailersRead = trailersRead;
    this.done = done;
    this.failures = failures;
  }

  /**
   * Starts the relay of {@code from}'s body (paused until now) into {@code to}, whose head is set;
   * {@code length}: the body's declared length (Content-Length), or -1. {@code done} runs when the
   * relay is over, but when the backend failed before the head left: then {@code failures} is told instead.
   * {@code passTrailers}: the backend's trailer fields, if any, follow the body (see {@link HeaderPolicy#copyTrailers});
   * {@code trailersRead}, if not null, is told them at the end.
   */
  static void start(HttpClientResponse from, HttpServerResponse to, long length, boolean passTrailers, Stalls stalls,
      Handler<MultiMap> trailersRead, Runnable done, Failures failures) {
    Relay relay = new Relay(from, to, length, passTrailers, stalls, trailersRead, done, failures);
    from.exceptionHandler(relay::backendFailed);
    from.endHandler(relay::ended);
    from.handler(relay);
    from.resume();
  }

  @Override
  public void handle(Buffer chunk) {
    if (over) {
      return;
    }
    if (!flowing && chunk.length() > 0) {
      flowing = true;
      failures.flowing();
    }
    if (left > 0 && (left -= chunk.length()) <= 0) {
      end(chunk); // the last byte of a declared length: nothing else can follow
      return;
    }
    relayed += chunk.length();
    try {
      to.write(chunk);
    } catch (IllegalStateException answered) {
      failed(answered, false); // the edge answered meanwhile (408 for a body too slow): the backend's answer is dropped
      return;
    }
    if (to.writeQueueFull()) {
      from.pause();
      if (drain == null) {
        drain = v -> {
          stalledSince = 0; // the timer, if any, finds the stall over and is not renewed
          from.resume();
        };
      }
      to.drainHandler(drain);
      if (stalls != null) {
        stalledSince = System.nanoTime() | 1; // (never 0)
        if (stall < 0) {
          armStall(stalls.ms());
        }
      }
    }
  }

  /**
   * A stall's timer: armed at the first stall and then only moved on (not cancelled and set again at each of the
   * many pauses and drains of a large answer to a client with a small window); fires at the stall's limit.
   */
  private void armStall(long ms) {
    stall = stalls.vertx().setTimer(Math.max(1, ms), id -> {
      stall = -1;
      if (stalledSince == 0 || over) {
        return; // drained meanwhile: the next stall arms it again
      }
      long left = stalls.ms() - (System.nanoTime() - stalledSince) / 1_000_000;
      if (left > 0) {
        armStall(left); // stalled again since: the rest of its time
        return;
      }
      failed(new java.util.concurrent.TimeoutException("the client took nothing of the answer for " + stalls.ms()
          + " ms"), false);
    });
  }

  private void ended(Void v) {
    if (!over) {
      MultiMap trailers = passTrailers || trailersRead != null ? from.trailers() : null; // read at the answer's end
      if (trailersRead != null) {
        trailersRead.handle(trailers);
      }
      if (passTrailers && !trailers.isEmpty()) {
        try {
          HeaderPolicy.copyTrailers(trailers, to.trailers()); // gRPC's grpc-status, checksums, ...
        } catch (RuntimeException invalid) { // a name or value no client may be sent: the answer is cut
          to.trailers().clear(); // (a 502 in its place, when nothing left yet, carries none of them)
          failed(invalid, true);
          return;
        }
      }
      end(null);
    }
  }

  /** Ends the client's response, with {@code last} (the body's last chunk) or without. */
  private void end(Buffer last) {
    over = true;
    cancelStall();
    failures.ending(); // an HTTP/2 exchange waits: its client's window may hold the end back
    io.vertx.core.Future<Void> sent;
    try {
      sent = last == null ? to.end() : to.end(last);
    } catch (IllegalStateException answered) {
      sent = io.vertx.core.Future.failedFuture(answered); // the edge answered meanwhile
    }
    long handed = relayed + (last == null ? 0 : last.length());
    if (stalls != null && !sent.isComplete() && to.bytesWritten() < handed) {
      // Vert.x still holds a part for the client's window: counted once it left (done), the stream watched meanwhile
      watchEnd(to.bytesWritten());
      heldEnd = true;
      stalls.held().add(this);
    } else {
      failures.ended(); // all of it handed to the connection: counted now
    }
    sent.onComplete(ar -> {
      cancelStall();
      if (heldEnd) {
        heldEnd = false;
        stalls.held().remove(this);
      }
      if (ar.failed()) {
        failures.endLost(endCut);
        if (last == null) {
          from.request().reset();
        } // else the backend's answer was read whole: its connection goes back to the pool
        to.reset();
      }
      done.run();
    });
  }

  /**
   * An HTTP/2 answer whose end Vert.x still holds for its client's window: its stream is cut once no more of it was let
   * out for the stall limit ({@code written}: the bytes let out when the timer was armed), as a stall before the end
   * is; the end's write then fails and {@code done} runs. Before, the stream stayed open, its rest held, as long as the
   * connection lived (its PINGs or other streams keep it). When Vert.x refuses the reset, having handed the end on to
   * the connection meanwhile (Netty holding its last bytes for the window), the request is counted then, as one handed
   * at once is: nothing else would end its wait while the connection lives.
   */
  private void watchEnd(long written) {
    stall = stalls.vertx().setTimer(Math.max(1, stalls.ms()), id -> {
      stall = -1;
      long now = to.bytesWritten();
      if (now != written) {
        watchEnd(now); // it took some: a new limit from now
      } else {
        endCut = true;
        to.reset(CUT).onFailure(refused -> failures.ended());
      }
    });
  }

  /**
   * The router stops, its drain over, and this answer's end still waits for its client's window: counted now, as cut
   * (its stream's close at the process's exit would come too late for any traffic event), and its stream reset.
   */
  void cutHeld() {
    cancelStall();
    heldEnd = false;
    endCut = true;
    failures.endLost(true);
    failures.ended();
    to.reset(CUT);
  }

  /** The relay is over: a stall's timer goes. */
  private void cancelStall() {
    if (stall >= 0) {
      stalls.vertx().cancelTimer(stall);
      stall = -1;
    }
  }

  /** The backend's answer failed (its connection or stream): a client leaving resets it too. */
  private void backendFailed(Throwable err) {
    failed(err, true);
  }

  /** The relay fails: on the backend's side ({@code backends}), or on the client's (a stall, the edge's answer). */
  private void failed(Throwable err, boolean backends) {
    if (over) {
      return;
    }
    over = true;
    cancelStall();
    from.request().reset();
    if (!to.headWritten() && !to.ended() && !to.closed()) { // (closed: the client left, nobody to answer)
      failures.unanswered(err); // nothing of the answer left yet: the client can still be answered
      return;
    }
    if (trailersRead != null) {
      trailersRead.handle(null); // no trailers: the answer was cut
    }
    if (backends) {
      failures.cut(err, to.bytesWritten()); // before the reset, which may end the exchange (its event) at once
    }
    to.reset(CUT); // HTTP/1: the connection is closed; HTTP/2: RST_STREAM, which must not say NO_ERROR
    done.run();
  }
}
