package dev.dockgate.proxy;

import dev.dockgate.resilience.PoolWaitTimeout;
import io.netty.channel.Channel;
import io.netty.util.AttributeKey;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.ConnectionPoolTooBusyException;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientConnection;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpConnectOptions;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.HostAndPort;
import io.vertx.core.net.SocketAddress;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * One backend's HTTP/1 connections to its instances, for one router: at most {@code max_connections}
 * per instance, at most {@code max_wait_queue} requests waiting for one (more: refused as too busy), the wait and
 * the connect together within the request's connect timeout, idle connections reused newest first and closed
 * after {@code keep_alive_timeout_s} (or the backend's {@code Keep-Alive: timeout}, if shorter). Vert.x's own pool
 * does the same but builds a new context for every request it gives a connection to. A connection goes back when
 * its answer has ended after all of its request was sent; one that failed, that was answered before its request
 * was all sent, whose answer's end was its close (a body without a length), or that the backend closes
 * ({@code Connection: close}, HTTP/1.0 without keep-alive), never does. HTTPS instances too (TLS with the
 * backend's settings, the origin's name for SNI and the certificate check); HTTP/2 ones keep Vert.x's pool (one
 * multiplexed connection). Confined to the router's event loop.
 */
public final class ConnectionPool {

  /** A pooled connection, where it stands, and the handlers of the one exchange it carries at a time. */
  private final class Pooled implements Handler<AsyncResult<HttpClientRequest>> {
    final Endpoint endpoint;
    final HttpClientConnection connection;
    /** Its channel, to tell a connection already closing from a live one; null when not reachable. */
    final Channel channel;
    /** While idle: when it must be closed. */
    long idleUntil;
    boolean closed;
    /** How long it may idle once the current exchange ends (0: not reused). */
    long keepAlive;
    /** Requests made on it so far, the current one included. */
    int requests;
    /** An answer's head came and its end has not yet been read by the client's side: the answer is being handed on. */
    boolean delivering;
    final Handler<AsyncResult<HttpClientResponse>> onHead = this::head;
    final Handler<AsyncResult<Void>> onEnd = this::ended;

    Pooled(Endpoint endpoint, HttpClientConnection connection, Channel channel) {
      this.endpoint = endpoint;
      this.connection = connection;
      this.channel = channel;
    }

    boolean alive() {
      return !closed && (channel == null || channel.isActive() && !channel.hasAttr(UNUSABLE));
    }

    /** The request made on this connection: its answer is watched to know when the connection is free again. */
    @Override
    public void handle(AsyncResult<HttpClientRequest> made) {
      if (made.failed()) {
        connection.close();
      } else {
        requests++;
        made.result().response().onComplete(onHead);
      }
    }

    private void head(AsyncResult<HttpClientResponse> head) {
      if (head.failed()) {
        close(); // an answer that failed leaves the connection in no known state
        return;
      }
      HttpClientResponse response = head.result();
      keepAlive = keepAliveNanos(response);
      delivering = true;
      response.end().onComplete(onEnd);
    }

    private void ended(AsyncResult<Void> end) {
      delivering = false;
      if (end.failed() || connection.activeStreams() > 0 || keepAlive <= 0) {
        // Failed; answered before its request was all sent (an early 401 or 413 during an upload: the connection
        // is not handed to another request behind that upload); or not reusable (Vert.x closes it too after
        // `Connection: close`). Its close handler frees the slot.
        close();
      } else {
        release(this, keepAlive);
      }
    }

    /**
     * Closes the connection. Vert.x's close waits to flush the writes it still queues (the rest of an upload the
     * backend answered early, or stopped reading): one whose output is shut, its write having failed (the backend
     * reset the connection), never sends them, nor does one whose backend takes nothing more (its handler hung after
     * the request's head: the try given up at the route's timeout), so a connection with writes still queued is
     * closed under Vert.x's handler, what it queued dropped (nobody reads the exchange's rest), and one closing
     * gracefully is closed so when its output is shut later ({@link BackendClients}); Vert.x's close would keep it
     * open (its descriptor, its pool slot, its client's connection) until the gateway stopped.
     */
    void close() {
      if (channel != null) {
        if (channel instanceof io.netty.channel.socket.DuplexChannel duplex && duplex.isOutputShutdown()
            || unsent(channel)) {
          closeUnderVertx(channel);
          return;
        }
        channel.attr(CLOSING).set(Boolean.TRUE);
      }
      connection.close();
    }
  }

