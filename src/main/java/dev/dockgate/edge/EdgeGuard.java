package dev.dockgate.edge;

import dev.dockgate.config.ServerConfig;
import dev.dockgate.pipeline.Exchange;
import dev.dockgate.events.TrafficEvent;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.PrematureChannelClosureException;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxException;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.impl.Http1xServerConnection;
import io.vertx.core.http.impl.VertxHttpRequestDecoder;
import io.vertx.core.net.impl.ConnectionBase;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;
import java.util.logging.Logger;

/**
 * The listener's edge for one router instance: caps open connections (one count for all
 * instances), puts the {@link StrictRequestDecoder} on each new connection (on an h2c listener the listening socket's
 * guard has put it there: {@link AcceptGuard.Http1Branch}), and bounds how long a
 * request body may take to arrive (408) or be malformed (400) before the connection is closed.
 * Called on the router's event loop.
 */
public final class EdgeGuard {

  private static final Logger LOG = Logger.getLogger(EdgeGuard.class.getName());
  private static final Buffer TOO_SLOW = Buffer.buffer("request body not received in time\n");
  private static final Buffer MALFORMED = Buffer.buffer("malformed request body\n");
  private static final VertxException REFUSED = new VertxException("request body refused by the gateway", true);

  /** A request whose body is still arriving, with its deadline timer (-1: none). */
  private record Body(HttpServerRequest request, String requestId, long timer, Exchange exchange) {
  }

  private final Vertx vertx;
  private final HttpServerOptions options;
  private final OpenConnections open;
  private final int maxConnections;
  private final long bodyTimeoutMs;
  private final int maxHeaderCount;
  /** At most one per connection: Vert.x hands over a connection's next request after this one's body. */
  private final Map<HttpConnection, Body> bodies = new IdentityHashMap<>();
  /** The strict decoder of each open connection that has one, for the slow-head sweep. */
  private final Map<HttpConnection, StrictRequestDecoder> decoders = new IdentityHashMap<>();
  private final long headerTimeoutMs;
  private long sweep = -1;
  /** With h2c on, an HTTP/1.x connection has the strict decoder before a router has it (see the constructor). */
  private final boolean h2c;
  /** The listening socket all router instances share, known from the first connection this instance accepts. */
  private Channel listener;
  /** How long a stopping listener keeps accepting, its queue cut to one, before it closes. */
  static final long LAST_ACCEPTS_MS = 50;
  /** Told of each 431 Netty's HTTP/2 codec answers on its own (null: nobody). */
  private Handler<HttpConnection> headerListTooLarge;
  /** Open connections whose first request has not arrived yet. */
  private final Set<HttpConnection> fresh = Collections.newSetFromMap(new IdentityHashMap<>());
  /** While stopping: completed once no connection waits for its first request. */
  private Promise<Void> freshServed;

  public EdgeGuard(Vertx vertx, HttpServerOptions options, ServerConfig.Limits limits, OpenConnections open) {
    // With h2c on, Vert.x hands an HTTP/1 connection over only after its first request head is decoded:
    // too late to swap the decoder (it may be inside a body). The listener's guard put the strict decoder
    // in place before the first byte was decoded (AcceptGuard.Http1Branch); admit finds it there.
    this.h2c = options.isHttp2ClearTextEnabled() && !options.isSsl();
    Http2ConnectionErrors.install();
    this.vertx = vertx;
    this.options = options;
    this.open = open;
    this.maxConnections = open.within(limits.maxConnections());
    this.bodyTimeoutMs = limits.bodyTimeoutMs();
    this.headerTimeoutMs = limits.headerTimeoutMs();
    this.maxHeaderCount = limits.maxHeaderCount();
  }

  /**
   * {@code handler} is told of each HTTP/2 header list over the limit, which Netty's codec answers 431 before any
   * request exists (the HTTP/1 one is a request the codec refused): the router counts it.
   */
  public void onHeaderListTooLarge(Handler<HttpConnection> handler) {
    this.headerListTooLarge = handler;
  }

