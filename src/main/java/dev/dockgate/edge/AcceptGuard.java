package dev.dockgate.edge;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.ScheduledFuture;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The listening socket's guard, one for all router instances (Vert.x binds the port once and spreads its
 * connections over them): each client connection is counted in {@code max_connections} the moment it is accepted
 * (beyond the cap it is closed before anything is read), and one that no router has been handed
 * {@code header_timeout_ms} after that is closed.
 *
 * <p>Vert.x hands an HTTP/2 connection to the server's connection handler ({@link EdgeGuard#admit}) only once the
 * client's first SETTINGS frame is read, and with h2c on any plain connection only once its first bytes show which
 * protocol it speaks. Until then such a connection was neither counted nor timed: a client that negotiated h2 by
 * ALPN and sent nothing more (or the preface alone) held it until {@code idle_timeout_ms}, as many as it liked. The
 * close goes through the connection's pipeline, so Netty's HTTP/2 codec, where it is in place, sends a GOAWAY
 * (NO_ERROR) first. On an h2c listener a client that has begun an HTTP/1.x request head by then gets the 408 a
 * listener without h2c answers ({@link FirstBytes}). Once a router has the connection, the rest of the first head's time is the router's to keep
 * ({@link EdgeGuard#firstHeadTimeLeftMs}), and so are all the later heads. On an h2c listener an HTTP/1.x connection
 * gets the gateway's decoder from {@link Http1Branch} once Vert.x has chosen HTTP/1.x for it, before its first byte is
 * decoded (a router could only put it in place after the first head).
 *
 * <p>On a plain HTTP/1.x listener, which Vert.x hands each connection as it registers, the guard only counts (so a
 * connection flood beyond the cap is closed before it costs a registration); on every listener it pauses accepting
 * while the process has no file descriptor left ({@link #exceptionCaught}).
 *
 * <p>Runs on the acceptor's event loop; each connection's deadline on the connection's own loop, that of the router
 * it goes to. Per connection it costs one small object and one scheduled task (on an h2c listener one handler more,
 * until a router has the connection, and the shared {@link Http1Branch} until Vert.x has chosen a protocol), nothing
 * per request.
 */
final class AcceptGuard extends ChannelInboundHandlerAdapter {

  private static final Logger LOG = Logger.getLogger(EdgeGuard.class.getName());
  static final AttributeKey<Opening> OPENING = AttributeKey.valueOf("dockgate.edge.opening");
  private static final String NAME = "dockgate-accept-guard";

  /** How long accepting pauses when the process is out of file descriptors (nginx: 500 ms; Netty's acceptor: 1 s). */
  static final long OUT_OF_DESCRIPTORS_PAUSE_MS = 500;

  private final OpenConnections open;
  private final int maxConnections;
  private final long headerTimeoutMs;
  /** The out-of-descriptors warning: at most one every 10 s, with the accepts that failed since. */
  private final LogPace starved = new LogPace(10, TimeUnit.SECONDS);

  /**
   * A plain HTTP/1.x listener's: Vert.x hands each connection to a router as it registers, and the router's admit
   * times it and marks it between requests, so nothing is added to the connection here.
   */
  private final boolean handedAtRegistration;

  /** A TLS listener's: a plain HTTP request on it is answered 400 ({@link PlainHttpOnTls}). */
  private final boolean tls;

  /** An h2c listener's: gives its HTTP/1.x connections the gateway's decoder; else null. */
  private final Http1Branch http1Branch;

  private AcceptGuard(OpenConnections open, int maxConnections, long headerTimeoutMs, boolean handedAtRegistration,
      boolean tls, HttpServerOptions options, int maxHeaderCount) {
    this.open = open;
    this.maxConnections = maxConnections;
    this.headerTimeoutMs = headerTimeoutMs;
    this.handedAtRegistration = handedAtRegistration;
    this.tls = tls;
    boolean h2c = options != null && options.isHttp2ClearTextEnabled() && !options.isSsl();
    this.http1Branch = h2c && !handedAtRegistration && !tls ? new Http1Branch(options, maxHeaderCount, open) : null;
  }

  /**
   * Puts the guard first on the listening socket's pipeline, unless a router put it there already (all share the
   * socket). Connections accepted before are counted and timed when a router admits them. {@code options} and
   * {@code maxHeaderCount}: the server's, for the decoder of an h2c listener's HTTP/1.x connections
   * ({@link Http1Branch}); null options: none.
   */
  static void install(Channel listener, OpenConnections open, int maxConnections, long headerTimeoutMs,
      boolean handedAtRegistration, boolean tls, HttpServerOptions options, int maxHeaderCount) {
    try {
      listener.pipeline().addFirst(NAME,
          new AcceptGuard(open, maxConnections, headerTimeoutMs, handedAtRegistration, tls, options, maxHeaderCount));
    } catch (IllegalArgumentException alreadyThere) {
      // another router instance's: the same guard
    }
  }

  /**
   * The socket Vert.x listens on for this server: the one its shared TCP server bound (Vert.x keeps it to itself,
   * so it is read from its fields).
   */
  static Channel listeningSocket(HttpServer server) throws ReflectiveOperationException {
    java.lang.reflect.Field tcpServer = io.vertx.core.http.impl.HttpServerImpl.class.getDeclaredField("tcpServer");
    tcpServer.setAccessible(true);
    java.lang.reflect.Field actualServer = io.vertx.core.net.impl.NetServerImpl.class.getDeclaredField("actualServer");
    actualServer.setAccessible(true);
    java.lang.reflect.Field bindFuture = io.vertx.core.net.impl.NetServerImpl.class.getDeclaredField("bindFuture");
    bindFuture.setAccessible(true);
    Object bound = bindFuture.get(actualServer.get(tcpServer.get(server)));
    if (bound instanceof io.vertx.core.Future<?> future && future.result() instanceof Channel socket) {
      return socket;
    }
    throw new NoSuchFieldException("no bound socket in Vert.x's TCP server (" + bound + ")");
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
    if (msg instanceof Channel child) {
      if (!open.admit(maxConnections)) {
        child.unsafe().closeForcibly(); // not registered yet: closed as Netty's acceptor closes a child it cannot take
        return;
      }
      Opening opening = new Opening(open);
      child.attr(OPENING).set(opening);
      child.closeFuture().addListener(opening);
      if (!handedAtRegistration && (headerTimeoutMs > 0 || open.evicting() || tls || http1Branch != null)) {
        child.pipeline().addFirst(new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel channel) {
            if (tls) {
              channel.pipeline().addFirst(PlainHttpOnTls.INSTANCE); // ahead of the TLS handler Vert.x adds next
            }
            open.between(channel); // registered: it may be evicted for a newer one (OpenConnections)
            if (http1Branch != null) { // h2c: what the client sent so far decides how a late first head is refused
              opening.firstBytes = new FirstBytes(http1Branch);
              channel.pipeline().addFirst(opening.firstBytes);
            }
            if (headerTimeoutMs > 0) {
              opening.startDeadline(channel, headerTimeoutMs);
            }
          }
        });
      }
    }
    ctx.fireChannelRead(msg);
    if (msg instanceof Channel child && !child.isRegistered() && !child.isOpen()) {
      // Its registration failed at once (no event loop left for the socket: routers stopping), and Netty closed it
      // without completing its close future: released here, or max_connections would shrink for good.
      Opening opening = child.attr(OPENING).get();
      if (opening != null) {
        opening.release();
      }
    }
  }

  /**
   * An accept that failed because the process (EMFILE) or the system (ENFILE) has no file descriptor left: accepting
   * pauses {@link #OUT_OF_DESCRIPTORS_PAUSE_MS} (connections wait in the kernel's queue meanwhile, and connections
   * that close free descriptors), as nginx does, and one warning names the limit at most every 10 s. Without the pause
   * the acceptor retried at once, over and over (on io_uring, a million log lines in 8 s of a connection flood);
   * without the throttle every retry logged a stack trace. Other failures go on to Netty's acceptor.
   */
  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (!FileDescriptors.exhausted(cause)) {
      ctx.fireExceptionCaught(cause);
      return;
    }
    starved.count();
    Channel socket = ctx.channel();
    if (socket.config().isAutoRead()) {
      socket.config().setAutoRead(false);
      ctx.executor().schedule(() -> {
        if (socket.isOpen()) {
          socket.config().setAutoRead(true);
        }
      }, OUT_OF_DESCRIPTORS_PAUSE_MS, TimeUnit.MILLISECONDS);
    }
    if (starved.due()) {
      LOG.warning("cannot accept connections on " + socket.localAddress() + ": " + cause.getMessage() + " ("
          + starved.takeCount() + " time(s) since the last such line; " + FileDescriptors.describe() + "); accepting pauses "
          + OUT_OF_DESCRIPTORS_PAUSE_MS + " ms at a time until descriptors are free. Raise the limit (ulimit -n, "
          + "systemd LimitNOFILE=, docker run --ulimit nofile=) or lower " + open.setting() + " (" + maxConnections
          + "): each client connection takes a descriptor, and each request it proxies one more to its backend");
    }
  }

  /**
   * A client connection counted at its accept: when it opened, and its deadline for reaching a router. Used on the
   * connection's event loop only.
   */
  static final class Opening implements ChannelFutureListener {

    private final OpenConnections open;
    private final long openedNanos = System.nanoTime();
    private ScheduledFuture<?> deadline;
    private boolean admitted;
    /** On an h2c listener, what the client has sent before a router has the connection; else null. */
    private FirstBytes firstBytes;
    /** Its count was released: once only, whichever of its close and a failed registration comes first. */
    private final java.util.concurrent.atomic.AtomicBoolean released = new java.util.concurrent.atomic.AtomicBoolean();

    private Opening(OpenConnections open) {
      this.open = open;
    }

    private void startDeadline(Channel channel, long timeoutMs) {
      long left = Math.max(1, timeoutMs - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - openedNanos));
      deadline = channel.eventLoop().schedule(() -> {
        if (!admitted && channel.isOpen()) {
          if (firstBytes != null && firstBytes.refuseHttp1Head()) {
            LOG.fine(() -> "connection " + channel.remoteAddress() + " did not complete its request head within "
                + "header_timeout_ms (" + timeoutMs + ") of opening: 408");
            return;
          }
          LOG.fine(() -> "connection " + channel.remoteAddress() + " sent no request within header_timeout_ms ("
              + timeoutMs + ") of opening: closed");
          channel.close();
        }
      }, left, TimeUnit.MILLISECONDS);
    }

    /** A router has the connection: the deadline is its own from now on. */
    void admitted() {
      admitted = true;
      cancel();
      if (firstBytes != null) {
        firstBytes.leave();
        firstBytes = null;
      }
    }

    /** How long ago the connection was accepted. */
    long ageMs() {
      return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - openedNanos);
    }

    /** The connection closed. */
    @Override
    public void operationComplete(ChannelFuture future) {
      release();
      open.busy(future.channel());
      cancel();
    }

    /** Its place in max_connections is free again. */
    void release() {
      if (released.compareAndSet(false, true)) {
        open.closed();
      }
    }

    private void cancel() {
      if (deadline != null) {
        deadline.cancel(false);
        deadline = null;
      }
    }
  }

  /**
   * On an h2c listener, where Vert.x decides from a connection's first bytes whether it speaks HTTP/2 (the connection
   * preface) or HTTP/1.x, and hands an HTTP/1.x one to a router only once its first head is decoded: tells, until a
   * router has the connection, whether the client has begun an HTTP/1.x request head, so that a late one gets the
   * same 408 as on a listener without h2c ({@link StrictRequestDecoder#refuseSlowHead}) rather than a plain close.
   * A client that sent nothing (or only the blanks a request line may follow), or the preface or part of it, is
   * closed plainly: HTTP/2 has no 408 before a stream exists. Looks at the bytes before a router has the connection
   * only, then leaves the pipeline: nothing per request. At the first bytes, before Vert.x reads them, it puts the
   * listener's {@link Http1Branch} in place (with or without a header timeout).
   */
  static final class FirstBytes extends ChannelInboundHandlerAdapter {

    private static final byte[] PREFACE =
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    /** Bytes of the preface the client's first bytes match so far; -1 once they cannot be the preface. */
    private int preface;
    /** An HTTP/1.x request head has begun (a byte past the blanks that is not the preface's). */
    private boolean http1;
    /** Decided (an HTTP/1.x head, or the whole preface): later bytes are not looked at. */
    private boolean decided;
    /** The 408 is out: whatever the client still sends is dropped. */
    private boolean refused;
    private ChannelHandlerContext context;
    /** Put in place at the first bytes, then null. */
    private Http1Branch http1Branch;

    FirstBytes(Http1Branch http1Branch) {
      this.http1Branch = http1Branch;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      context = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (refused) {
        io.netty.util.ReferenceCountUtil.release(msg);
        return;
      }
      if (http1Branch != null) {
        http1Branch.hook(ctx.pipeline());
        http1Branch = null;
      }
      if (!decided && msg instanceof io.netty.buffer.ByteBuf bytes) {
        look(bytes);
      }
      ctx.fireChannelRead(msg);
    }

    private void look(io.netty.buffer.ByteBuf bytes) {
      for (int i = bytes.readerIndex(), end = bytes.writerIndex(); i < end && !decided; i++) {
        byte b = bytes.getByte(i);
        if (preface >= 0) {
          if (b == PREFACE[preface]) {
            decided = ++preface == PREFACE.length;
            continue;
          }
          if (preface > 0) { // "PR" then another byte: an HTTP/1.x request line begun
            http1 = decided = true;
            continue;
          }
          preface = -1;
        }
        if ((b & 0xff) > ' ') { // Netty's HTTP/1.x decoder skips 0x00-0x20 before a request line
          http1 = decided = true;
        }
      }
    }

    /**
     * The first head is late: when the client has begun an HTTP/1.x one, answers 408 and closes lingering (what
     * the client still sends is dropped), and says true; else false, for the caller to close plainly.
     */
    boolean refuseHttp1Head() {
      if (!http1 || context == null || context.isRemoved()) {
        return false;
      }
      refused = true;
      Channel channel = context.channel();
      context.writeAndFlush(StrictRequestDecoder.slowHeadAnswer())
          .addListener(written -> StrictRequestDecoder.lingeringClose(channel));
      return true;
    }

    /** A router has the connection: the bytes are no longer looked at. */
    void leave() {
      if (context != null && !context.isRemoved()) {
        context.pipeline().remove(this);
      }
    }
  }

  /**
   * On an h2c listener, where Vert.x picks a connection's protocol from its first bytes ({@code Http1xOrH2CHandler}) and
   * hands an HTTP/1.x connection to a router only once its first head is decoded, too late for the router to put the
   * gateway's decoder in place as it does on other listeners: the connection gets it all the same, before its first
   * byte is decoded, so that every check, the malformed-chunk 400, the hold behind a WebSocket upgrade and the timing
   * of every head apply on every listener. Put right behind Vert.x's protocol detector before the first bytes reach
   * it ({@link FirstBytes}); the detector installs the HTTP/1.x decoder it chooses behind this hook, so the hook sees the
   * bytes before that decoder does, and puts a {@link StrictRequestDecoder} in its place under the same name (Vert.x
   * removes it by name when a client upgrades to h2c, which then works as before). The router's guard finds it when it
   * admits the connection ({@link EdgeGuard#admit}), which the decoder then reports a malformed chunk to, and its sweep
   * times the later heads. An HTTP/2 connection (prior knowledge) is left as it is. The hook leaves at the first bytes
   * the detector passes on. One for the listener; per connection it costs a pipeline entry until then and, on
   * HTTP/1.x, a decoder in place of the one Vert.x made; nothing per request.
   *
   * <p>Should Vert.x's pipeline not be as expected (no detector, or its decoder ahead of the hook), said once, loudly,
   * and readiness reports it, as when a router finds no Vert.x decoder to replace: the connection goes on with
   * Vert.x's decoder.
   */
  @io.netty.channel.ChannelHandler.Sharable
  static final class Http1Branch extends ChannelInboundHandlerAdapter {

    private final HttpServerOptions options;
    private final int maxHeaderCount;
    private final OpenConnections open;

    private Http1Branch(HttpServerOptions options, int maxHeaderCount, OpenConnections open) {
      this.options = options;
      this.maxHeaderCount = maxHeaderCount;
      this.open = open;
    }

    /** Puts the hook right behind Vert.x's protocol detector, before it has read anything. */
    void hook(ChannelPipeline pipeline) {
      ChannelHandlerContext detector = pipeline.context(io.vertx.core.http.impl.Http1xOrH2CHandler.class);
      if (detector == null) {
        unguarded("no Vert.x h2c protocol detector in the connection's pipeline " + pipeline.names());
        return;
      }
      pipeline.addAfter(detector.name(), null, this);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ChannelPipeline pipeline = ctx.pipeline();
      ChannelHandlerContext vertxDecoder = pipeline.context(io.vertx.core.http.impl.VertxHttpRequestDecoder.class);
      if (vertxDecoder != null) { // HTTP/1.x: nothing decoded yet, as the bytes are still on their way to it
        if (msg instanceof io.netty.buffer.ByteBuf) {
          pipeline.replace(vertxDecoder.name(), vertxDecoder.name(), new StrictRequestDecoder(options, maxHeaderCount));
        } else {
          unguarded("Vert.x's HTTP/1.x decoder is ahead of the gateway's hook in " + pipeline.names());
        }
      }
      pipeline.remove(ctx.name());
      ctx.fireChannelRead(msg);
    }

    private void unguarded(String problem) {
      EdgeGuard.unguarded(open, problem + ": on this h2c listener HTTP/1.x connections keep Vert.x's decoder, without "
          + "the strict checks and with only their first head timed");
    }
  }
}