  /** A request waiting for a connection to an instance, until its deadline. */
  private static final class Waiter {
    final Promise<Pooled> promise;
    final long deadlineNanos;
    long timer = -1;

    Waiter(Promise<Pooled> promise, long deadlineNanos) {
      this.promise = promise;
      this.deadlineNanos = deadlineNanos;
    }
  }

  /** One instance's connections. */
  final class Endpoint {
    final SocketAddress address;
    /** Taken out of the pool's map by its sweep (no connection left): not to be used from a cache again. */
    boolean dropped;
    /** How its connections are opened: to its address, over TLS with the origin's name (SNI, certificate) if HTTPS. */
    final HttpConnectOptions connect;
    final ArrayDeque<Pooled> idle = new ArrayDeque<>();
    final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
    /** Connections open or being opened. */
    int open;

    ConnectionPool pool() {
      return ConnectionPool.this;
    }

    Endpoint(SocketAddress address, HostAndPort tlsOrigin) {
      this.address = address;
      this.connect = new HttpConnectOptions().setServer(address);
      if (tlsOrigin != null) {
        connect.setSsl(true).setHost(tlsOrigin.host()).setPort(tlsOrigin.port());
      }
    }
  }

  /**
   * Set on a connection's channel when its backend sent bytes that belong to no answer (a body after a 204): it
   * carries no further request.
   */
  static final AttributeKey<Boolean> UNUSABLE = AttributeKey.valueOf(ConnectionPool.class, "unusable");

  /** Set on a connection's channel when the pool closes it: a write that fails later closes it at once. */
  static final AttributeKey<Boolean> CLOSING = AttributeKey.valueOf(ConnectionPool.class, "closing");

  /** Whether {@code channel} holds writes its peer has not taken yet (in the gateway, not its kernel's buffers). */
  private static boolean unsent(Channel channel) {
    io.netty.channel.ChannelOutboundBuffer queued = channel.unsafe().outboundBuffer();
    return queued != null && queued.totalPendingWriteBytes() > 0;
  }

  /** Closes {@code channel} below Vert.x's handler, whose own close would wait for writes that can no longer leave. */
  static void closeUnderVertx(Channel channel) {
    io.netty.channel.ChannelHandlerContext first = channel.pipeline().firstContext();
    if (first != null) {
      first.close();
    } else {
      channel.close();
    }
  }

  /** The pooled connection a channel carries, to tell a request on a reused connection from one on a new one. */
  private static final AttributeKey<Pooled> POOLED = AttributeKey.valueOf(ConnectionPool.class, "pooled");

  private final Vertx vertx;
  private final HttpClientAgent client;
  private final int maxConnections;
  private final int maxWaitQueue;
  private final long keepAliveNanos;
  /**
   * Run on each new connection before its first request (the tolerant decoder, the interim-answer filter); gives
   * the connection's channel, or null.
   */
  private final Function<HttpClientConnection, Channel> prepare;
  private final Map<SocketAddress, Endpoint> endpoints = new HashMap<>();
  /**
   * HTTPS instances' endpoints, apart from plain ones (an address is one or the other), by address and origin: two
   * names on one address (virtual hosts behind one IP, found through {@code dns_targets}) each have their own
   * connections, with their own SNI and certificate check.
   */
  private final Map<TlsEndpointKey, Endpoint> tlsEndpoints = new HashMap<>();

  private record TlsEndpointKey(SocketAddress address, HostAndPort origin) {
  }
  private long sweeper = -1;
  private int idleCount;
  /** Replaced by a reload, or its router stopped: keeps no idle connection. */
  private boolean closed;