  /**
   * A connection Vert.x hands over (an HTTP/1.x one before any byte of its request is read, on an h2c listener once
   * its first head is, an HTTP/2 one once its first SETTINGS are): given the strict decoder (on an h2c listener found
   * in place, {@link AcceptGuard.Http1Branch}) and the HTTP/2 checks. It was counted in {@code max_connections}
   * when accepted ({@link AcceptGuard}); one accepted before that guard was in place is counted now, and closed at
   * once when {@code max_connections} are open. False when refused.
   */
  public boolean admit(HttpConnection connection) {
    Channel channel = ((ConnectionBase) connection).channel();
    AcceptGuard.Opening opening = channel.attr(AcceptGuard.OPENING).get();
    if (opening != null) {
      opening.admitted(); // counted when accepted
    } else if (!open.admit(maxConnections)) { // accepted before the listener's guard was in place
      channel.close();
      return false;
    }
    if (listener == null) {
      listener = channel.parent();
    }
    open.between(channel);
    fresh.add(connection);
    ChannelPipeline pipeline = channel.pipeline();
    if (connection instanceof io.vertx.core.http.impl.Http2ServerConnection) {
      io.netty.handler.codec.http2.Http2ConnectionHandler h2 =
          pipeline.get(io.netty.handler.codec.http2.Http2ConnectionHandler.class);
      Http2Floods floods = h2 != null && Http2MethodCheck.install(h2) ? Http2Floods.install(h2) : null;
      if (floods == null) {
        LOG.fine(() -> "HTTP/2 connection " + connection.remoteAddress() + " without the :method check or flood count");
      }
      if (h2 != null) {
        Http2BusyConnections.install(pipeline, h2);
        Http2ConnectionEvents.install(connection, h2.connection(), floods, headerListTooLarge);
      }
      StrictRequestDecoder upgradeBody = h2c ? pipeline.get(StrictRequestDecoder.class) : null;
      if (upgradeBody != null) {
        // Switched by an Upgrade: h2c request whose body the HTTP/1 decoder still reads: a malformed chunk there leaves
        // the request's stream waiting for a body end that never comes (and every later byte dropped): closed instead.
        upgradeBody.reportMalformedBodyTo(() -> channel.eventLoop().execute(channel::close));
      }
    }
    if (connection instanceof Http1xServerConnection) {
      StrictRequestDecoder decoder = h2c ? pipeline.get(StrictRequestDecoder.class) : strictDecoder(pipeline);
      if (decoder != null) {
        Context context = vertx.getOrCreateContext();
        decoder.reportMalformedBodyTo(() -> context.runOnContext(v -> malformed(connection)));
        timeHeads(connection, decoder);
      } else if (h2c) {
        // Accepted before the listener's guard was in place (or its hook failed, which it reported).
        LOG.fine(() -> "HTTP/1.x connection " + connection.remoteAddress() + " without the strict request decoder");
      }
    }
    // The channel's own close future: Vert.x keeps a single close handler per connection, which the router uses.
    // Added last: on an h2c listener a head cut short by the client's close is handed over as an invalid request on a
    // connection already closed, whose close future calls this at once; it must find the connection's entries made.
    channel.closeFuture().addListener(f -> closed(connection, opening == null));
    return true;
  }

  /**
   * Puts the strict decoder in place of Vert.x's on a connection Vert.x hands over before any byte is read; null (said
   * once, loudly) when there is no Vert.x decoder to replace.
   */
  private StrictRequestDecoder strictDecoder(ChannelPipeline pipeline) {
    // Found by type: its name is Vert.x's to choose, and is kept, as Vert.x removes the decoder by name on upgrades.
    ChannelHandlerContext vertxDecoder = pipeline.context(VertxHttpRequestDecoder.class);
    if (vertxDecoder == null) {
      unguarded(pipeline);
      return null;
    }
    StrictRequestDecoder decoder = new StrictRequestDecoder(options, maxHeaderCount);
    pipeline.replace(vertxDecoder.name(), vertxDecoder.name(), decoder);
    return decoder;
  }

