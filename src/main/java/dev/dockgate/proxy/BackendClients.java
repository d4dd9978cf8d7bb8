package dev.dockgate.proxy;

import dev.dockgate.config.BackendConfig;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.PoolOptions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One HTTP client per backend for one router: its own connection pool (size, wait queue, keep-alive
 * timeout) and its own TLS settings toward HTTPS instances. A reload keeps the client (and its pooled
 * connections) of a backend whose pool and TLS settings did not change; the others are shut down
 * gracefully, letting their requests in flight finish. Confined to the router's event loop.
 */
public final class BackendClients {

  /** What a client is made from: a backend whose other settings changed keeps its client. */
  private record Settings(int maxConnections, int maxWaitQueue, int keepAliveSeconds, long connectTimeoutMs,
      BackendConfig.UpstreamTls tls, boolean http2) {
    static Settings of(BackendConfig backend) {
      return new Settings(backend.maxConnections(), backend.maxWaitQueue(), backend.keepAliveTimeoutSeconds(),
          backend.connectTimeoutMs(), backend.tls(), backend.http2());
    }
  }

  /** A backend's clients: HTTP, and raw TCP for upgrade tunnels (same TLS settings). */
  private record Held(Settings settings, HttpClient client, ConnectionPool pool, io.vertx.core.net.NetClient tunnels) {
  }

  private static final long SHUTDOWN_SECONDS = 30;
  private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger(BackendClients.class.getName());

  private final Vertx vertx;
  private Map<String, Held> clients = Map.of();

  public BackendClients(Vertx vertx) {
    this.vertx = vertx;
  }

  /**
   * The clients of one config's backends, by name: made on the router's event loop by {@link #prepare}, then
   * read by any thread (a worker compiling the config's routes); immutable.
   */
  public static final class Prepared {
    private final Map<String, Held> held;

    private Prepared(Map<String, Held> held) {
      this.held = Map.copyOf(held);
    }

    public HttpClient client(String backend) {
      return held.get(backend).client();
    }

    /** The pool of {@code backend}'s plain-HTTP connections. */
    public ConnectionPool pool(String backend) {
      return held.get(backend).pool();
    }

    /** The raw TCP client for {@code backend}'s upgrade tunnels. */
    public io.vertx.core.net.NetClient tunnels(String backend) {
      return held.get(backend).tunnels();
    }
  }

  /**
   * The clients for {@code backends}: those in use kept where unchanged, new ones made where new or changed; nothing
   * is shut down until {@link #commit} (the routes in use keep theirs while the new routes are compiled).
   */
  public Prepared prepare(List<BackendConfig> backends) {
    Map<String, Held> next = new HashMap<>();
    for (BackendConfig backend : backends) {
      Settings settings = Settings.of(backend);
      Held held = clients.get(backend.name());
      if (held == null || !held.settings().equals(settings)) {
        HttpClient client = create(settings);
        held = new Held(settings, client, pool(client, settings), UpgradeTunnel.client(vertx, settings.tls()));
      }
      next.put(backend.name(), held);
    }
    return new Prepared(next);
  }

  /** Makes {@code next} the clients in use; those it does not keep are shut down gracefully. */
  public void commit(Prepared next) {
    shutDown(clients, next.held);
    clients = next.held;
  }

  /** Lets go of what {@code unused} made, as it will not be committed (the router stops, or a newer config came). */
  public void discard(Prepared unused) {
    shutDown(unused.held, clients);
  }

  /** Shuts down the clients of {@code from} that {@code kept} does not hold. */
  private static void shutDown(Map<String, Held> from, Map<String, Held> kept) {
    from.forEach((name, held) -> {
      if (kept.get(name) != held) {
        held.pool().close(false); // its idle connections; those in use finish their requests, then the shutdown closes them
        held.client().shutdown(SHUTDOWN_SECONDS, TimeUnit.SECONDS);
        held.tunnels().close(); // its settings changed: open tunnels of the old ones end
      }
    });
  }