  ConnectionPool(Vertx vertx, HttpClientAgent client, int maxConnections, int maxWaitQueue, int keepAliveSeconds,
      Function<HttpClientConnection, Channel> prepare) {
    this.vertx = vertx;
    this.client = client;
    this.maxConnections = Math.max(1, maxConnections);
    this.maxWaitQueue = maxWaitQueue;
    this.keepAliveNanos = keepAliveSeconds * 1_000_000_000L;
    this.prepare = prepare;
  }

  /**
   * A request on a connection to {@code address}: an idle one, a new one, or the first to come back while this
   * request waits. Fails with a {@link TimeoutException} when a new connection did not open within
   * {@code connectTimeoutMs}, with {@link PoolWaitTimeout} when the request waited that long for one of the
   * {@code max_connections} to come back, and with a {@link ConnectionPoolTooBusyException} when
   * {@code max_wait_queue} requests wait already: nothing was sent in any of these.
   * {@code options} may be null (the caller sets method, URI and headers on the request). {@code tlsOrigin}: null for a
   * plain-HTTP instance; for an HTTPS one, the name its certificate must carry and SNI sends (with its port).
   */
  public Future<HttpClientRequest> request(SocketAddress address, HostAndPort tlsOrigin, RequestOptions options,
      long connectTimeoutMs) {
    return request(endpoint(address, tlsOrigin), options, connectTimeoutMs);
  }

  /**
   * As {@link #request(SocketAddress, HostAndPort, RequestOptions, long)} to {@code upstream}'s address, its
   * endpoint kept on it: no lookup among the backend's instances per request.
   */
  Future<HttpClientRequest> request(Upstream upstream, HostAndPort tlsOrigin, long connectTimeoutMs) {
    return request(endpoint(upstream, tlsOrigin), null, connectTimeoutMs);
  }

  /**
   * As {@link #request(Upstream, HostAndPort, long)}, but never on an idle connection: on a new one, or on the first
   * to come back while it waits (a connection that has just carried an answer, so one its backend is not closing for
   * idleness).
   */
  Future<HttpClientRequest> fresh(Upstream upstream, HostAndPort tlsOrigin, long connectTimeoutMs) {
    return fresh(endpoint(upstream, tlsOrigin), null, System.nanoTime() + connectTimeoutMs * 1_000_000L,
        connectTimeoutMs);
  }

  private Future<HttpClientRequest> request(Endpoint endpoint, RequestOptions options, long connectTimeoutMs) {
    long now = System.nanoTime();
    Pooled pooled = takeIdle(endpoint, now);
    if (pooled != null) {
      Future<HttpClientRequest> made = pooled.connection.request(options);
      if (!made.failed()) {
        made.onComplete(pooled); // first, so that it watches the answer before the caller sees the request
        return made;
      }
      // Closed by the backend just now (its close not yet seen): nothing was sent; a fresh connection instead.
      pooled.connection.close();
    }
    return fresh(endpoint, options, now + connectTimeoutMs * 1_000_000L, connectTimeoutMs);
  }

  /** {@code upstream}'s plain endpoint in this pool, kept on it; HTTPS ones looked up by address and origin. */
  private Endpoint endpoint(Upstream upstream, HostAndPort tlsOrigin) {
    if (tlsOrigin != null) {
      return tlsEndpoint(upstream.address(), tlsOrigin);
    }
    Endpoint kept = upstream.endpoint;
    if (kept == null || kept.dropped || kept.pool() != this) {
      kept = endpoint(upstream.address(), null);
      upstream.endpoint = kept;
    }
    return kept;
  }

  private Endpoint endpoint(SocketAddress address, HostAndPort tlsOrigin) {
    if (tlsOrigin != null) {
      return tlsEndpoint(address, tlsOrigin);
    }
    Endpoint endpoint = endpoints.get(address);
    if (endpoint == null) {
      endpoint = new Endpoint(address, null);
      endpoints.put(address, endpoint);
    }
    return endpoint;
  }