  /**
   * The connection's heads are timed by the sweep from now on, and the requests Vert.x hands over counted for the
   * decoder ({@link #watch}).
   */
  private void timeHeads(HttpConnection connection, StrictRequestDecoder decoder) {
    decoders.put(connection, decoder);
    if (sweep < 0 && headerTimeoutMs > 0) {
      sweep = vertx.setPeriodic(Math.max(50, Math.min(1000, headerTimeoutMs / 4)), id -> sweepSlowHeads());
    }
  }

  /** How many connections' heads are timed now (a snapshot, for tests: the map is the event loop's). */
  int connectionsWatched() {
    return decoders.size();
  }

  /**
   * An HTTP/1.x connection without Vert.x's request decoder, which the strict one replaces: a Vert.x
   * other than the one the gateway was built for. The connection is served with whatever decoder it
   * has, but without the strict checks and the slow-head sweep: said once, loudly, and readiness
   * reports it ({@link #unguarded()}, shared by all router instances) so that the gateway is taken
   * out of rotation.
   */
  private void unguarded(ChannelPipeline pipeline) {
    if (open.unguarded() == null) {
      unguarded("no Vert.x HTTP/1.x request decoder in the connection's pipeline " + pipeline.names()
          + ": the strict request decoder and the slow-head sweep are off");
    }
  }

  private void unguarded(String problem) {
    unguarded(open, problem);
  }

  /** Said once for the listener's connections, loudly, and readiness reports it ({@link #unguarded()}). */
  static void unguarded(OpenConnections open, String problem) {
    if (open.unguarded(problem)) {
      LOG.severe(problem + "; readiness reports DOWN (is Vert.x the version the gateway was built with?)");
    }
  }

  /**
   * Guards the listening socket itself ({@link AcceptGuard}), once the server listens: connections are counted in
   * {@code max_connections} when accepted, and closed when no router has them {@code header_timeout_ms} later
   * (HTTP/2 ones before their first SETTINGS, and with h2c on any before its first bytes). Should the socket be out
   * of reach (a Vert.x built otherwise), said once, loudly, and readiness reports it, as for the strict decoder.
   */
  public void guardListener(io.vertx.core.http.HttpServer server) {
    // A plain HTTP/1.x listener: Vert.x hands every connection over as it registers, before any byte is read, so
    // admit times it; the guard counts it at its accept all the same (a connection flood beyond max_connections is
    // closed before it costs a registration) and pauses accepting when no file descriptor is left.
    boolean plain = !options.isSsl() && !options.isHttp2ClearTextEnabled();
    Channel socket;
    try {
      socket = AcceptGuard.listeningSocket(server);
    } catch (ReflectiveOperationException | RuntimeException e) {
      if (plain) {
        LOG.fine(() -> "the listening socket is out of reach (" + e + "): connections are counted as they register");
        return;
      }
      unguarded("the listening socket is out of reach (" + e + "): connections are counted in " + open.setting() + " and "
          + "timed by header_timeout_ms only once Vert.x hands them over (TLS: after the handshake; HTTP/2: after"
          + " the client's first SETTINGS)");
      return;
    }
    if (listener == null) {
      listener = socket; // known to every router before its first connection: a stop closes it first
    }
    AcceptGuard.install(socket, open, maxConnections, headerTimeoutMs, plain, options.isSsl(), options, maxHeaderCount);
  }

  /**
   * How long the connection's first request head may still take, in milliseconds: what is left of
   * {@code header_timeout_ms} since it was accepted (at least 1), or all of it for a connection accepted before the
   * listener's guard; 0 without a header timeout.
   */
  public long firstHeadTimeLeftMs(HttpConnection connection) {
    if (headerTimeoutMs <= 0) {
      return 0;
    }
    AcceptGuard.Opening opening = ((ConnectionBase) connection).channel().attr(AcceptGuard.OPENING).get();
    return opening == null ? headerTimeoutMs : Math.max(1, headerTimeoutMs - opening.ageMs());
  }

