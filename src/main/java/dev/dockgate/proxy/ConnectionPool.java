package dev.dockgate.proxy;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.ConnectionPoolTooBusyException;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientConnection;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpConnectOptions;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.SocketAddress;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * One backend's HTTP/1 connections to its plain-HTTP instances, for one router: at most {@code max_connections}
 * per instance, at most {@code max_wait_queue} requests waiting for one (more: refused as too busy), the wait and
 * the connect together within the request's connect timeout, idle connections reused newest first and closed
 * after {@code keep_alive_timeout_s} (or the backend's {@code Keep-Alive: timeout}, if shorter). Vert.x's own pool
 * does the same but builds a new context for every request it gives a connection to. A connection goes back when
 * its answer has ended after all of its request was sent; one that failed, that was answered before its request
 * was all sent, or that the backend closes ({@code Connection: close}, HTTP/1.0 without keep-alive), never does.
 * TLS instances keep Vert.x's pool (SNI, certificate checks). Confined to the router's event loop.
 */
public final class ConnectionPool {

  /** A pooled connection and where it stands. */
  private static final class Pooled {
    final Endpoint endpoint;
    final HttpClientConnection connection;
    /** While idle: when it must be closed. */
    long idleUntil;
    boolean closed;

    Pooled(Endpoint endpoint, HttpClientConnection connection) {
      this.endpoint = endpoint;
      this.connection = connection;
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
  private final class Endpoint {
    final SocketAddress address;
    final ArrayDeque<Pooled> idle = new ArrayDeque<>();
    final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
    /** Connections open or being opened. */
    int open;

    Endpoint(SocketAddress address) {
      this.address = address;
    }
  }

  private final Vertx vertx;
  private final HttpClientAgent client;
  private final int maxConnections;
  private final int maxWaitQueue;
  private final long keepAliveNanos;
  /** Run on each new connection before its first request (the tolerant decoder, the interim-answer filter). */
  private final Consumer<HttpClientConnection> prepare;
  private final Map<SocketAddress, Endpoint> endpoints = new HashMap<>();
  private long sweeper = -1;
  private int idleCount;
  private boolean closed;

  ConnectionPool(Vertx vertx, HttpClientAgent client, int maxConnections, int maxWaitQueue, int keepAliveSeconds,
      Consumer<HttpClientConnection> prepare) {
    this.vertx = vertx;
    this.client = client;
    this.maxConnections = Math.max(1, maxConnections);
    this.maxWaitQueue = maxWaitQueue;
    this.keepAliveNanos = keepAliveSeconds * 1_000_000_000L;
    this.prepare = prepare;
  }

  /**
   * A request on a connection to {@code address}: an idle one, a new one, or the first to come back while this
   * request waits. Fails with a {@link TimeoutException} when none came within {@code connectTimeoutMs} (nothing
   * was sent), and with a {@link ConnectionPoolTooBusyException} when {@code max_wait_queue} requests wait already.
   */
  public Future<HttpClientRequest> request(SocketAddress address, RequestOptions options, long connectTimeoutMs) {
    if (closed) {
      return Future.failedFuture(new IllegalStateException("the backend's connection pool is closed"));
    }
    Endpoint endpoint = endpoints.get(address);
    if (endpoint == null) {
      endpoint = new Endpoint(address);
      endpoints.put(address, endpoint);
    }
    long now = System.nanoTime();
    Pooled pooled = takeIdle(endpoint, now);
    if (pooled != null) {
      return use(pooled, options);
    }
    long deadline = now + connectTimeoutMs * 1_000_000L;
    if (endpoint.open < maxConnections) {
      return connect(endpoint, deadline).compose(p -> use(p, options));
    }
    if (endpoint.waiters.size() >= maxWaitQueue) {
      return Future.failedFuture(new ConnectionPoolTooBusyException(
          "connection pool of " + address + " reached its max wait queue size of " + maxWaitQueue));
    }
    Waiter waiter = new Waiter(Promise.promise(), deadline);
    endpoint.waiters.add(waiter);
    Endpoint waitedOn = endpoint;
    waiter.timer = vertx.setTimer(Math.max(1, connectTimeoutMs), id -> {
      if (waitedOn.waiters.remove(waiter)) {
        waiter.promise.tryFail(new TimeoutException("no connection to " + address + " within " + connectTimeoutMs + " ms"));
      }
    });
    return waiter.promise.future().compose(p -> use(p, options));
  }

  /** The newest idle connection still open and not idle too long; the others found on the way are closed. */
  private Pooled takeIdle(Endpoint endpoint, long now) {
    Pooled pooled;
    while ((pooled = endpoint.idle.pollLast()) != null) {
      idleCount--;
      if (!pooled.closed && now < pooled.idleUntil) {
        return pooled;
      }
      pooled.connection.close();
    }
    return null;
  }

  /**
   * A new connection to the endpoint, failed with a {@link TimeoutException} at the deadline (the client's
   * {@code connect} does not take a timeout of its own); one that comes later is closed.
   */
  private Future<Pooled> connect(Endpoint endpoint, long deadlineNanos) {
    endpoint.open++;
    long left = Math.max(1, (deadlineNanos - System.nanoTime()) / 1_000_000L);
    Promise<Pooled> made = Promise.promise();
    long timer = vertx.setTimer(left, id -> made.tryFail(
        new TimeoutException("no connection to " + endpoint.address + " within the connect timeout")));
    client.connect(new HttpConnectOptions().setServer(endpoint.address).setConnectTimeout(left)).onComplete(ar -> {
      vertx.cancelTimer(timer);
      if (ar.failed()) {
        endpoint.open--;
        slotFreed(endpoint);
        made.tryFail(ar.cause());
        return;
      }
      HttpClientConnection connection = ar.result();
      Pooled pooled = new Pooled(endpoint, connection);
      connection.closeHandler(v -> closed(pooled));
      if (closed || made.future().isComplete()) {
        connection.close(); // too late, or the pool closed meanwhile: its close handler frees the slot
        return;
      }
      prepare.accept(connection); // before its first request is written
      made.complete(pooled);
    });
    return made.future();
  }

  /** The request on {@code pooled}; the connection comes back once its answer has ended. */
  private Future<HttpClientRequest> use(Pooled pooled, RequestOptions options) {
    return pooled.connection.request(options).transform(ar -> {
      if (ar.failed()) {
        pooled.connection.close();
        return Future.failedFuture(ar.cause());
      }
      HttpClientRequest request = ar.result();
      request.response().onComplete(head -> {
        if (head.failed()) {
          pooled.connection.close(); // an answer that failed leaves the connection in no known state
          return;
        }
        HttpClientResponse response = head.result();
        long keepAlive = keepAliveNanos(response);
        response.end().onComplete(ended -> {
          if (ended.failed() || pooled.connection.activeStreams() > 0) {
            // Failed; or answered before its request was all sent (an early 401 or 413 during an upload): the
            // connection is not handed to another request behind that upload.
            pooled.connection.close();
          } else if (keepAlive > 0) {
            release(pooled, keepAlive);
          } else {
            pooled.connection.close(); // Vert.x closes it too after `Connection: close`; its close handler frees the slot
          }
        });
      });
      return Future.succeededFuture(request);
    });
  }

  /**
   * How long the connection may idle once this answer ended: 0 when the backend closes it (`Connection: close`,
   * or HTTP/1.0 without `keep-alive`, as Vert.x decides), else the keep-alive, shortened by a `Keep-Alive:
   * timeout=N` the backend sent.
   */
  private long keepAliveNanos(HttpClientResponse response) {
    String connection = response.getHeader(HttpHeaders.CONNECTION);
    boolean close = response.version() == HttpVersion.HTTP_1_0
        ? connection == null || !hasToken(connection, "keep-alive")
        : connection != null && hasToken(connection, "close");
    if (close) {
      return 0;
    }
    String keepAlive = response.getHeader(HttpHeaders.KEEP_ALIVE);
    if (keepAlive != null) {
      for (String parameter : keepAlive.split(",")) {
        String p = parameter.trim();
        if (p.regionMatches(true, 0, "timeout=", 0, 8)) {
          try {
            return Math.min(keepAliveNanos, Long.parseLong(p.substring(8).trim()) * 1_000_000_000L);
          } catch (NumberFormatException ignored) {
            // not a number: the pool's own keep-alive
          }
        }
      }
    }
    return keepAliveNanos;
  }

  private static boolean hasToken(String list, String token) {
    for (String t : list.split(",")) {
      if (t.trim().equalsIgnoreCase(token)) {
        return true;
      }
    }
    return false;
  }

  private void release(Pooled pooled, long keepAlive) {
    if (pooled.closed) {
      return;
    }
    if (closed) {
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
    if (closed || endpoint.open >= maxConnections) {
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
    long now = System.nanoTime();
    for (Iterator<Endpoint> it = endpoints.values().iterator(); it.hasNext(); ) {
      Endpoint endpoint = it.next();
      for (Iterator<Pooled> idle = endpoint.idle.iterator(); idle.hasNext(); ) {
        Pooled pooled = idle.next();
        if (now >= pooled.idleUntil) {
          idle.remove();
          idleCount--;
          pooled.connection.close();
        }
      }
      if (endpoint.open == 0 && endpoint.waiters.isEmpty()) {
        it.remove(); // an instance gone from rotation leaves nothing behind
      }
    }
    if (idleCount <= 0 && sweeper >= 0) {
      vertx.cancelTimer(sweeper);
      sweeper = -1;
    }
  }

  /** Closes the idle connections and refuses new requests; requests in flight finish on theirs. */
  void close() {
    closed = true;
    if (sweeper >= 0) {
      vertx.cancelTimer(sweeper);
      sweeper = -1;
    }
    for (Endpoint endpoint : endpoints.values()) {
      Pooled pooled;
      while ((pooled = endpoint.idle.pollFirst()) != null) {
        pooled.connection.close();
      }
      Waiter waiter;
      while ((waiter = endpoint.waiters.poll()) != null) {
        vertx.cancelTimer(waiter.timer);
        waiter.promise.tryFail(new IllegalStateException("the backend's connection pool is closed"));
      }
    }
    idleCount = 0;
  }
}
