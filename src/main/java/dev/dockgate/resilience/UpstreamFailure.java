package dev.dockgate.resilience;

import io.vertx.circuitbreaker.OpenCircuitException;
import io.vertx.core.http.ConnectionPoolTooBusyException;
import io.vertx.core.http.HttpClosedException;
import java.net.ConnectException;
import java.util.concurrent.TimeoutException;

/**
 * Why a request could not be answered by its backend, each with the status the client gets.
 * {@link #classify} is the one place that turns a library failure into one of these, by type.
 */
public abstract sealed class UpstreamFailure extends RuntimeException {

  private final int status;

  private UpstreamFailure(int status, String message, Throwable cause) {
    super(message, cause, false, false);
    this.status = status;
  }

  public int status() {
    return status;
  }

  /**
   * True when the request never reached an application (refused, circuit open) or the connection
   * broke before any answer: another instance may serve it. Timeouts are not retried, so a slow
   * backend does not receive the same work several times.
   */
  public boolean retryable() {
    return this instanceof Refused || this instanceof CircuitOpen || this instanceof BadGateway || this instanceof Busy
        || this instanceof ClosedOnReuse;
  }

  /** No instance of the backend is known or routable. */
  public static final class NoInstance extends UpstreamFailure {
    public NoInstance(String backend) {
      super(503, "no instance of backend \"" + backend + "\" is available", null);
    }
  }

  /** The instance refused or could not be connected to in time. */
  public static final class Refused extends UpstreamFailure {
    public Refused(String backend, Throwable cause) {
      super(503, "backend \"" + backend + "\" is unreachable", cause);
    }
  }

  /**
   * The gateway's own pool for the instance is full: {@code max_connections} in use and {@code max_wait_queue}
   * requests waiting, or none of the connections came free within {@code connect_timeout_ms}. Nothing was sent;
   * the instance did nothing wrong.
   */
  public static final class Busy extends UpstreamFailure {
    public Busy(String backend, Throwable cause) {
      super(503, "backend \"" + backend + "\" is busy (" + (cause instanceof PoolWaitTimeout
          ? "all its connections stayed in use while the request waited" : "its connections and wait queue are full")
          + ")", cause);
    }
  }

  /**
   * The gateway could not open a connection to the instance for want of file descriptors (the process's or the
   * system's): the gateway is overloaded, the instance did nothing wrong, so its circuit does not count it.
   */
  public static final class OutOfDescriptors extends UpstreamFailure {
    public OutOfDescriptors(String backend, Throwable cause) {
      super(503, "no file descriptor left to connect to backend \"" + backend + "\" (the gateway's open-file limit)",
          cause);
    }
  }

  /** The instance's circuit is open: no attempt was made. */
  public static final class CircuitOpen extends UpstreamFailure {
    public CircuitOpen(String backend) {
      super(503, "backend \"" + backend + "\" is unavailable (circuit open)", null);
    }
  }

  /** The instance did not answer within the route's timeout. */
  public static final class Timeout extends UpstreamFailure {
    public Timeout(String backend, Throwable cause) {
      super(504, "backend \"" + backend + "\" did not answer in time", cause);
    }
  }

  /** The instance broke the exchange (reset, closed, malformed answer). */
  public static final class BadGateway extends UpstreamFailure {
    public BadGateway(String backend, Throwable cause) {
      super(502, "backend \"" + backend + "\" failed to answer", cause);
    }
  }

  /**
   * The instance closed or reset a kept-alive connection that had carried an earlier exchange, before any answer
   * to the request sent on it: its keep-alive timeout racing the reuse, not a sign of a failing instance.
   */
  public static final class ClosedOnReuse extends UpstreamFailure {
    public ClosedOnReuse(String backend, Throwable cause) {
      super(502, "backend \"" + backend + "\" failed to answer", cause);
    }
  }

  /**
   * The HTTP/2 instance refused the request's stream unprocessed: RST_STREAM REFUSED_STREAM, or a GOAWAY whose
   * last-stream-id is below the stream's (RFC 9113 §8.7). Nothing of the request was processed, whatever its method,
   * so it may be sent again wherever its body can be. It is the instance's backpressure (at its stream limit, or
   * shutting down), not a fault: its circuit does not count it, and the client gets 503, as from Envoy.
   */
  public static final class RefusedStream extends UpstreamFailure {
    public RefusedStream(String backend, String how, Throwable cause) {
      super(503, "backend \"" + backend + "\" refused the request unprocessed (" + how + ")", cause);
    }
  }