  /** Null while every HTTP/1.x connection gets the strict decoder; else why not. */
  public String unguarded() {
    return open.unguarded();
  }

  /**
   * Every request head must be complete {@code header_timeout_ms} after its first byte, on every
   * connection (not only its first request): one periodic sweep per router instead of a timer per
   * request; a late head gets 408 within a quarter of the timeout (at most a second) after it.
   */
  private void sweepSlowHeads() {
    long now = System.nanoTime();
    long timeoutNanos = headerTimeoutMs * 1_000_000;
    for (StrictRequestDecoder decoder : decoders.values()) {
      long started = decoder.headStartedNanos();
      if (started != 0 && now - started >= timeoutNanos) {
        decoder.refuseSlowHead();
      }
    }
  }

  /**
   * A connection's first head is not complete {@code header_timeout_ms} after it opened: 408 when
   * the head has begun, else (nothing sent at all) the connection is just closed.
   */
  public void headTimedOut(HttpConnection connection) {
    StrictRequestDecoder decoder = decoders.get(connection);
    if (decoder != null && decoder.headStartedNanos() != 0) {
      decoder.refuseSlowHead();
    } else {
      connection.close();
    }
  }

  /**
   * The first step of a graceful stop: new connections are refused, and those accepted before get
   * their first request read, so that the drain that follows serves them instead of closing them
   * as idle. Closes the listening socket, then waits until no connection of this router is without
   * its first request, for {@code graceMs} at most; completes on this router's context.
   *
   * <p>Vert.x's own shutdown first takes each router instance off the socket and closes it after the
   * last one: a connection accepted in between found no event loop to run on and was dropped with a
   * Netty warning ("Failed to register an accepted channel"). Closing it first leaves no such gap.
   * Before any connection the socket is not known here, and Vert.x's shutdown closes it as before.
   */
  public Future<Void> stopAccepting(long graceMs) {
    Context context = vertx.getOrCreateContext();
    Promise<Void> closed = Promise.promise();
    if (listener == null) {
      closed.complete();
    } else if (shrinkQueue(listener)) {
      // The kernel resets connections still in the accept queue when the socket closes: first the queue
      // holds one at most (a SYN finding it full is dropped, and its retry is refused once closed), the
      // acceptor takes what is queued, then the socket closes.
      Channel socket = listener;
      vertx.setTimer(LAST_ACCEPTS_MS, id -> socket.close().addListener(f -> context.runOnContext(v -> closed.complete())));
    } else {
      listener.close().addListener(f -> context.runOnContext(v -> closed.complete()));
    }
    return closed.future().compose(v -> {
      if (fresh.isEmpty() || graceMs <= 0) {
        return Future.succeededFuture();
      }
      freshServed = Promise.promise();
      long timer = vertx.setTimer(graceMs, id -> freshServed.tryComplete());
      return freshServed.future().onComplete(ar -> vertx.cancelTimer(timer));
    });
  }

  /**
   * Cuts the listening socket's accept queue to one connection (listen(2) again with a backlog of 0), on the
   * native transports; false where the socket cannot be reached (NIO) or is closed already.
   */
  private static boolean shrinkQueue(Channel socket) {
    if (socket.isOpen() && socket instanceof io.netty.channel.unix.UnixChannel unix
        && unix.fd() instanceof io.netty.channel.unix.Socket fd) {
      try {
        fd.listen(0);
        return true;
      } catch (java.io.IOException | RuntimeException e) {
        return false;
      }
    }
    return false;
  }

  /** A connection's first request came, or it closed. */
  private void notFresh(HttpConnection connection) {
    if (fresh.remove(connection) && freshServed != null && fresh.isEmpty()) {
      freshServed.tryComplete();
    }
  }

