package dev.dockgate.edge;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMessageDecoderResult;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.impl.VertxHttpRequestDecoder;
import io.vertx.core.net.impl.HostAndPortImpl;
import java.util.List;

/**
 * Vert.x's HTTP/1 request decoder, refusing what Netty 4.2 repairs or lets through: Content-Length
 * beside Transfer-Encoding (Netty drops the length), any transfer coding but a single "chunked",
 * Transfer-Encoding in HTTP/1.0, several Content-Length lines in HTTP/1.0, obs-fold lines (Netty
 * joins them), a header line without a field name ({@code : x}, which Netty keeps as a field named ""), a missing,
 * repeated or malformed Host, an IPv6 zone id in Host or an absolute-form target's authority, control bytes,
 * non-ASCII or a fragment in the target, userinfo in an absolute-form target, and malformed versions (400) or other major versions (505).
 * A bad chunk is not passed on (Vert.x would close without an answer) but reported to the edge,
 * which answers 400. A refused head loses its {@code Upgrade} field, so that no protocol switch (Vert.x's h2c upgrade)
 * takes it for an offer. One per connection, on its event loop; on an h2c listener put in place before the
 * connection's first byte is decoded ({@link AcceptGuard.Http1Branch}), elsewhere when a router admits the connection.
 *
 * <p>Cost on the hot path: no second pass over the head's bytes. The head checks read headers
 * Netty has already parsed (a few map lookups) and count field lines as Netty names them; obs-fold
 * is found by arithmetic: Netty reports the request line's and the header lines' lengths without
 * their CRLFs, so the bytes it consumed for the head tell how many lines the head had, and a
 * line Netty did not start a field with was a continuation. Only the request target is looked at
 * byte by byte (for control bytes), as short as the path the router normalises anyway.
 */
final class StrictRequestDecoder extends VertxHttpRequestDecoder {

  /** A request head refused here: the status it gets, then the connection is closed. */
  static final class Refused extends IllegalArgumentException {
    private final int status;

    Refused(int status, String reason) {
      super(reason);
      this.status = status;
    }

    int status() {
      return status;
    }

    @Override
    public synchronized Throwable fillInStackTrace() {
      return this; // a client's mistake: no stack to record
    }
  }

  private static final AsciiString CHUNKED = AsciiString.cached("chunked");
  private static final String SLOW_HEAD_BODY = "request head not received in time\n";
  private static final String SLOW_HEAD_START = "HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ndate: ";
  private static final String SLOW_HEAD_END = "\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: "
      + SLOW_HEAD_BODY.length() + "\r\n\r\n" + SLOW_HEAD_BODY;

  /** Told of a malformed chunk; null until the edge knows the connection ({@link #reportMalformedBodyTo}). */
  private Runnable onMalformedBody;
  /** A malformed chunk came before the edge knew the connection: told as soon as it does. */
  private boolean malformedUntold;
  private final int maxHeaderCount;
  private int hostLines;
  private int lengthLines;
  /** A header line of the head had no name before its colon ({@code : x}), which Netty takes as a field. */
  private boolean emptyName;
  /** Header lines Netty started a field with (not continuations). */
  private int fieldLines;
  /** Between requests or inside a head: the bytes the parser consumes are head bytes. */
  private boolean inHead = true;
  /** The request line has begun (the empty lines and blanks Netty skips before it are behind). */
  private boolean lineBegun;
  /** Bytes of the current head from its request line on, CRLFs included. */
  private int headBytes;
  /** A request was refused after Netty passed it: every later byte is dropped. */
  private boolean discarding;
  /** When the head being received began (System.nanoTime), 0 between heads. */
  private long headStartedNanos;
  private ChannelHandlerContext context;
  /**
   * The request being decoded asks for a WebSocket upgrade, not answered yet (its answer is watched): once it has
   * ended, what follows is held.
   */
  private boolean upgradeAsked;
  /** NOT_HOLDING, HOLDING (an upgrade request's answer not out yet) or SWITCHED (its 101 is). */
  private int upgrade = NOT_HOLDING;
  /** What the client sent behind its upgrade request before the answer, not decoded; null: nothing. */
  private ByteBuf held;
  /** Requests passed on to Vert.x as valid, and those of them Vert.x has handed to the gateway ({@link #handedOn}). */
  private int decoded;
  private int handedOn;