  /**
   * How an HTTP/2 instance refused a request's stream unprocessed (RFC 9113 §8.7), or null when {@code err} is no such
   * refusal: RST_STREAM REFUSED_STREAM; a GOAWAY received on the connection ({@code goAwayLastStreamId}, -1: none)
   * whose last-stream-id is below {@code streamId} (-1: the stream was never opened); Netty declining to open the
   * stream (past a GOAWAY's last-stream-id, or past the instance's SETTINGS_MAX_CONCURRENT_STREAMS), nothing sent.
   * The gateway's own resets say CANCEL, never REFUSED_STREAM.
   */
  public static String refusedStream(Throwable err, int streamId, int goAwayLastStreamId) {
    if (err instanceof io.vertx.core.http.StreamResetException reset) {
      return reset.getCode() == io.netty.handler.codec.http2.Http2Error.REFUSED_STREAM.code()
          ? "HTTP/2 REFUSED_STREAM" : null;
    }
    if (goAwayLastStreamId >= 0 && streamId > goAwayLastStreamId) {
      return "HTTP/2 GOAWAY with last-stream-id " + goAwayLastStreamId + " below its stream " + streamId;
    }
    for (Throwable t = err; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof io.netty.handler.codec.http2.Http2Exception h2
          && h2.error() == io.netty.handler.codec.http2.Http2Error.REFUSED_STREAM) {
        return "HTTP/2 stream not opened: " + h2.getMessage();
      }
    }
    return null;
  }

  /**
   * The TLS handshake with an HTTPS instance failed: unknown CA, wrong name, expired certificate, an instance that
   * does not speak TLS or closed the connection, no common protocol. The message (the client's answer) says which in
   * a few words; {@link #logLine} adds the library's detail and what to check.
   */
  public static final class TlsFailed extends UpstreamFailure {
    private final String backend;
    private final TlsFailure.Why why;

    public TlsFailed(String backend, javax.net.ssl.SSLException cause) {
      this(backend, TlsFailure.why(cause), cause);
    }

    private TlsFailed(String backend, TlsFailure.Why why, javax.net.ssl.SSLException cause) {
      super(502, "TLS with backend \"" + backend + "\" failed: " + why.reason(), cause);
      this.backend = backend;
      this.why = why;
    }

    /** The instance's WARNING line: the message, the detail, what to check. */
    public String logLine(String instance) {
      return "backend \"" + backend + "\" instance " + instance + ": " + getMessage()
          + (why.detail().isEmpty() ? "" : " (" + why.detail() + ")") + "; answering 502 (check " + why.check() + ")";
    }
  }

  /** The client went away before the answer: not the backend's fault, never a breaker failure. */
  public static final class ClientGone extends UpstreamFailure {
    public ClientGone(String backend, Throwable cause) {
      super(499, "client closed the request to backend \"" + backend + "\"", cause);
    }
  }

  /** The client sent more body than the gateway accepts. */
  public static final class BodyTooLarge extends UpstreamFailure {
    public BodyTooLarge(long max) {
      super(413, "request body larger than " + max + " bytes", null);
    }
  }

  /**
   * The host name that could not be resolved, where a connection failed for that (no such name, no DNS answer), else
   * null: nothing was sent, the instance is unreachable (503), as nginx answers a target it cannot resolve.
   */
  public static java.net.UnknownHostException unresolved(Throwable err) {
    for (Throwable t = err; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof java.net.UnknownHostException unknown) {
        return unknown;
      }
    }
    return null;
  }

  /** True for failures the client caused: they never count against the backend's circuit. */
  public boolean clientFault() {
    return this instanceof ClientGone || this instanceof BodyTooLarge;
  }

  /**
   * Whether a failure says something about the instance, so that its circuit counts it: not when the client
   * caused it, nor when the gateway's own pool limit refused the request before anything was sent (a full pool
   * is load, and opening the circuit of a healthy instance would turn it into 503s for everyone), nor when a
   * kept-alive connection was closed as it was reused, nor when the gateway had no file descriptor left to connect,
   * nor when an HTTP/2 instance refused a stream unprocessed (its backpressure: it answers, but not this many at once).
   */
  public static boolean countsAgainstInstance(Throwable err) {
    return !(err instanceof ConnectionPoolTooBusyException || err instanceof Busy || err instanceof ClosedOnReuse
        || err instanceof RefusedStream
        || err instanceof OutOfDescriptors || err instanceof UpstreamFailure failure && failure.clientFault()
        || dev.dockgate.edge.FileDescriptors.exhausted(err));
  }

  public static UpstreamFailure classify(Throwable err, String backend) {
    if (err instanceof UpstreamFailure failure) {
      return failure;
    }
    if (err instanceof OpenCircuitException) {
      return new CircuitOpen(backend);
    }
    if (dev.dockgate.edge.FileDescriptors.exhausted(err)) {
      return new OutOfDescriptors(backend, err);
    }
    for (Throwable t = err; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof javax.net.ssl.SSLException tls) {
        return new TlsFailed(backend, tls);
      }
    }
    if (err instanceof ConnectionPoolTooBusyException) {
      return new Busy(backend, err);
    }
    if (err instanceof ConnectException || err instanceof io.netty.channel.ConnectTimeoutException
        || unresolved(err) != null) {
      return new Refused(backend, err);
    }
    if (err instanceof TimeoutException || err instanceof io.netty.handler.timeout.TimeoutException
        || (err instanceof io.vertx.core.http.StreamResetException reset && reset.getCause() instanceof TimeoutException)) {
      // The last: the gateway reset a request whose answer was late (AnswerDeadlines).
      return new Timeout(backend, err);
    }
    if (err instanceof HttpClosedException) {
      return new BadGateway(backend, err);
    }
    return new BadGateway(backend, err);
  }
}