  /** Stops the sweep; the router is stopping. */
  public void close() {
    if (sweep >= 0) {
      vertx.cancelTimer(sweep);
      sweep = -1;
    }
  }

  /**
   * Watches a request as the gateway is handed it, before any answer: its HTTP/1.x connection's strict decoder counts
   * it ({@link StrictRequestDecoder#handedOn}); for one that announces a body, its deadline starts now, and a response
   * the gateway marks {@code Connection: close} (413) is followed by closing, as the rest of the body is not read.
   */
  public void watch(Exchange exchange) {
    HttpServerRequest request = exchange.request();
    if (request.version() != io.vertx.core.http.HttpVersion.HTTP_2) {
      StrictRequestDecoder decoder = decoders.get(request.connection());
      if (decoder != null) {
        decoder.handedOn(); // tells a held WebSocket upgrade's answer from those of requests pipelined before it
      }
    }
    if (!fresh.isEmpty()) {
      notFresh(request.connection());
    }
    if (request.isEnded()) {
      return;
    }
    if (request.version() == io.vertx.core.http.HttpVersion.HTTP_2) {
      watchStream(exchange); // HTTP/2 bodies need not announce themselves, and streams share the connection
      return;
    }
    String length = request.getHeader(HttpHeaders.CONTENT_LENGTH);
    boolean bodiless = (length == null || length.equals("0")) && request.getHeader(HttpHeaders.TRANSFER_ENCODING) == null;
    if (bodiless) {
      return;
    }
    HttpConnection connection = request.connection();
    long timer = bodyTimeoutMs > 0 ? vertx.setTimer(bodyTimeoutMs, id -> tooSlow(connection)) : -1;
    bodies.put(connection, new Body(request, exchange.requestId(), timer, exchange));
    exchange.closeWhenAnswered(EdgeGuard::closeAfterAnswer);
    request.end().onComplete(ar -> {
      Body body = bodies.get(connection);
      if (body != null && body.request() == request) {
        bodies.remove(connection);
        vertx.cancelTimer(body.timer());
      }
    });
  }

  /**
   * An HTTP/2 request's body deadline: on expiry the stream alone gets 408 (or is reset when its
   * answer has begun); the connection and its other streams carry on. None for gRPC calls, whose
   * request stream may rightly last as long as the call (client and bidirectional streams).
   */
  private void watchStream(Exchange exchange) {
    HttpServerRequest request = exchange.request();
    if (bodyTimeoutMs <= 0 || Protocols.grpc(request)) {
      return; // a gRPC call's request stream lasts as long as the call (its client's deadline bounds it)
    }
    long[] timer = new long[1];
    timer[0] = vertx.setTimer(bodyTimeoutMs, new Handler<Long>() {
      @Override
      public void handle(Long id) {
        if (request.isEnded()) {
          return;
        }
        long heldMs = exchange.takeBodyHeldMs();
        if (heldMs > 0) {
          timer[0] = vertx.setTimer(heldMs, this); // time the backend held the body up is given back
          return;
        }
        streamTooSlow(exchange);
      }
    });
    request.end().onComplete(ar -> vertx.cancelTimer(timer[0]));
  }

  /**
   * A stream error Netty's HTTP/2 codec found in what the client sent on a request's stream (a WINDOW_UPDATE past
   * 2^31-1, DATA beyond its content-length): the stream is reset at once with the error's code (RFC 9113 §5.4.2), before
   * the codec's own reset, so that the gateway's reset of its answer, which follows as the request is given up, does
   * not go first saying NO_ERROR. False for any other failure.
   */
  public static boolean streamError(HttpServerResponse response, Throwable err) {
    if (!(err instanceof io.netty.handler.codec.http2.Http2Exception.StreamException refused)) {
      return false;
    }
    if (!response.closed()) {
      response.reset(refused.error().code());
    }
    return true;
  }