  private static final int NOT_HOLDING = 0;
  private static final int HOLDING = 1;
  private static final int SWITCHED = 2;
  /** A client sending more than this before its upgrade is answered is cut off. */
  static final int MAX_HELD = 64 * 1024;
  /** Where the bytes held before a 101 wait for the tunnel once this decoder is gone (see {@link #takeHeld}). */
  private static final io.netty.util.AttributeKey<ByteBuf> HELD_BEFORE_SWITCH =
      io.netty.util.AttributeKey.valueOf("dockgate.heldBeforeSwitch");

  /** {@code maxHeaderCount}: more header lines than this get 431 (0: no limit). */
  StrictRequestDecoder(HttpServerOptions options, int maxHeaderCount) {
    super(options);
    this.maxHeaderCount = maxHeaderCount;
  }

  /**
   * Whom a malformed chunk is reported to, once the edge knows the connection ({@link EdgeGuard#admit}): on an h2c
   * listener the decoder reads the first request before Vert.x hands the connection over, so a malformed chunk in the
   * first bytes is reported here, late.
   */
  void reportMalformedBodyTo(Runnable onMalformedBody) {
    this.onMalformedBody = onMalformedBody;
    if (malformedUntold) {
      malformedUntold = false;
      onMalformedBody.run();
    }
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf buffer, List<Object> out) throws Exception {
    if (discarding) {
      buffer.skipBytes(buffer.readableBytes());
      return;
    }
    if (upgrade != NOT_HOLDING) {
      hold(ctx, buffer);
      return;
    }
    int from = buffer.readerIndex();
    if (inHead && !lineBegun) {
      from = skipLeadingBlanks(buffer, from);
    }
    int produced = out.size();
    super.decode(ctx, buffer, out);
    if (inHead) {
      // Netty consumes a head whole lines at a time and returns once the head is complete, so what
      // it consumed while in a head is head bytes only, never body.
      headBytes += buffer.readerIndex() - from;
    }
    for (int i = produced; i < out.size(); i++) {
      Object message = out.get(i);
      if (message instanceof HttpRequest request) {
        if (request.decoderResult() instanceof HttpMessageDecoderResult sizes && folded(sizes)) {
          // RFC 9112 §5.2: a server may replace obs-fold with SP (Netty does) or refuse with 400.
          request.setDecoderResult(DecoderResult.failure(new Refused(400, "obs-fold header line")));
          discarding = true;
        }
        inHead = false;
        lineBegun = false;
        headStartedNanos = 0;
        headBytes = 0;
        if (request.decoderResult().isSuccess()) {
          decoded++;
          upgradeAsked = webSocketUpgrade(request) && watchAnswer(ctx);
        } else {
          // Refused (400, 431, 505...), then closed. On an h2c listener Vert.x's upgrade handler, which reads the
          // first request before the connection is handed over, would switch to HTTP/2 on an Upgrade: h2c field,
          // refused or not.
          request.headers().remove(HttpHeaderNames.UPGRADE);
        }
      } else if (message instanceof HttpContent content && !content.decoderResult().isSuccess()) {
        // A malformed chunk: Vert.x would close the connection without an answer, and the proxy
        // would count the broken upload against the backend. The edge answers 400 instead.
        out.remove(i);
        ReferenceCountUtil.release(content);
        discarding = true;
        if (onMalformedBody != null) {
          onMalformedBody.run();
        } else {
          malformedUntold = true;
        }
        return;
      } else if (message instanceof LastHttpContent) {
        inHead = true;
        if (upgradeAsked) { // not answered while its body came
          upgradeAsked = false;
          upgrade = HOLDING;
        }
      }
    }
    if (upgrade != NOT_HOLDING) {
      hold(ctx, buffer);
    }
  }