  /** Apart, so that the plain instances' lookup stays as small as it was (it is inlined on the request path). */
  private Endpoint tlsEndpoint(SocketAddress address, HostAndPort tlsOrigin) {
    return tlsEndpoints.computeIfAbsent(new TlsEndpointKey(address, tlsOrigin), k -> new Endpoint(address, tlsOrigin));
  }

  /**
   * Whether the gateway's pool is handing on an answer read from {@code channel} (its head came, its end not yet
   * passed to the client's side): only then is a backend's close left to take effect once the answer is read.
   */
  static boolean delivering(Channel channel) {
    Pooled pooled = channel.attr(POOLED).get();
    return pooled != null && pooled.delivering;
  }

  /** Whether {@code channel} is a connection of a gateway's pool (which closes it once marked {@link #UNUSABLE}). */
  static boolean pooled(Channel channel) {
    return channel.hasAttr(POOLED);
  }

  /**
   * Whether {@code request} went out on a connection that had carried an earlier exchange: one its backend may
   * have been closing for idleness as the request was written (a server's keep-alive timeout racing the reuse).
   */
  public static boolean reused(HttpClientRequest request) {
    Channel channel = BackendClients.channelOf(request.connection());
    Pooled pooled = channel == null ? null : channel.attr(POOLED).get();
    return pooled != null && pooled.requests > 1;
  }

  /** A request on a new connection, or on the first to come back while it waits. */
  private Future<HttpClientRequest> fresh(Endpoint endpoint, RequestOptions options, long deadline,
      long connectTimeoutMs) {
    if (endpoint.open < maxConnections) {
      return connect(endpoint, deadline).compose(p -> use(p, options));
    }
    if (endpoint.waiters.size() >= maxWaitQueue) {
      return Future.failedFuture(new ConnectionPoolTooBusyException(
          "connection pool of " + endpoint.address + " reached its max wait queue size of " + maxWaitQueue));
    }
    Waiter waiter = new Waiter(Promise.promise(), deadline);
    endpoint.waiters.add(waiter);
    waiter.timer = vertx.setTimer(Math.max(1, connectTimeoutMs), id -> {
      if (endpoint.waiters.remove(waiter)) {
        waiter.promise.tryFail(new PoolWaitTimeout(String.valueOf(endpoint.address), connectTimeoutMs));
      }
    });
    return waiter.promise.future().compose(p -> use(p, options));
  }

  private static Future<HttpClientRequest> use(Pooled pooled, RequestOptions options) {
    Future<HttpClientRequest> made = pooled.connection.request(options);
    made.onComplete(pooled);
    return made;
  }

  /** The newest idle connection still open and not idle too long; the others found on the way are closed. */
  private Pooled takeIdle(Endpoint endpoint, long now) {
    Pooled pooled;
    while ((pooled = endpoint.idle.pollLast()) != null) {
      idleCount--;
      if (pooled.alive() && now < pooled.idleUntil) {
        return pooled;
      }
      pooled.connection.close();
    }
    return null;
  }

  /**
   * A new connection to the endpoint, failed with a {@link TimeoutException} at the deadline; one that opens
   * later serves the next waiter or idles (the client's own connect timeout, connect_timeout_ms, bounds the TCP
   * connect itself, and for HTTPS the handshake too). A connect given up at the deadline no longer holds its
   * slot: the next request may try a connection of its own rather than wait behind a handshake that may never end
   * (and be refused as busy, which no circuit counts); it takes a slot again if it opens after all.
   */
  private Future<Pooled> connect(Endpoint endpoint, long deadlineNanos) {
    endpoint.open++;
    long left = Math.max(1, (deadlineNanos - System.nanoTime()) / 1_000_000L);
    Promise<Pooled> made = Promise.promise();
    boolean[] abandoned = {false};
    long timer = vertx.setTimer(left, id -> {
      if (made.tryFail(new TimeoutException("no connection to " + endpoint.address + " within the connect timeout"))) {
        abandoned[0] = true;
        endpoint.open--;
        slotFreed(endpoint);
      }
    });
    client.connect(endpoint.connect).onComplete(ar -> {
      vertx.cancelTimer(timer);
      if (ar.failed()) {
        if (!abandoned[0]) {
          endpoint.open--;
          slotFreed(endpoint);
        }
        made.tryFail(ar.cause());
        return;
      }
      if (abandoned[0]) {
        endpoint.open++; // opened after all: it holds a slot again
      }
      HttpClientConnection connection = ar.result();
      Channel channel;
      try {
        channel = prepare.apply(connection); // before its first request is written
      } catch (RuntimeException e) {
        endpoint.open--;
        connection.close();
        slotFreed(endpoint);
        made.tryFail(e);
        return;
      }
      Pooled pooled = new Pooled(endpoint, connection, channel);
      if (channel != null) {
        channel.attr(POOLED).set(pooled);
      }
      connection.closeHandler(v -> closed(pooled));
      if (!made.tryComplete(pooled)) {
        release(pooled, keepAliveNanos); // its request gave up meanwhile: the next waiter's, or idle
      }
    });
    return made.future();
  }