  /** An HTTP/2 stream's body came too late: 408 on it alone, or its reset when its answer has begun. */
  private static void streamTooSlow(Exchange exchange) {
    HttpServerResponse response = exchange.request().response();
    if (response.headWritten() || response.ended() || response.closed()) {
      response.reset();
      return;
    }
    response.setStatusCode(408)
        .putHeader(TrafficEvent.REQUEST_ID_HEADER, exchange.requestId())
        .putHeader(HttpHeaders.DATE, HttpDate.now())
        .putHeader("content-type", "text/plain; charset=utf-8")
        .end(TOO_SLOW)
        .onComplete(ar -> response.reset()); // the rest of the body is not wanted: cancel the stream
  }

  /** On the connection's event loop, which is this router's; {@code counted} here rather than when accepted. */
  private void closed(HttpConnection connection, boolean counted) {
    if (counted) {
      open.closed();
    }
    open.busy(((ConnectionBase) connection).channel());
    notFresh(connection);
    decoders.remove(connection);
    Body body = bodies.remove(connection);
    if (body != null) {
      vertx.cancelTimer(body.timer());
    }
  }

  private void tooSlow(HttpConnection connection) {
    Body body = bodies.remove(connection);
    if (body == null) {
      return;
    }
    long heldMs = body.exchange().takeBodyHeldMs();
    if (heldMs > 0) {
      // The gateway did not read the client that long, the backend holding the body up: time given back (a backend
      // that takes nothing for timeout_ms fails the try itself: Upload).
      bodies.put(connection, new Body(body.request(), body.requestId(),
          vertx.setTimer(heldMs, id -> tooSlow(connection)), body.exchange()));
    } else {
      refuse(body, 408, TOO_SLOW);
    }
  }

  private void malformed(HttpConnection connection) {
    Body body = bodies.remove(connection);
    if (body == null) {
      abort(connection); // a later pipelined request's body: nothing to answer it with yet
      return;
    }
    vertx.cancelTimer(body.timer());
    refuse(body, 400, MALFORMED);
  }

  /**
   * Answers {@code status} unless an answer has begun (the backend answered before the body was
   * done), then fails the connection, which closes it and resets the proxy's request to the
   * backend. The exchange counts the request when this answer ends; the proxy, finding its response ended,
   * does not.
   */
  private void refuse(Body refused, int status, Buffer body) {
    HttpServerRequest request = refused.request();
    HttpServerResponse response = request.response();
    if (response.headWritten() || response.ended() || response.closed()) {
      abort(request.connection());
      return;
    }
    closing(response).setStatusCode(status)
        .putHeader(TrafficEvent.REQUEST_ID_HEADER, refused.requestId())
        .putHeader(HttpHeaders.DATE, HttpDate.now())
        .putHeader("content-type", "text/plain; charset=utf-8")
        .end(body)
        .onComplete(ar -> abort(request.connection()));
  }

  /**
   * Closes a connection whose request body is unfinished. A plain close does not reach such a
   * request once its response is complete (Vert.x tells only a request still awaiting its answer),
   * so the proxy would keep streaming a half body to the backend; failing the connection tells
   * the request in progress too, and then closes.
   */
  private static void abort(HttpConnection connection) {
    ((ConnectionBase) connection).fail(REFUSED);
  }

  /**
   * Whether the codec's invalid request is a head cut short: the connection's input ended before
   * the head did (the client left, or closed after a slow head's 408). Netty still hands over what
   * it read of the head, as a request failing with {@link PrematureChannelClosureException}; it was
   * never a request, so it is neither answered nor counted.
   */
  public static boolean headCutShort(HttpServerRequest request) {
    return request.decoderResult().cause() instanceof PrematureChannelClosureException;
  }

  /** The target of the stand-in Netty makes for a head whose request line it could not read. */
  private static final String STAND_IN_TARGET = "/bad-request";