  /**
   * Vert.x's test for a WebSocket upgrade ({@code HttpServerRequest.canUpgradeToWebSocket}), on Netty's request: a GET
   * in HTTP/1.1 whose Connection names upgrade and whose Upgrade names websocket. The gateway tunnels those.
   */
  private static boolean webSocketUpgrade(HttpRequest request) {
    if (request.protocolVersion() != HttpVersion.HTTP_1_1 || !io.netty.handler.codec.http.HttpMethod.GET.equals(request.method())) {
      return false;
    }
    HttpHeaders headers = request.headers();
    if (!headers.contains(HttpHeaderNames.UPGRADE)) {
      return false; // the usual request: one lookup, nothing allocated
    }
    for (String connection : headers.getAll(HttpHeaderNames.CONNECTION)) {
      if (AsciiString.containsIgnoreCase(connection, HttpHeaderNames.UPGRADE)) {
        for (String value : headers.getAll(HttpHeaderNames.UPGRADE)) {
          if (AsciiString.containsIgnoreCase(value, io.netty.handler.codec.http.HttpHeaderValues.WEBSOCKET)) {
            return true;
          }
        }
      }
    }
    return false;
  }

  /**
   * A WebSocket upgrade request's head has been read: its answer is watched from now on, as it may leave before the
   * request's body (if any) has come. Once the request has been read whole, what the client sends behind it is held,
   * not decoded, until that answer leaves. A client may write its first frame before the 101 (RFC 6455 §4.1 asks it
   * to wait; nginx passes such bytes on): decoded as HTTP, the frame would be taken for the start of a next request and
   * lost with the decoder when the connection switches. After a 101 the tunnel sends the held bytes to the backend
   * first ({@link #takeHeld}); after any other answer they are decoded as the requests that follow ({@link #resume}).
   */
  private boolean watchAnswer(ChannelHandlerContext ctx) {
    if (ctx.pipeline().get(VERTX_HANDLER) == null) {
      return false; // not the pipeline of Vert.x's HTTP/1 connection this was written for: decoded as before
    }
    ctx.pipeline().addBefore(VERTX_HANDLER, null, new UpgradeAnswerWatch(this));
    return true;
  }

  /** The name of Vert.x's connection handler in the pipeline (the one its upgrade to a NetSocket replaces). */
  private static final String VERTX_HANDLER = "handler";

  private void hold(ChannelHandlerContext ctx, ByteBuf buffer) {
    int n = buffer.readableBytes();
    if (n == 0) {
      return;
    }
    if ((held == null ? 0 : held.readableBytes()) + n > MAX_HELD) {
      buffer.skipBytes(n);
      held = null;
      discarding = true;
      ctx.close(); // a client sending this much before its upgrade is answered is not waiting for it
      return;
    }
    if (held == null) {
      held = io.netty.buffer.Unpooled.buffer(n); // on the heap: dropped with the connection, nothing to release
    }
    held.writeBytes(buffer);
  }

  /**
   * Vert.x has handed the gateway the next request this decoder passed on: Vert.x hands a pipelined request on only
   * once the answers before it have gone, so while one is held back an answer is not its.
   */
  void handedOn() {
    handedOn++;
  }

  /**
   * Whether a final answer now leaving is the upgrade request's: the upgrade is the last request passed on (nothing
   * is decoded behind it) and the gateway has been handed it, rather than an earlier one pipelined before it.
   */
  boolean answeringTheUpgrade() {
    return handedOn == decoded;
  }

  /** The upgrade's 101 is on its way: the bytes held go to the tunnel once Vert.x removes this decoder. */
  void switched() {
    if (upgrade == HOLDING || upgradeAsked) {
      upgradeAsked = false;
      upgrade = SWITCHED;
    }
  }