  private HttpClient create(Settings settings) {
    HttpClientOptions options = new HttpClientOptions()
        .setKeepAlive(true)
        .setKeepAliveTimeout(settings.keepAliveSeconds())
        // The TCP connect of the gateway's own pool (Vert.x's pool bounds it by the request's connect timeout).
        .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, Math.max(1, settings.connectTimeoutMs())))
        // An HTTPS instance's handshake within the same time (Vert.x's default: 10 s), so that one that never
        // answers it does not keep its socket long after its request gave up on it.
        .setSslHandshakeTimeout(Math.max(1, settings.connectTimeoutMs()))
        .setSslHandshakeTimeoutUnit(TimeUnit.MILLISECONDS)
        .setTcpNoDelay(true);
    dev.dockgate.HttpClients.towardInstances(options, settings.tls(), settings.http2());
    PoolOptions pool = new PoolOptions()
        .setHttp1MaxSize(settings.maxConnections())
        .setMaxWaitQueueSize(settings.maxWaitQueue());
    if (settings.http2()) {
      // One connection per instance and router carries all requests, up to the streams the instance allows at once;
      // more wait for a stream (the wait queue). More connections would open one per request of a burst that finds
      // none yet (Vert.x's pool counts a connection still being made as full).
      options.setHttp2KeepAliveTimeout(settings.keepAliveSeconds());
      pool.setHttp2MaxSize(1);
    }
    HttpClientOptions decoder = options;
    return vertx.httpClientBuilder().with(options).with(pool)
        .withConnectHandler(connection -> prepare(connection, decoder))
        .build();
  }

  /** The pool for {@code client}'s HTTP/1 instances (plain and HTTPS); its new connections are prepared as Vert.x's pool's are. */
  private ConnectionPool pool(HttpClient client, Settings settings) {
    HttpClientOptions decoder = new HttpClientOptions();
    return new ConnectionPool(vertx, (io.vertx.core.http.HttpClientAgent) client, settings.maxConnections(),
        settings.maxWaitQueue(), settings.keepAliveSeconds(), connection -> {
          prepare(connection, decoder);
          io.netty.channel.Channel channel = channelOf(connection);
          if (channel != null) {
            // The backend's close ends its input only: what was read before it is still passed on, at the pace
            // of the client (see InterimAnswers.userEventTriggered). Closed at once, the connection dropped it on
            // io_uring, which reads to the close whether or not the gateway reads.
            channel.config().setOption(io.netty.channel.ChannelOption.ALLOW_HALF_CLOSURE, true);
            // A write that fails (the backend reset the connection: it answered an upload from its head, a 401 or
            // 413, and closed with the body unread) shuts the output only: the answer it wrote first is still read
            // (the kernel keeps it ahead of the reset), where Netty's close at the failed write dropped it (502).
            channel.config().setOption(io.netty.channel.ChannelOption.AUTO_CLOSE, false);
            channel.config().setRecvByteBufAllocator(BACKEND_READS); // see BACKEND_READS
          }
          return channel;
        });
  }

  /**
   * How much a backend connection reads at once: at most {@link #BACKEND_READ_MAX} bytes a read. What it read is held
   * while the client takes nothing: the relay pauses the answer once the client's write queue is full; Vert.x then
   * queues up to 16 more chunks on the answer (heap copies), pauses the connection, and keeps what the rest of the
   * read loop under way reads (up to 16 reads) as chunks sliced from the read buffers, direct memory, turning reading
   * off only at the loop's end. With the transport's own reads (io_uring) a client that took the head of a 20 MB
   * answer and then nothing so held 485-700 KiB of direct memory (some 65 chunks of 8 KiB); with reads of at most
   * 16 KiB or 32 KiB about 120 KiB, 64 KiB 175 KiB (StalledDownloadsIT). 32 KiB: half the reads of 16 KiB for a large
   * answer at the same memory. The body is cut into chunks of at most 8 KiB whatever the read (the decoder's chunk
   * size). One instance for all: its handles are per channel.
   */
  static final int BACKEND_READ_MAX = 32 * 1024;
  private static final io.netty.channel.RecvByteBufAllocator BACKEND_READS =
      new io.netty.channel.AdaptiveRecvByteBufAllocator(64, 2048, BACKEND_READ_MAX);

  /** A new connection to a backend, before its first request. */
  private static void prepare(io.vertx.core.http.HttpConnection connection, HttpClientOptions decoder) {
    tolerateBareLf(underlying(connection), decoder);
    // A backend that breaks the protocol (Content-Length with Transfer-Encoding, a bad chunk)
    // fails its request, which is answered 502 and counted; not a SEVERE line of Vert.x's.
    connection.exceptionHandler(err -> LOG.fine(() -> "connection to " + connection.remoteAddress() + ": " + err));
  }

  /**
   * The connection a connection made by {@code HttpClientAgent.connect} wraps (Vert.x 5's
   * {@code UnpooledHttpClientConnection} keeps it in a private field), so that its channel's pipeline can be
   * changed; the connection itself when it wraps none.
   */
  static io.vertx.core.http.HttpConnection underlying(io.vertx.core.http.HttpConnection connection) {
    if (ACTUAL != null && ACTUAL.getDeclaringClass().isInstance(connection)) {
      try {
        return (io.vertx.core.http.HttpConnection) ACTUAL.get(connection);
      } catch (IllegalAccessException | ClassCastException e) {
        return connection;
      }
    }
    return connection;
  }

  /** The channel of a connection made by {@code HttpClientAgent.connect}, or null when not reachable. */
  static io.netty.channel.Channel channelOf(io.vertx.core.http.HttpConnection connection) {
    return underlying(connection) instanceof io.vertx.core.net.impl.ConnectionBase base ? base.channel() : null;
  }

  /**
   * The last-stream-id of the GOAWAY an HTTP/2 connection received, or -1 when it received none (or its channel is
   * gone): Netty's own record of it. (Vert.x's {@code HttpClosedException.goAway()} copies the frame's debug data,
   * released once the frame was read: it fails for a stream closed later than that.) On the connection's event loop.
   */
  static int goAwayLastStreamId(io.vertx.core.http.HttpConnection connection) {
    io.netty.channel.Channel channel = channelOf(connection);
    io.netty.handler.codec.http2.Http2ConnectionHandler h2 = channel == null ? null
        : channel.pipeline().get(io.netty.handler.codec.http2.Http2ConnectionHandler.class);
    return h2 != null && h2.connection().goAwayReceived() ? h2.connection().local().lastStreamKnownByPeer() : -1;
  }

  private static final java.lang.reflect.Field ACTUAL = actualField();

  private static java.lang.reflect.Field actualField() {
    try {
      java.lang.reflect.Field field = io.vertx.core.http.impl.UnpooledHttpClientConnection.class.getDeclaredField("actual");
      field.setAccessible(true);
      return field;
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null; // tolerateBareLf warns once that the decoder stays Vert.x's
    }
  }

  /** Headers of backends' answers as the decoder reads them: only an empty name refused (see {@link #tolerateBareLf}). */
  private static final io.netty.handler.codec.http.DefaultHttpHeadersFactory BACKEND_HEADERS =
      io.netty.handler.codec.http.DefaultHttpHeadersFactory.headersFactory().withValidation(false)
          .withNameValidator(name -> {
            if (name.length() == 0) {
              throw new IllegalArgumentException("a header with an empty name");
            }
          });

  /** Whether a backend connection came without the decoder this class replaces (warned once). */
  private static final java.util.concurrent.atomic.AtomicBoolean CODEC_UNCHANGED =
      new java.util.concurrent.atomic.AtomicBoolean();

  /**
   * Tolerant with backends as nginx, HAProxy and curl are (RFC 9112 §2.2): a response whose lines
   * end in a bare LF (busybox httpd's CGI output, embedded and legacy servers) is read, where
   * Netty's strict line parsing would fail it; so is a Content-Length repeated with the same value. Only the response decoder of connections to backends
   * changes; requests from clients keep strict parsing, and the other checks (Content-Length with
   * Transfer-Encoding, chunk sizes) stay. Header names and values are checked once, where they are
   * copied into the client's response, rather than twice: a response with one that cannot be sent on
   * is answered 502 there. Runs when a connection is made, before its first request is written.
   */
  private static void tolerateBareLf(io.vertx.core.http.HttpConnection connection, HttpClientOptions options) {
    if (connection instanceof io.vertx.core.net.impl.ConnectionBase h2
        && h2.channel().pipeline().get(io.netty.handler.codec.http2.Http2ConnectionHandler.class) != null) {
      return; // an HTTP/2 connection (protocol: http2): binary frames, no lines to read tolerantly
    }
    if (!(connection instanceof io.vertx.core.net.impl.ConnectionBase base)
        || !(base.channel().pipeline().get("codec") instanceof io.netty.handler.codec.http.HttpClientCodec)) {
      if (!CODEC_UNCHANGED.getAndSet(true)) {
        LOG.warning("backend connections keep Vert.x's response decoder (" + connection.getClass().getName()
            + "): bare-LF answers are refused and header names are not checked for emptiness");
      }
      return;
    }
    io.netty.channel.ChannelPipeline pipeline = base.channel().pipeline();
    io.netty.handler.codec.http.HttpDecoderConfig config = new io.netty.handler.codec.http.HttpDecoderConfig()
        .setMaxInitialLineLength(options.getMaxInitialLineLength())
        .setMaxHeaderSize(options.getMaxHeaderSize())
        .setMaxChunkSize(options.getMaxChunkSize())
        .setInitialBufferSize(options.getDecoderInitialBufferSize())
        // Names and values are checked once, where they are copied into the client's response (Vert.x
        // validates every header set there; BackendAnswer answers 502 for one no client may be sent),
        // but for the empty name (": x"), which that check lets through: the answer fails here (502).
        .setHeadersFactory(BACKEND_HEADERS)
        .setTrailersFactory(BACKEND_HEADERS)
        // A Content-Length sent twice with one value (two lines, or "2, 2") is that length, as nginx, HAProxy and
        // Envoy read it (RFC 9110 §8.6); different values still fail the answer (502).
        .setAllowDuplicateContentLengths(true)
        .setStrictLineParsing(false);
    io.netty.handler.codec.http.HttpClientCodec codec = new io.netty.handler.codec.http.HttpClientCodec(config,
        io.netty.handler.codec.http.HttpClientCodec.DEFAULT_PARSE_HTTP_AFTER_CONNECT_REQUEST,
        io.netty.handler.codec.http.HttpClientCodec.DEFAULT_FAIL_ON_MISSING_RESPONSE);
    InterimAnswers answers = new InterimAnswers(base);
    if (decoderOf(codec) instanceof io.netty.handler.codec.ByteToMessageDecoder decoder) {
      decoder.setCumulator(answers); // the bytes it reads are gathered by InterimAnswers, which sees what is left
    }
    pipeline.replace("codec", "codec", codec);
    pipeline.addAfter("codec", "interim-answers", answers);
  }

  /**
   * The response decoder inside a client codec ({@code CombinedChannelDuplexHandler.inboundHandler()}, protected
   * in Netty 4.2, and the codec final), or null when not reachable: then bytes a backend sends beyond an answer (in
   * the same read as its end, or while the connection idles) go unnoticed until the next request fails on them, and
   * so does a head line that is no field ({@link HeadLines}).
   */
  private static Object decoderOf(io.netty.handler.codec.http.HttpClientCodec codec) {
    try {
      return INBOUND == null ? null : INBOUND.invoke(codec);
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null;
    }
  }

  private static final java.lang.reflect.Method INBOUND = inboundMethod();

  private static java.lang.reflect.Method inboundMethod() {
    try {
      java.lang.reflect.Method method = io.netty.channel.CombinedChannelDuplexHandler.class.getDeclaredMethod("inboundHandler");
      method.setAccessible(true);
      return method;
    } catch (ReflectiveOperationException | RuntimeException e) {
      LOG.warning("the backend response decoder is not reachable (" + e + "): bytes a backend sends beyond an"
          + " answer's end will fail the next request on that connection (502)");
      return null;
    }
  }

  /**
   * Drops the interim (1xx) answers that Vert.x would take for the final one (102 Processing, and
   * any 1xx it does not know), so that the final answer that follows reaches the client; the client
   * would otherwise be sent a 102 with nothing after it. 100 and 103 pass (Vert.x handles them: a 103 reaches
   * the request's early-hints handler, which BackendAnswer passes on to the client), and so does 101, a switch
   * (refused as an answer: TryFailures.unusable). RFC 9110 §15.2 asks a proxy to forward 1xx answers; the gateway
   * forwards 103 Early Hints and, like nginx, reads past the others.
   *
   * <p>Also marks the connection {@link ConnectionPool#UNUSABLE} when the backend sends bytes that belong to no
   * answer: left in the decoder's buffer when a final answer ends (a body after a 204, or after a 304 or a HEAD
   * answer of a declared length), or arriving after that end, before the next request. The next request would
   * read them as the start of its answer and fail; nginx closes such a connection too. Bytes arriving while the
   * connection idles close it at once, unread. It sees the decoder's buffer as the decoder's cumulator.
   *
   * <p>And it fails a head with a line that is no field (see {@link HeadLines}), as nginx does: Vert.x fails the
   * request (502, counted against the instance) and closes the connection; a line of one word and no colon, which
   * nginx passes as a field with no value, reaches the decoder with its colon.
   */
  static final class InterimAnswers extends io.netty.channel.ChannelDuplexHandler
      implements io.netty.handler.codec.ByteToMessageDecoder.Cumulator {
    /** An interim answer was dropped: its (empty) end follows and is dropped too. */
    private boolean dropping;
    /** A final answer's head came, and its end not yet. */
    private boolean answering;
    /** A final answer ended and no request was written since: any byte now belongs to no answer. */
    private boolean idle;
    /** What the decoder decodes from during a read; null between reads. */
    private io.netty.buffer.ByteBuf buffered;
    private io.netty.channel.ChannelHandlerContext context;
    /** The lines of the head being read, a line that is no field failing it when the decoder passes it on. */
    private final HeadLines lines = new HeadLines();
    /** A head failed here: what the decoder reads after it goes nowhere (Vert.x closes the connection). */
    private boolean refused;
    /** The request written last is a HEAD: its answer has no body, whatever its head says. */
    private boolean headRequest;
    /** The body bytes of the current answer the decoder has passed on. */
    private long bodyBytes;
    /** Vert.x's connection of the channel, whose reads still queued at its close are released then. */
    private final Object connection;
    /** The gateway closed the connection: nothing will take what Vert.x still holds of it. */
    private boolean abandoned;
    /** A failure is being passed on (Vert.x closes the connection on it). */
    private boolean failing;

    InterimAnswers(Object connection) {
      this.connection = connection;
    }

    @Override
    public void handlerAdded(io.netty.channel.ChannelHandlerContext ctx) {
      context = ctx;
    }

    /**
     * The connection closed: when the gateway closed it (a client that left mid-answer, a timeout: Vert.x's reset), what
     * Vert.x had read ahead of a paused answer and will never hand on is released, not left to the garbage collector
     * with its pooled memory. Not when the backend ended it (its reset; its close, where the connection does not allow
     * half-closure): Vert.x still hands those reads, the answer's last bytes, to the slower client as it resumes.
     */
    @Override
    public void channelInactive(io.netty.channel.ChannelHandlerContext ctx) {
      ctx.fireChannelInactive();
      if (abandoned) {
        UnreadReads.release(connection);
      }
    }

    /**
     * A close asked for from above (Vert.x: a reset, a timeout, the pool; or Vert.x's own close after a failed read).
     * A plain connection's native socket is shut both ways first: on io_uring, a close made while an answer was being
     * read (a 502, `Connection: close`, bytes beyond the answer) left the socket established with no descriptor, no
     * FIN sent, until the backend closed it (for ever if it never does). The shutdown wakes the read still pending
     * on it. Made on the socket itself, not through the channel, whose shutdown of a socket the backend reset has
     * Netty log the failure. An HTTPS connection has its input shut only, so that its close_notify still leaves: a
     * close made while its answer was read (`Connection: close` from an HTTPS backend, the try made without the
     * breaker library's extra step) left it established as well, the backend never seeing a FIN.
     */
    @Override
    public void close(io.netty.channel.ChannelHandlerContext ctx, io.netty.channel.ChannelPromise promise) {
      if (!failing) {
        abandoned = true;
      }
      io.netty.channel.Channel channel = ctx.channel();
      if (channel.isOpen() && channel instanceof io.netty.channel.unix.UnixChannel unix
          && unix.fd() instanceof io.netty.channel.unix.Socket socket) {
        // An HTTPS connection's input alone: its close_notify, which the TLS handler writes on this close, still leaves.
        boolean tls = ctx.pipeline().get(io.netty.handler.ssl.SslHandler.class) != null;
        try {
          socket.shutdown(true, !tls);
        } catch (java.io.IOException e) {
          // Not connected any more (the backend reset it): nothing left to shut.
        }
      }
      ctx.close(promise);
    }

    /** Vert.x closes the connection on any failure it is passed (a reset read): that close is the backend's doing. */
    @Override
    public void exceptionCaught(io.netty.channel.ChannelHandlerContext ctx, Throwable cause) {
      failing = true;
      try {
        ctx.fireExceptionCaught(cause);
      } finally {
        failing = false;
      }
    }

    @Override
    public io.netty.buffer.ByteBuf cumulate(io.netty.buffer.ByteBufAllocator alloc, io.netty.buffer.ByteBuf cumulation,
        io.netty.buffer.ByteBuf in) {
      if (idle && in.isReadable() && context != null) {
        in.release();
        unusable();
        context.close();
        return cumulation;
      }
      int arrived = in.readableBytes();
      buffered = io.netty.handler.codec.ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(alloc, cumulation, in);
      // Read in the merged bytes: a line's CR may have come in an earlier read (still there, its line not decoded).
      readLines(buffered, buffered.writerIndex() - arrived);
      return buffered;
    }

    /**
     * Reads {@code buffer}'s lines from {@code from}, with a colon put where each head line of one word and no colon
     * needs one: nginx passes such a line as a field with no value, and so does the gateway, but Netty's decoder
     * refuses it. Put in place (the decoder decodes from this very buffer, in a read or after an interim answer),
     * before the decoder reads the line: its bytes are left in the buffer until its LF has come. Rare: a backend's
     * mistake.
     */
    private void readLines(io.netty.buffer.ByteBuf buffer, int from) {
      for (int colon = lines.read(buffer, from, buffer.writerIndex()); colon >= 0; ) {
        if (colon < buffer.readerIndex() || !insertColon(buffer, colon)) {
          lines.noFieldHere(); // (not seen: the decoder keeps a line until its end, and its buffer grows)
          return;
        }
        int lineEnd = buffer.getByte(colon + 1) == '\r' ? colon + 2 : colon + 1; // the LF the line ended at
        colon = lines.read(buffer, lineEnd + 1, buffer.writerIndex());
      }
    }

    /**
     * Puts a colon in {@code buffer} at {@code at}, the bytes from there one further; false when it cannot grow, or
     * only by a reallocation while shared (a slice of it held), which the decoder's own cumulator avoids too.
     */
    private static boolean insertColon(io.netty.buffer.ByteBuf buffer, int at) {
      boolean grows = buffer.maxFastWritableBytes() < 1;
      if (buffer.isReadOnly() || grows && buffer.refCnt() > 1 || (buffer.ensureWritable(1, true) & 1) != 0) {
        return false;
      }
      io.netty.buffer.ByteBuf moved = buffer.copy(at, buffer.writerIndex() - at);
      try {
        buffer.setByte(at, ':');
        buffer.setBytes(at + 1, moved);
        buffer.writerIndex(buffer.writerIndex() + 1);
      } finally {
        moved.release();
      }
      return true;
    }

    private void unusable() {
      if (context != null) {
        context.channel().attr(ConnectionPool.UNUSABLE).set(Boolean.TRUE);
      }
    }

    @Override
    public void write(io.netty.channel.ChannelHandlerContext ctx, Object msg, io.netty.channel.ChannelPromise promise) {
      if (msg instanceof io.netty.handler.codec.http.HttpRequest request) {
        idle = false;
        lines.expectHead(); // its answer's
        headRequest = request.method() == io.netty.handler.codec.http.HttpMethod.HEAD;
      }
      ctx.write(msg, promise);
    }

    /**
     * The backend closed its side (connections of the gateway's pool, which allow half-closure). Its close
     * used to close the connection at once: io_uring reads to the close even while the gateway applies
     * back-pressure, and Vert.x, closed, dropped the part of the answer it held for a slower client, which was
     * then cut. Now the decoder has decoded all that came (a body delimited by the close ended with it), and
     * when that completed an answer still being handed on, the connection is closed once the answer is read (the
     * pool closes a connection marked unusable); otherwise now: a request without an answer, or an answer cut
     * short, fails as it did, and a connection idle in the pool (or handed out, its request not yet written) is
     * closed, freeing its slot at once.
     */
    @Override
    public void userEventTriggered(io.netty.channel.ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof io.netty.channel.socket.ChannelOutputShutdownEvent && ctx.channel().hasAttr(ConnectionPool.CLOSING)) {
        // A write failed (the backend reset the connection) after the pool closed it, its answer read: Vert.x's
        // close waits for the rest of the upload, which can no longer leave. Closed from here, below Vert.x's handler.
        ctx.close();
      } else if (evt instanceof io.netty.channel.socket.ChannelInputShutdownEvent) {
        unusable();
        if (!idle || !ConnectionPool.delivering(ctx.channel())) {
          ctx.close();
        }
      } else if (evt instanceof io.netty.handler.ssl.SslCloseCompletionEvent closed && closed.isSuccess()) {
        // An HTTPS backend's close_notify: it sends nothing more on this connection, whose TCP close may come
        // later (TLS 1.3 allows the half-close). Its input has ended: the decoder is told so from the TLS handler
        // on (a body delimited by the close ends with it), and the branch above then does what a close does:
        // an exchange waiting for its answer fails at once (and may be sent again), an idle connection closes.
        io.netty.channel.ChannelHandlerContext tls = ctx.pipeline().context(io.netty.handler.ssl.SslHandler.class);
        if (tls != null) {
          ctx.fireUserEventTriggered(evt);
          tls.fireUserEventTriggered(io.netty.channel.socket.ChannelInputShutdownEvent.INSTANCE);
          return;
        }
      }
      ctx.fireUserEventTriggered(evt);
    }

    /** What the decoder holds already after the head just read: the next head's, or the body's first bytes. */
    private void readOn() {
      if (buffered != null && buffered.refCnt() > 0) {
        readLines(buffered, buffered.readerIndex());
      }
    }

    /**
     * The end of a chunked answer whose body has all come, but whose trailer section cannot be passed on (a line that
     * is no field; or the decoder failed it: a line without a colon, more than it reads): without its trailers, as
     * nginx, which drops every trailer, relays it, rather than with a bad one, or cut. A trailer section the decoder
     * failed leaves the connection unusable (the decoder reads nothing more on it). Only once the decoder has passed
     * on all the data of the chunks read here, up to the last one: a decoder that failed before (a size line or a
     * chunk's end it refuses) still cuts the answer.
     */
    private Object withoutBadTrailers(io.netty.handler.codec.http.LastHttpContent last) {
      boolean noField = lines.takeNoField();
      boolean failed = last.decoderResult().isFailure();
      if (!lines.bodyEnded() || !noField && !failed || failed && bodyBytes != lines.data()) {
        // A good trailer section; or a bad chunk, cut toward the client: the decoder failed before the last chunk's
        // size line (its body's bytes fewer than the chunks' data read here; or no last chunk found).
        return last;
      }
      if (failed) {
        unusable();
        if (context != null && !ConnectionPool.pooled(context.channel())) {
          context.executor().execute(context::close); // Vert.x's own pool would hand it out again: closed once read
        }
      }
      io.netty.buffer.ByteBuf content = last.content();
      if (content.isReadable()) {
        return new io.netty.handler.codec.http.DefaultLastHttpContent(content); // (no data after the last chunk)
      }
      last.release();
      return io.netty.handler.codec.http.LastHttpContent.EMPTY_LAST_CONTENT;
    }

    @Override
    public void channelReadComplete(io.netty.channel.ChannelHandlerContext ctx) {
      buffered = null; // the decoder may release it now
      ctx.fireChannelReadComplete();
    }

    @Override
    public void channelRead(io.netty.channel.ChannelHandlerContext ctx, Object msg) {
      if (refused) {
        // As the decoder drops what follows a head it failed itself; passed on, a final answer after a refused
        // interim one would complete a request that failed already.
        io.netty.util.ReferenceCountUtil.release(msg);
        return;
      }
      if (msg instanceof io.netty.handler.codec.http.HttpResponse head) {
        int status = head.status().code();
        if (lines.takeNoField()) {
          if (head.decoderResult().isSuccess()) {
            // Vert.x fails the request (502, counted against the instance) and closes the connection.
            refused = true;
            unusable();
            head.setDecoderResult(io.netty.handler.codec.DecoderResult.failure(
                new IllegalArgumentException("a line of the answer's head is no header field")));
          }
        } else if (status < 200 && status != 101 && head.decoderResult().isSuccess()) {
          // An interim answer: the next head follows, maybe in the bytes the decoder holds already (it has read
          // this head's, and no further).
          lines.expectHead();
          readOn();
        } else if (status != 204 && status != 304 && status >= 200 && !headRequest
            && head.decoderResult().isSuccess() && io.netty.handler.codec.http.HttpUtil.isTransferEncodingChunked(head)) {
          lines.expectChunks(); // to find the trailer section
          readOn();
        }
        bodyBytes = 0;
        // A head the decoder failed (too large, an empty name) goes on, so that the answer fails at once.
        if (status >= 102 && status < 200 && status != 103 && head.decoderResult().isSuccess()) {
          dropping = !(msg instanceof io.netty.handler.codec.http.LastHttpContent);
          io.netty.util.ReferenceCountUtil.release(msg);
          return;
        }
        answering = status >= 200;
      } else if (dropping && msg instanceof io.netty.handler.codec.http.HttpContent) {
        dropping = !(msg instanceof io.netty.handler.codec.http.LastHttpContent);
        io.netty.util.ReferenceCountUtil.release(msg);
        return;
      }
      if (answering && msg instanceof io.netty.handler.codec.http.HttpContent content) {
        bodyBytes += content.content().readableBytes();
      }
      if (answering && msg instanceof io.netty.handler.codec.http.LastHttpContent last) {
        msg = withoutBadTrailers(last);
        // The final answer's end, decoded from the buffer during this read: what the buffer still holds is no answer's.
        answering = false;
        idle = true;
        if (buffered != null && buffered.refCnt() > 0 && buffered.isReadable()) {
          unusable();
        }
      }
      ctx.fireChannelRead(msg);
    }
  }

  /** Closes every client (the router stops, after its drain). */
  public io.vertx.core.Future<Void> close() {
    clients.values().forEach(h -> h.pool().close(true));
    List<io.vertx.core.Future<Void>> closing = clients.values().stream()
        .flatMap(h -> java.util.stream.Stream.of(h.client().close(), h.tunnels().close())).toList();
    clients = Map.of();
    return io.vertx.core.Future.join(closing).mapEmpty();
  }
}