  /**
   * Whether the codec's invalid request is the stand-in Netty makes for a head whose request line it could not read
   * (a malformed or unsupported version, a line too long or ended by a bare LF, a target the strict decoder refused):
   * {@code GET /bad-request HTTP/1.0} without a header. What the client sent as method, target and version is not
   * known. A head refused for its header lines keeps its own request line, with the header lines read before the
   * refusal; one that sent {@code GET /bad-request HTTP/1.0} and failed at its first header line is taken for a
   * stand-in.
   */
  public static boolean requestLineUnread(HttpServerRequest request) {
    return request.decoderResult().isFailure() && request.method() == io.vertx.core.http.HttpMethod.GET
        && request.version() == io.vertx.core.http.HttpVersion.HTTP_1_0 && STAND_IN_TARGET.equals(request.uri())
        && request.headers().isEmpty();
  }

  /**
   * What the client of a WebSocket tunnel sent after its upgrade request and before the 101 (held by the strict
   * decoder), to be written to the backend before anything else; null: nothing.
   */
  public static io.vertx.core.buffer.Buffer heldBeforeSwitch(io.vertx.core.net.NetSocket client) {
    if (!(client instanceof io.vertx.core.internal.net.NetSocketInternal internal)) {
      return null;
    }
    io.netty.buffer.ByteBuf held = StrictRequestDecoder.takeHeld(internal.channelHandlerContext().channel());
    return held == null ? null : io.vertx.core.internal.buffer.BufferInternal.buffer(held);
  }

  /**
   * Closes the connection of a request just answered {@code Connection: close}: at once when its body has all come,
   * else lingering ({@link StrictRequestDecoder#lingerAfterAnswer}), as the client may still be writing the body
   * (a 413 for an announced length, an early answer during an upload) and a close with its bytes unread would
   * reset the answer before it is read. Without the gateway's decoder (a connection of a port with h2c on accepted
   * before the port's guard was in place) the rest of the body is read through Vert.x and dropped: Vert.x's own close
   * waits for the request to end, which a body it no longer reads never does (the connection stayed open until the
   * idle timeout, and a large body got a reset).
   */
  public static void closeAfterAnswer(HttpServerRequest request) {
    HttpConnection connection = request.connection();
    if (request.isEnded() || !(connection instanceof ConnectionBase base)) {
      connection.close();
      return;
    }
    StrictRequestDecoder decoder = base.channel().pipeline().get(StrictRequestDecoder.class);
    if (decoder != null) {
      decoder.lingerAfterAnswer();
      return;
    }
    request.handler(null).resume(); // what the client still sends is dropped
    base.channel().writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER)
        .addListener(written -> StrictRequestDecoder.lingeringClose(base.channel()));
  }

  /**
   * Marks an HTTP/1.x answer after which the gateway closes the connection {@code Connection: close} (RFC 9112 §9.6),
   * set again as its head goes out: Vert.x writes its own Connection header there, {@code keep-alive} to an HTTP/1.0
   * client that asked for it, over the one set before. Takes the response's headers-end handler.
   */
  public static HttpServerResponse closing(HttpServerResponse response) {
    response.putHeader(HttpHeaders.CONNECTION, HttpHeaders.CLOSE);
    return response.headersEndHandler(v -> response.headers().set(HttpHeaders.CONNECTION, HttpHeaders.CLOSE));
  }

  /**
   * Vert.x's answer to a request the codec refused, with the status the strict decoder chose (505), marked
   * {@code Connection: close} as the connection is closed after it, and dated; a head cut short gets none.
   */
  public static void answerInvalid(HttpServerRequest request) {
    if (headCutShort(request)) {
      request.connection().close();
      return;
    }
    HttpServerResponse response = closing(request.response()).putHeader(HttpHeaders.DATE, HttpDate.now());
    if (request.decoderResult().cause() instanceof StrictRequestDecoder.Refused refused) {
      response.setStatusCode(refused.status()).end();
      request.connection().close();
    } else {
      HttpServerRequest.DEFAULT_INVALID_REQUEST_HANDLER.handle(request);
    }
  }
}