  /**
   * How long the connection may idle once this answer ended: 0 when it cannot carry another exchange (the
   * backend closes it: `Connection: close`, or HTTP/1.0 without exactly `keep-alive`, as Vert.x decides; or the
   * body ran until the close, having neither a length nor chunks), else the keep-alive, shortened by a
   * `Keep-Alive: timeout=N` the backend sent.
   */
  private long keepAliveNanos(HttpClientResponse response) {
    MultiMap headers = response.headers();
    String connection = headers.get(HttpHeaders.CONNECTION);
    if (connection != null && hasToken(connection, "close")
        || response.version() == HttpVersion.HTTP_1_0 && !"keep-alive".equalsIgnoreCase(connection)
        || closeDelimited(response, headers)) {
      return 0;
    }
    String keepAlive = headers.get(HttpHeaders.KEEP_ALIVE);
    if (keepAlive != null) {
      long seconds = timeoutSeconds(keepAlive);
      if (seconds >= 0) {
        return Math.min(keepAliveNanos, seconds * 1_000_000_000L);
      }
    }
    return keepAliveNanos;
  }

  /** A body read until the connection closed (RFC 9112 §6.3, rule 8): no length, not chunked, and one is due. */
  private static boolean closeDelimited(HttpClientResponse response, MultiMap headers) {
    int status = response.statusCode();
    if (status < 200 || status == 204 || status == 304 || response.request().getMethod() == HttpMethod.HEAD
        || headers.contains(HttpHeaders.CONTENT_LENGTH)) {
      return false;
    }
    String encoding = headers.get(HttpHeaders.TRANSFER_ENCODING);
    return encoding == null || !hasToken(encoding, "chunked");
  }

  /** N of a {@code timeout=N} parameter, or -1. */
  static long timeoutSeconds(String keepAlive) {
    int at = 0;
    int length = keepAlive.length();
    while (at < length) {
      int end = keepAlive.indexOf(',', at);
      if (end < 0) {
        end = length;
      }
      int from = at;
      while (from < end && keepAlive.charAt(from) == ' ') {
        from++;
      }
      if (keepAlive.regionMatches(true, from, "timeout=", 0, 8)) {
        long seconds = 0;
        int digits = 0;
        for (int i = from + 8; i < end && keepAlive.charAt(i) != ' '; i++) {
          char c = keepAlive.charAt(i);
          if (c < '0' || c > '9' || ++digits > 9) {
            return -1;
          }
          seconds = seconds * 10 + (c - '0');
        }
        return digits == 0 ? -1 : seconds;
      }
      at = end + 1;
    }
    return -1;
  }

  private static boolean hasToken(String list, String token) {
    int at = 0;
    int length = list.length();
    while (at <= length) {
      int end = list.indexOf(',', at);
      if (end < 0) {
        end = length;
      }
      int from = at;
      int to = end;
      while (from < to && (list.charAt(from) == ' ' || list.charAt(from) == '\t')) {
        from++;
      }
      while (to > from && (list.charAt(to - 1) == ' ' || list.charAt(to - 1) == '\t')) {
        to--;
      }
      if (to - from == token.length() && list.regionMatches(true, from, token, 0, token.length())) {
        return true;
      }
      at = end + 1;
    }
    return false;
  }