  /**
   * The upgrade was answered with something other than a 101: nothing more is held for it (the request's body may
   * still be on its way: what follows it is then decoded as usual), and what was held is decoded ({@link #resume}) on
   * a later event-loop tick, outside the read that may have brought the answer.
   */
  void refused(ChannelHandlerContext ctx) {
    upgradeAsked = false;
    if (upgrade == HOLDING) {
      ctx.executor().execute(this::resume);
    }
  }

  /**
   * The upgrade was answered with something other than a 101 (a refusal, the gateway's own answer): the bytes held,
   * if any, are decoded now as what follows that request. Runs on the connection's event loop, outside any read.
   */
  void resume() {
    if (upgrade != HOLDING) {
      return;
    }
    upgrade = NOT_HOLDING;
    ByteBuf bytes = held;
    held = null;
    if (bytes != null && context != null && !context.isRemoved() && context.channel().isActive()) {
      try {
        channelRead(context, bytes);
        channelReadComplete(context); // Vert.x flushes what it wrote at the read's end
      } catch (Exception e) {
        context.fireExceptionCaught(e);
      }
    }
  }

  @Override
  protected void handlerRemoved0(ChannelHandlerContext ctx) throws Exception {
    if (held != null && upgrade == SWITCHED && ctx.channel().isActive()) {
      ctx.channel().attr(HELD_BEFORE_SWITCH).set(held); // Vert.x removes the decoder as it switches to the tunnel
    }
    held = null;
    super.handlerRemoved0(ctx);
  }

  /** The bytes a client sent after its upgrade request and before the 101, for the tunnel; null: none. */
  static ByteBuf takeHeld(io.netty.channel.Channel channel) {
    return channel.hasAttr(HELD_BEFORE_SWITCH) ? channel.attr(HELD_BEFORE_SWITCH).getAndSet(null) : null;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
    context = ctx;
    super.handlerAdded(ctx);
  }

  /** When the head now arriving began (System.nanoTime), or 0 when no head is under way. */
  long headStartedNanos() {
    return headStartedNanos;
  }

  /**
   * A head not complete in time (a slow-header client): answers 408 and closes, lingering. Written from this
   * handler's place in the pipeline, below the HTTP encoder (no response object exists for a head
   * never decoded) and above TLS, which still encrypts it.
   */
  void refuseSlowHead() {
    discarding = true;
    headStartedNanos = 0;
    io.netty.channel.Channel channel = context.channel();
    context.writeAndFlush(slowHeadAnswer()).addListener(written -> lingeringClose(channel));
  }

  /**
   * The 408 a head not complete in time gets, as bytes (no response object exists for a head never decoded): also
   * what {@link AcceptGuard} answers on an h2c listener to a first head late before a router has the connection.
   */
  static ByteBuf slowHeadAnswer() {
    byte[] answer = (SLOW_HEAD_START + HttpDate.now() + SLOW_HEAD_END).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    return io.netty.buffer.Unpooled.wrappedBuffer(answer);
  }

