package dev.dockgate.proxy;

import dev.dockgate.discovery.Instance;
import dev.dockgate.observability.LogPace;
import dev.dockgate.resilience.Outliers;
import dev.dockgate.resilience.Breaker;

/**
 * An instance as one router instance uses it: its shared circuit breaker and this router's count of
 * requests in flight to it (for least-requests picking). Confined to the router's event loop.
 */
public final class Upstream {

  private final Instance instance;
  /** The instance's address, made once: every request to it is sent there. */
  private final io.vertx.core.net.SocketAddress address;
  private final Breaker breaker;
  private final Outliers outliers;
  private final long graceEndsNanos;
  private long passOverUntilNanos;
  /** A failure to resolve the host, logged at most once a minute. */
  private final LogPace resolveFailures = LogPace.perMinute();
  /** A refused stream answered with 503, logged at most once a minute. */
  private final LogPace refusals = LogPace.perMinute();
  /** An answer cut by the instance mid-body, logged at most once every 10 s; those not logged since are counted. */
  private final LogPace cuts = new LogPace(ConnectionLoss.QUIET_NANOS);
  private int cutsUnsaid;
  /**
   * Which once-only WARNINGs of the instance are out ({@link #TLS_FAILURE_SAID}, {@link #HEAD_TOO_LARGE_SAID}): shared
   * by every router's upstream of the instance (see {@link dev.dockgate.resilience.BreakerRegistry#said}).
   */
  private final java.util.concurrent.atomic.AtomicInteger said;
  private static final int TLS_FAILURE_SAID = 1;
  private static final int HEAD_TOO_LARGE_SAID = 2;
  private io.vertx.core.net.HostAndPort origin;
  private io.vertx.core.net.HostAndPort authority;
  private int inFlight;
  private ConnectionLoss connectionLoss;
  /** Its plain-HTTP connections in the router's pool of its backend, once a request looked them up. */
  ConnectionPool.Endpoint endpoint;

  /**
   * An instance whose refusals count against its circuit from {@code graceEndsNanos} (System.nanoTime)
   * on; {@code outliers} (null: none) counts its 5xx answers.
   */
  public Upstream(Instance instance, Breaker breaker, long graceEndsNanos, Outliers outliers) {
    this(instance, breaker, graceEndsNanos, outliers, new java.util.concurrent.atomic.AtomicInteger());
  }

  /** The same, {@code said} shared with the instance's other upstreams ({@link #firstTlsFailure}). */
  public Upstream(Instance instance, Breaker breaker, long graceEndsNanos, Outliers outliers,
      java.util.concurrent.atomic.AtomicInteger said) {
    this.said = said;
    this.instance = instance;
    this.outliers = outliers;
    this.address = instance.socketAddress();
    this.breaker = breaker;
    this.graceEndsNanos = graceEndsNanos;
    this.passOverUntilNanos = graceEndsNanos - Long.MAX_VALUE / 2;
  }

  public Upstream(Instance instance, Breaker breaker) {
    this(instance, breaker, System.nanoTime(), null);
  }

  /** Counts an answer's status for outlier detection, when the backend has it. */
  void answered(int status, long nowNanos) {
    if (outliers != null) {
      outliers.answered(status, nowNanos);
    }
  }

  /** Ejected as an outlier: skipped while others can answer. */
  boolean ejected(long nowNanos) {
    return outliers != null && outliers.ejected(nowNanos);
  }

  /**
   * The name TLS checks for this instance, and its port: {@code serverName} (when set) or its host (the name a
   * {@code dns_targets} address was found under, else the host as it is: an IPv6 literal without brackets). Made once.
   */
  io.vertx.core.net.HostAndPort origin(String serverName) {
    if (origin == null) {
      origin = io.vertx.core.net.HostAndPort.create(serverName != null ? serverName : instance.originHost(),
          instance.port());
    }
    return origin;
  }

  /**
   * The instance as a Host value: {@link #origin}, with an IPv6 literal in brackets ({@code [2001:db8::1]:8080}).
   * Made once.
   */
  io.vertx.core.net.HostAndPort authority(String serverName) {
    if (authority == null) {
      io.vertx.core.net.HostAndPort tls = origin(serverName);
      String host = Instance.uriHost(tls.host());
      authority = host.equals(tls.host()) ? tls : io.vertx.core.net.HostAndPort.create(host, tls.port());
    }
    return authority;
  }

  /**
   * True when a failure to resolve this instance's host is to be logged: at most once a minute (a name that stays
   * unresolvable is said again, a flood of requests to it is not).
   */
  boolean resolveFailureToSay(long nowNanos) {
    return resolveFailures.due(nowNanos);
  }

  /**
   * True when a request this HTTP/2 instance refused unprocessed, answered 503 for want of a try that could take it,
   * is to be logged: at most once a minute (an instance shedding load under a flood is said, not each request).
   */
  boolean refusalToSay(long nowNanos) {
    return refusals.due(nowNanos);
  }

  /**
   * When an answer this instance cut mid-body is to be logged (at most once every 10 s, as {@link ConnectionLoss}
   * paces its lines): how many were not since the last that was; -1 when not now (this one is counted).
   */
  int cutToSay(long nowNanos) {
    if (!cuts.due(nowNanos)) {
      cutsUnsaid++;
      return -1;
    }
    int unsaid = cutsUnsaid;
    cutsUnsaid = 0;
    return unsaid;
  }

  /**
   * True the first time only: a TLS failure of this instance is logged once, not per request, whichever router saw
   * it, across reloads (as {@link #firstHeadTooLarge}).
   */
  boolean firstTlsFailure() {
    return firstSaid(TLS_FAILURE_SAID);
  }

  /**
   * True the first time only: an answer's head too large for the gateway is logged once per instance, whichever
   * router saw it, across reloads (the flag is the instance's, shared by every router while the instance is known).
   */
  boolean firstHeadTooLarge() {
    return firstSaid(HEAD_TOO_LARGE_SAID);
  }

  /** Sets {@code bit} in {@link #said}: true if this call set it. */
  private boolean firstSaid(int bit) {
    for (int was = said.get(); (was & bit) == 0; was = said.get()) {
      if (said.compareAndSet(was, was | bit)) {
        return true;
      }
    }
    return false;
  }

  /** True while the instance is new enough that a refused connection only means "not listening yet". */
  boolean inStartupGrace(long nowNanos) {
    return nowNanos - graceEndsNanos < 0;
  }

  /** The instance refused during its grace: other instances are preferred for a moment. */
  void passOver(long nowNanos, long forNanos) {
    passOverUntilNanos = nowNanos + forNanos;
  }

  /** True while the instance should be skipped if another one can take the request. */
  boolean passedOver(long nowNanos) {
    return nowNanos - passOverUntilNanos < 0;
  }

  public Instance instance() {
    return instance;
  }

  io.vertx.core.net.SocketAddress address() {
    return address;
  }

  public Breaker breaker() {
    return breaker;
  }

  /** The handler for failures of connections to this instance, which reports them (see {@link ConnectionLoss}). */
  ConnectionLoss connectionLoss(String backend) {
    if (connectionLoss == null) {
      connectionLoss = new ConnectionLoss(backend, instance);
    }
    return connectionLoss;
  }

  public int inFlight() {
    return inFlight;
  }

  void started() {
    inFlight++;
  }

  void finished() {
    inFlight--;
  }
}