  /** A connection free again: to the first waiter, else idle (closed at once when the pool is closed). */
  private void release(Pooled pooled, long keepAlive) {
    if (!pooled.alive()) {
      // Closing already (the backend's close raced the answer's end): its close handler frees the slot, and a
      // waiter gets a new connection rather than this one.
      pooled.connection.close();
      return;
    }
    Endpoint endpoint = pooled.endpoint;
    Waiter waiter = endpoint.waiters.poll();
    if (waiter != null) {
      vertx.cancelTimer(waiter.timer);
      waiter.promise.tryComplete(pooled);
      return;
    }
    if (closed) {
      pooled.connection.close();
      return;
    }
    pooled.idleUntil = System.nanoTime() + keepAlive;
    endpoint.idle.addLast(pooled);
    idleCount++;
    if (sweeper < 0) {
      long period = Math.max(100, keepAliveNanos / 4_000_000L);
      sweeper = vertx.setPeriodic(period, id -> sweep());
    }
  }

  private void closed(Pooled pooled) {
    if (pooled.closed) {
      return;
    }
    pooled.closed = true;
    Endpoint endpoint = pooled.endpoint;
    endpoint.open--;
    if (endpoint.idle.remove(pooled)) {
      idleCount--;
    }
    slotFreed(endpoint);
  }

  /** A connection closed or failed to open: the first waiter, if any, opens one in its place. */
  private void slotFreed(Endpoint endpoint) {
    if (endpoint.open >= maxConnections) {
      return;
    }
    Waiter waiter = endpoint.waiters.poll();
    if (waiter == null) {
      return;
    }
    vertx.cancelTimer(waiter.timer);
    connect(endpoint, waiter.deadlineNanos).onComplete(waiter.promise);
  }

  /** Closes the connections idle for longer than the keep-alive; stops when none is idle. */
  private void sweep() {
    sweep(endpoints, System.nanoTime());
    sweep(tlsEndpoints, System.nanoTime());
    if (idleCount <= 0 && sweeper >= 0) {
      vertx.cancelTimer(sweeper);
      sweeper = -1;
    }
  }

  private void sweep(Map<?, Endpoint> endpoints, long now) {
    for (Iterator<Endpoint> it = endpoints.values().iterator(); it.hasNext(); ) {
      Endpoint endpoint = it.next();
      for (Iterator<Pooled> idle = endpoint.idle.iterator(); idle.hasNext(); ) {
        Pooled pooled = idle.next();
        if (now >= pooled.idleUntil || !pooled.alive()) {
          idle.remove();
          idleCount--;
          pooled.connection.close();
        }
      }
      if (endpoint.open == 0 && endpoint.waiters.isEmpty()) {
        it.remove(); // an instance gone from rotation leaves nothing behind
        endpoint.dropped = true;
      }
    }
  }

  /**
   * Closes the idle connections and keeps none from now on; requests in flight finish on theirs, and requests
   * waiting get the connections those give back. With {@code failWaiting} (the router stops), waiting requests
   * fail at once.
   */
  void close(boolean failWaiting) {
    closed = true;
    if (sweeper >= 0) {
      vertx.cancelTimer(sweeper);
      sweeper = -1;
    }
    for (Map<?, Endpoint> map : java.util.List.of(endpoints, tlsEndpoints)) {
      for (Endpoint endpoint : map.values()) {
        Pooled pooled;
        while ((pooled = endpoint.idle.pollFirst()) != null) {
          pooled.connection.close();
        }
        Waiter waiter;
        while (failWaiting && (waiter = endpoint.waiters.poll()) != null) {
          vertx.cancelTimer(waiter.timer);
          waiter.promise.tryFail(new IllegalStateException("the backend's connection pool is closed"));
        }
      }
    }
    idleCount = 0;
  }
}