  /**
   * An answer was written to a request whose body the gateway will not read (413 for its announced length, an
   * answer that came before the body did): whatever the client still sends is dropped, and the connection closes
   * lingering once the answer is out. Vert.x may have stopped reading for a body nobody took: reading resumes, so
   * that the client's FIN is seen.
   */
  void lingerAfterAnswer() {
    discarding = true;
    headStartedNanos = 0;
    io.netty.channel.Channel channel = context.channel();
    channel.config().setAutoRead(true);
    context.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER).addListener(written -> lingeringClose(channel));
  }

  /** How long a refused connection may keep sending (dropped unread) before it is closed anyway. */
  private static final long LINGER_MS = 2_000;

  /**
   * Closes after an error answer the way nginx's lingering close does: send FIN first, go on
   * reading and dropping what the client still sends, close when it closes or after
   * {@link #LINGER_MS}. Closing at once while the client's bytes sit unread makes the kernel answer
   * with a reset, which can destroy the answer before the client reads it (seen on io_uring, where
   * reads complete later than on epoll, with a client trickling its head).
   */
  static void lingeringClose(io.netty.channel.Channel channel) {
    if (!(channel instanceof io.netty.channel.socket.DuplexChannel duplex) || !channel.isActive()) {
      channel.close();
      return;
    }
    duplex.shutdownOutput().addListener(shut -> {
      if (!shut.isSuccess()) {
        channel.close();
        return;
      }
      io.netty.util.concurrent.ScheduledFuture<?> deadline = channel.eventLoop()
          .schedule(() -> channel.close(), LINGER_MS, java.util.concurrent.TimeUnit.MILLISECONDS);
      channel.closeFuture().addListener(closed -> deadline.cancel(false));
    });
  }

  /**
   * Netty skips control bytes and blanks before a request line (RFC 9112 §2.2 allows empty lines
   * there); they are not part of the head's lines. Usually the first byte is the method's.
   */
  private int skipLeadingBlanks(ByteBuf buffer, int from) {
    int to = buffer.writerIndex();
    while (from < to) {
      int b = buffer.getByte(from) & 0xff;
      if (b > ' ') { // Netty skips 0x00-0x20 (control bytes and blanks), nothing else
        lineBegun = true;
        headStartedNanos = System.nanoTime() | 1; // never 0 while a head is on its way
        break;
      }
      from++;
    }
    return from;
  }

  /**
   * Every line of a head ends in CRLF (Netty's strict line parsing refuses a bare LF), so the head
   * had (bytes - request line - header lines - 4) / 2 header lines; more than Netty started fields
   * with means some were continuations.
   */
  private boolean folded(HttpMessageDecoderResult sizes) {
    int lines = (headBytes - sizes.initialLineLength() - sizes.headerSize() - 4) / 2;
    return lines != fieldLines;
  }

  @Override
  protected HttpMessage createMessage(String[] initialLine) {
    hostLines = 0;
    lengthLines = 0;
    fieldLines = 0;
    emptyName = false;
    checkTarget(initialLine[0], initialLine[1]);
    String version = initialLine[2];
    if (!version.equals("HTTP/1.1") && !version.equals("HTTP/1.0")) {
      initialLine[2] = otherVersion(version);
    }
    return super.createMessage(initialLine);
  }

  /**
   * RFC 9112 §3.2: a request-target is URI characters only, without a fragment; userinfo is refused
   * (RFC 9110 §4.2.4). A target that is not origin-form ({@code /...}) must be absolute-form ({@code scheme://...}),
   * asterisk-form ({@code *}) or, for CONNECT, authority-form (those two are refused later, by method); anything else
   * ({@code x?u=http://a.example/}) is malformed, and its query must not pass for an authority; a CONNECT target
   * must be authority-form, nothing but {@code host:port}.
   */
  private static void checkTarget(String method, String target) {
    int n = target.length();
    if (n == 0) {
      throw new Refused(400, "empty request target");
    }
    for (int i = 0; i < n; i++) {
      char c = target.charAt(i);
      if (!targetChar(c)) {
        throw new Refused(400, "control, space or non-ASCII byte in the request target");
      }
      if (c == '#') { // no form of request-target has a fragment; a client keeps it to itself
        throw new Refused(400, "fragment in the request target");
      }
    }
    if (target.charAt(0) != '/') {
      if (target.equals("*")) {
        return;
      }
      if (method.equals("CONNECT")) {
        // authority-form: host:port and nothing else (RFC 9112 §3.2.3); refused later, as a request not served.
        for (int i = 0; i < n; i++) {
          char c = target.charAt(i);
          if (c == '/' || c == '?' || c == '@') {
            throw new Refused(400, "malformed request target");
          }
        }
        return;
      }
      int authority = schemeEnd(target);
      if (authority < 0) {
        throw new Refused(400, "malformed request target");
      }
      {
        int end = authority + 3;
        while (end < n && target.charAt(end) != '/' && target.charAt(end) != '?' && target.charAt(end) != '#') {
          if (target.charAt(end) == '@') {
            throw new Refused(400, "userinfo in the request target");
          }
          end++;
        }
      }
    }
  }
  /** Where {@code "://"} starts after a leading URI scheme (RFC 3986 §3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )), or -1. */
  /** Whether a request target may hold {@code c}: visible ASCII only (RFC 3986 has no other character). */
  static boolean targetChar(char c) {
    return c > ' ' && c < 0x7f;
  }

  private static int schemeEnd(String target) {
    int n = target.length();
    int i = 0;
    while (i < n) {
      char c = target.charAt(i);
      boolean alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
      if (!alpha && (i == 0 || !((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))) {
        break;
      }
      i++;
    }
    return i > 0 && target.startsWith("://", i) ? i : -1;
  }


  /**
   * A version other than HTTP/1.1 and HTTP/1.0 (Vert.x would answer 501, uncounted): a higher
   * HTTP/1 minor version is read as HTTP/1.1 (RFC 9110 §6.2), another major version gets 505, and
   * anything that is not HTTP/DIGIT.DIGIT 400.
   */
  private static String otherVersion(String version) {
    if (version.length() == 8 && version.startsWith("HTTP/") && isDigit(version.charAt(5))
        && version.charAt(6) == '.' && isDigit(version.charAt(7))) {
      if (version.charAt(5) == '1') {
        return "HTTP/1.1";
      }
      throw new Refused(505, "HTTP version not supported: " + version);
    }
    throw new Refused(400, "malformed HTTP version");
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  @Override
  protected AsciiString splitHeaderName(byte[] sb, int start, int length) {
    AsciiString name = super.splitHeaderName(sb, start, length);
    fieldLines++;
    if (length == 0) {
      emptyName = true;
    } else if (length == 4 && name.contentEqualsIgnoreCase(HttpHeaderNames.HOST)) {
      hostLines++;
    } else if (length == 14 && name.contentEqualsIgnoreCase(HttpHeaderNames.CONTENT_LENGTH)) {
      lengthLines++;
    }
    return name;
  }

  /**
   * Netty asks this once per head, after the headers and before it decides how the body is framed
   * (and, for chunked with a length, drops the length): the place to refuse a head. A refusal
   * becomes Netty's invalid request, which Vert.x answers and closes.
   */
  @Override
  protected boolean isContentAlwaysEmpty(HttpMessage message) {
    if (maxHeaderCount > 0 && fieldLines > maxHeaderCount) {
      throw new Refused(431, "more than " + maxHeaderCount + " header lines");
    }
    if (emptyName) {
      // RFC 9110 §5.1: a field name is a token, at least one character. Netty keeps ": x" as a field named "",
      // which the backend would get as it came.
      throw new Refused(400, "header line without a field name");
    }
    HttpHeaders headers = message.headers();
    HttpVersion version = message.protocolVersion();
    checkHost(headers, version);
    if (message instanceof HttpRequest request && request.uri().charAt(0) != '/') {
      absoluteForm(request.uri(), headers);
    }
    String coding = headers.get(HttpHeaderNames.TRANSFER_ENCODING);
    if (coding != null) {
      checkChunked(headers, version, coding);
    } else if (lengthLines > 1) {
      // Netty refuses several lengths in HTTP/1.1 but takes the first one in HTTP/1.0.
      throw new Refused(400, "more than one Content-Length");
    }
    return super.isContentAlwaysEmpty(message);
  }

  /**
   * RFC 9112 §3.2.2: with an absolute-form target ({@code http://a.example/x}) the Host field is ignored and replaced
   * by the target's authority, so that routes match, and the backend is told, the host the client named in its
   * target (as nginx does); an empty or malformed authority is refused. Other forms ({@code *}) are left alone.
   */
  private static void absoluteForm(String target, HttpHeaders headers) {
    int scheme = schemeEnd(target);
    if (scheme <= 0) {
      return;
    }
    int start = scheme + 3;
    int end = start;
    while (end < target.length() && target.charAt(end) != '/' && target.charAt(end) != '?') {
      end++;
    }
    String authority = target.substring(start, end);
    if (authority.isEmpty() || authority.charAt(0) == ':' || !HostAndPortImpl.isValidAuthority(authority)) {
      throw new Refused(400, "malformed authority in the request target");
    }
    if (zoned(authority)) {
      throw new Refused(400, "IPv6 zone id in the request target");
    }
    headers.set(HttpHeaderNames.HOST, withoutEmptyPort(authority));
  }

  /**
   * Whether {@code authority} (one Vert.x takes as valid) names an IPv6 address with a zone id, {@code [fe80::1%25eth0]}
   * or {@code [fe80::1%eth0]}, which Vert.x lets through: RFC 3986's and RFC 9110's hosts have none (RFC 6874's zone is
   * for a URI the client itself resolves; browsers refuse it), and nginx refuses it in a target. Allocation-free.
   */
  static boolean zoned(CharSequence authority) {
    if (authority.length() == 0 || authority.charAt(0) != '[') {
      return false;
    }
    for (int i = 1; i < authority.length() && authority.charAt(i) != ']'; i++) {
      if (authority.charAt(i) == '%') {
        return true;
      }
    }
    return false;
  }

  /**
   * {@code authority} without the {@code :} of an empty port ({@code a.example:}, {@code [::1]:}): RFC 3986's port
   * may be empty, and then there is none (nginx's {@code $host}). Vert.x parses it as port 0, which the backend was
   * sent ({@code Host: a.example:0}) and a rewritten redirect pointed at. Allocates only for such a value.
   */
  static String withoutEmptyPort(String authority) {
    int last = authority.length() - 1;
    return last > 0 && authority.charAt(last) == ':' ? authority.substring(0, last) : authority;
  }

  /** RFC 9112 §3.2: exactly one valid Host in HTTP/1.1, at most one in HTTP/1.0. */
  private void checkHost(HttpHeaders headers, HttpVersion version) {
    if (hostLines > 1) {
      throw new Refused(400, "more than one Host");
    }
    if (hostLines == 0) {
      if (version == HttpVersion.HTTP_1_1) {
        throw new Refused(400, "HTTP/1.1 request without Host");
      }
      return;
    }
    // Allocation-free form of the parse Vert.x does for request.authority().
    String host = headers.get(HttpHeaderNames.HOST);
    if (!HostAndPortImpl.isValidAuthority(host)) {
      throw new Refused(400, "malformed Host");
    }
    if (zoned(host)) {
      throw new Refused(400, "IPv6 zone id in Host");
    }
    String portless = withoutEmptyPort(host);
    if (portless != host) {
      headers.set(HttpHeaderNames.HOST, portless);
    }
  }

  /**
   * RFC 9112 §6.1-6.3: the body of a request with Transfer-Encoding is framed by it alone, so a
   * Content-Length beside it means two parsers may disagree on where the request ends (smuggling);
   * HTTP/1.0 has no Transfer-Encoding; a coding list not ending in chunked has no knowable length,
   * and other codings are not supported. So the only accepted value is one "chunked".
   */
  private static void checkChunked(HttpHeaders headers, HttpVersion version, String coding) {
    if (version != HttpVersion.HTTP_1_1) {
      throw new Refused(400, "Transfer-Encoding in HTTP/1.0");
    }
    if (headers.contains(HttpHeaderNames.CONTENT_LENGTH)) {
      throw new Refused(400, "Content-Length with Transfer-Encoding");
    }
    if (!CHUNKED.contentEqualsIgnoreCase(coding) || headers.getAll(HttpHeaderNames.TRANSFER_ENCODING).size() > 1) {
      throw new Refused(400, "Transfer-Encoding other than chunked");
    }
    if (!coding.equals("chunked")) {
      // Coding names are case-insensitive; the proxy terminal compares them exactly.
      headers.set(HttpHeaderNames.TRANSFER_ENCODING, CHUNKED);
    }
  }
}
