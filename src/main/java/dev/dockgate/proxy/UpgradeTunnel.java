package dev.dockgate.proxy;

import dev.dockgate.config.BackendConfig;
import dev.dockgate.events.TrafficEvent;
import dev.dockgate.pipeline.Exchange;
import dev.dockgate.resilience.UpstreamFailure;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.net.ConnectOptions;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeoutException;

/**
 * HTTP/1.1 upgrades (WebSocket) carried on raw TCP to the backend: the gateway writes the upgrade
 * request itself, reads the backend's answer head itself, and then either switches both sides to a
 * byte tunnel — handing the client every byte the backend sent after its 101 head, a greeting or a
 * ping in the same segment included — or relays a refusal with its body. One per route and router,
 * on its event loop.
 */
final class UpgradeTunnel {

  /** A backend's answer head larger than this is not an HTTP head: 502. */
  private static final int MAX_HEAD = 64 * 1024;

  /** How long a tunnel's end may take none of what it is still owed once the tunnel closes (see {@link #closeWithin}). */
  static final long CLOSE_GRACE_MS = 2_000;

  private final Vertx vertx;
  private final NetClient client;
  private final long connectTimeoutMs;
  private final long headTimeoutMs;
  private final String backend;

  UpgradeTunnel(Vertx vertx, NetClient client, BackendConfig backend, long headTimeoutMs) {
    this.vertx = vertx;
    this.client = client;
    this.backend = backend.name();
    this.connectTimeoutMs = backend.connectTimeoutMs();
    this.headTimeoutMs = headTimeoutMs;
  }

  /** The raw client of a backend's tunnels, with its TLS settings (one per backend and router, see BackendClients). */
  static NetClient client(Vertx vertx, BackendConfig.UpstreamTls tls) {
    NetClientOptions options = new NetClientOptions().setTcpNoDelay(true);
    if (tls.verify()) {
      options.setHostnameVerificationAlgorithm("HTTPS");
    } else {
      options.setTrustAll(true);
    }
    if (tls.caFile() != null) {
      options.setTrustOptions(new PemTrustOptions().addCertPath(tls.caFile()));
    }
    if (tls.certFile() != null) {
      options.setKeyCertOptions(new PemKeyCertOptions().setCertPath(tls.certFile()).setKeyPath(tls.keyFile()));
    }
    return vertx.createNetClient(options);
  }

  /** The backend's answer head, and the bytes that came after it in the same reads. */
  record Answer(int status, MultiMap headers, Buffer rest, NetSocket socket) {
  }

  /**
   * Connects to {@code upstream}, sends the upgrade request and reads the answer's head (a breaker's operation).
   * When the client leaves first ({@code out} closes), the backend connection is closed at once and the request
   * fails as the client's ({@link UpstreamFailure.ClientGone}: never counted against the instance).
   */
  Future<Answer> request(Upstream upstream, io.vertx.core.net.HostAndPort origin, String head, String key,
      HttpServerResponse out) {
    ConnectOptions connect = new ConnectOptions().setRemoteAddress(upstream.address())
        .setTimeout((int) Math.min(Integer.MAX_VALUE, connectTimeoutMs));
    if (upstream.instance().tls()) {
      connect.setSsl(true).setHost(origin.host()).setPort(origin.port()).setSniServerName(origin.host());
    }
    return client.connect(connect).compose(socket -> {
      if (socket instanceof io.vertx.core.internal.net.NetSocketInternal internal) {
        TunnelEnd.install(internal.channelHandlerContext().channel(), socket); // its last bytes before its close, whole
      }
      if (out.closed()) {
        socket.close();
        return Future.failedFuture(new UpstreamFailure.ClientGone(backend, null));
      }
      return readHead(socket, head, key, out);
    });
  }

  private Future<Answer> readHead(NetSocket socket, String head, String key, HttpServerResponse out) {
    Promise<Answer> answer = Promise.promise();
    Buffer[] held = {Buffer.buffer()}; // what came of the answer so far, past any interim answer
    long timer = vertx.setTimer(headTimeoutMs, id -> {
      socket.close();
      answer.tryFail(new TimeoutException("no answer to the upgrade within " + headTimeoutMs + " ms"));
    });
    out.closeHandler(v -> { // the client left while the backend was answering: so does the backend connection
      vertx.cancelTimer(timer);
      socket.close();
      answer.tryFail(new UpstreamFailure.ClientGone(backend, null));
    });
    answer.future().onComplete(settled -> out.closeHandler(null));
    socket.handler(data -> {
      Buffer received = held[0].appendBuffer(data);
      int end = headEnd(received);
      while (end > 0 && interim(received)) {
        // 100, 102, 103 or another 1xx before the answer: read past it, as the proxied path does
        received = held[0] = received.getBuffer(end, received.length());
        end = headEnd(received);
      }
      if (end < 0 && received.length() <= MAX_HEAD) {
        return;
      }
      vertx.cancelTimer(timer);
      socket.pause();
      socket.handler(null);
      if (end < 0) {
        socket.close();
        answer.tryFail(new io.vertx.core.VertxException("backend's answer head larger than " + MAX_HEAD + " bytes", true));
        return;
      }
      try {
        Answer parsed = parse(received.getBuffer(0, end), received.getBuffer(end, received.length()), socket);
        String refused = parsed.status() == 101 ? notWebSocket(parsed.headers(), key) : null;
        if (refused != null) {
          socket.close();
          answer.tryFail(new io.vertx.core.VertxException("101 Switching Protocols " + refused, true));
          return;
        }
        answer.tryComplete(parsed);
      } catch (IllegalArgumentException e) {
        socket.close();
        answer.tryFail(new io.vertx.core.VertxException("malformed answer head from the backend: " + e.getMessage(), true));
      }
    });
    socket.closeHandler(v -> {
      vertx.cancelTimer(timer);
      answer.tryFail(new io.vertx.core.http.HttpClosedException("connection closed before the answer's head"));
    });
    socket.exceptionHandler(err -> answer.tryFail(err));
    socket.write(head);
    return answer.future();
  }

  /**
   * Why a backend's 101 is no switch to the WebSocket the client asked for, or null: its {@code Upgrade} must name
   * {@code websocket} (RFC 9110 §7.8: the protocol switched to, one the client offered) and its
   * {@code Sec-WebSocket-Accept} must answer the client's key (RFC 6455 §4.2.2). Otherwise the tunnel would give the
   * client a raw connection to whatever answered 101 (an endpoint that echoes a status, another protocol), past the
   * gateway's routing: the smuggling that proxies checking the status alone allowed. A client fails such a
   * handshake itself (RFC 6455 §4.1), so no working WebSocket is refused.
   */
  static String notWebSocket(MultiMap headers, String key) {
    String upgrade = headers.get(HttpHeaders.UPGRADE);
    if (upgrade == null || !upgrade.trim().equalsIgnoreCase("websocket")) {
      return upgrade == null ? "without Upgrade" : "to \"" + upgrade + "\", not the websocket asked for";
    }
    String accept = headers.get("Sec-WebSocket-Accept");
    if (key == null || accept == null || !accept.trim().equals(accept(key.trim()))) {
      return "without the Sec-WebSocket-Accept of the client's key";
    }
    return null;
  }

  /** The Sec-WebSocket-Accept that answers {@code key} (RFC 6455 §4.2.2). */
  static String accept(String key) {
    try {
      return java.util.Base64.getEncoder().encodeToString(java.security.MessageDigest.getInstance("SHA-1")
          .digest((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").getBytes(StandardCharsets.ISO_8859_1)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-1 is required of every JDK", e);
    }
  }

  /** Whether the head at the start of {@code b} is an interim answer (a 1xx status but 101, a switch). */
  static boolean interim(Buffer b) {
    String start = b.getString(0, Math.min(b.length(), 16), "ISO-8859-1"); // "HTTP/1.1 102 ..."
    int space = start.indexOf(' ');
    if (space < 0 || space + 4 > start.length()) {
      return false;
    }
    String code = start.substring(space + 1, space + 4);
    return code.charAt(0) == '1' && Character.isDigit(code.charAt(1)) && Character.isDigit(code.charAt(2))
        && !code.equals("101");
  }

  /** Where the head ends (after its blank line, CRLF or bare LF), or -1. */
  static int headEnd(Buffer b) {
    for (int i = 0; i < b.length(); i++) {
      if (b.getByte(i) == '\n') {
        if (i + 1 < b.length() && b.getByte(i + 1) == '\n') {
          return i + 2;
        }
        if (i + 2 < b.length() && b.getByte(i + 1) == '\r' && b.getByte(i + 2) == '\n') {
          return i + 3;
        }
      }
    }
    return -1;
  }

  static Answer parse(Buffer head, Buffer rest, NetSocket socket) {
    String[] lines = head.toString(StandardCharsets.ISO_8859_1).split("\r?\n");
    String[] status = lines[0].split(" ", 3);
    if (status.length < 2 || !status[0].startsWith("HTTP/1.")) {
      throw new IllegalArgumentException("status line \"" + lines[0] + "\"");
    }
    int code;
    try {
      code = Integer.parseInt(status[1]);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("status \"" + status[1] + "\"");
    }
    if (code < 100 || code > 599 || status[1].length() != 3) { // RFC 9110 §15
      throw new IllegalArgumentException("status \"" + status[1] + "\" out of HTTP's range");
    }
    MultiMap headers = HttpHeaders.headers();
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      if (colon > 0) {
        headers.add(lines[i].substring(0, colon).trim(), lines[i].substring(colon + 1).trim());
      } else if (!lines[i].isEmpty()) {
        throw new IllegalArgumentException("header line \"" + lines[i] + "\"");
      }
    }
    return new Answer(code, headers, rest, socket);
  }

  /**
   * Switches to a tunnel after a 101: the client gets the backend's head (less its hop-by-hop
   * headers but Upgrade and Connection) and then every byte the backend sends, the ones already
   * read included. {@code closed} runs once, when the tunnel closes.
   */
  Future<Void> switchProtocols(Exchange exchange, Answer answer, Runnable closed) {
    HttpServerRequest request = exchange.request();
    if (request.response().closed()) {
      // The client left while the backend was answering (already counted 499): nothing to switch.
      answer.socket().close();
      closed.run();
      return Future.succeededFuture();
    }
    HttpServerResponse response = request.response().setStatusCode(101);
    copyHeaders(answer.headers(), response.headers(), true);
    response.putHeader(TrafficEvent.REQUEST_ID_HEADER, exchange.requestId());
    NetSocket backend = answer.socket();
    return request.toNetSocket().map(clientSocket -> {
      exchange.finish(101);
      if (answer.rest().length() > 0) {
        clientSocket.write(answer.rest());
      }
      boolean[] once = new boolean[1];
      Runnable close = () -> {
        if (!once[0]) {
          once[0] = true;
          closeWithin(clientSocket);
          closeWithin(backend);
          closed.run();
        }
      };
      clientSocket.closeHandler(v -> close.run());
      clientSocket.exceptionHandler(err -> close.run());
      if (clientSocket instanceof io.vertx.core.internal.net.NetSocketInternal client
          && backend instanceof io.vertx.core.internal.net.NetSocketInternal server) {
        // A side the tunnel stops reading (back-pressure from the other) is still seen to reset its connection.
        io.vertx.core.Context context = vertx.getOrCreateContext();
        Runnable gone = () -> context.runOnContext(v -> close.run());
        io.netty.channel.Channel toClient = client.channelHandlerContext().channel();
        io.netty.channel.Channel toBackend = server.channelHandlerContext().channel();
        PausedSide.install(toClient, toBackend, gone);
        PausedSide.install(toBackend, toClient, gone);
      }
      Buffer early = dev.dockgate.edge.EdgeGuard.heldBeforeSwitch(clientSocket);
      if (early != null) {
        backend.write(early); // what the client sent before the 101, ahead of what it sends after
      }
      clientSocket.pipeTo(backend);
      // The backend's end (or failure) closes the tunnel once what it sent before has been written to the client:
      // its close handler would run ahead of the bytes the socket still holds for a slower client.
      backend.pipeTo(clientSocket).onComplete(v -> close.run());
      backend.resume();
      return (Void) null;
    }).onFailure(err -> {
      backend.close();
      closed.run();
    });
  }

  /**
   * Closes one end of a tunnel once what it is still owed has been written, or once it has taken none of it for
   * {@link #CLOSE_GRACE_MS}: Vert.x's close waits for those bytes, so a peer that reads nothing (a backend stuck, a
   * client gone silent) kept its connection, and the bytes queued for it, for as long as it stayed connected; at
   * SIGTERM the process then waited for it until its watchdog and exited 1. A slow peer still taking them keeps its
   * connection until they are all written; one that takes nothing has it closed, the rest dropped.
   */
  private static void closeWithin(NetSocket socket) {
    socket.close();
    if (socket instanceof io.vertx.core.internal.net.NetSocketInternal internal) {
      io.netty.channel.ChannelHandlerContext vertx = internal.channelHandlerContext();
      vertx.executor().execute(() -> closeIfStalled(vertx, pending(vertx.channel())));
    }
  }

  /** Closes the channel if, {@link #CLOSE_GRACE_MS} from now, what it owes has not moved from {@code before} bytes. */
  private static void closeIfStalled(io.netty.channel.ChannelHandlerContext vertx, long before) {
    if (!vertx.channel().isOpen()) {
      return;
    }
    vertx.executor().schedule(() -> {
      long now = pending(vertx.channel());
      if (now == before) {
        // From Vert.x's own handler on: a close through the whole pipeline would wait behind those bytes again.
        vertx.close();
      } else {
        closeIfStalled(vertx, now);
      }
    }, CLOSE_GRACE_MS, java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  /** The bytes queued in {@code channel} and not yet written, or -1 once it is closed. */
  private static long pending(io.netty.channel.Channel channel) {
    io.netty.channel.ChannelOutboundBuffer out = channel.unsafe().outboundBuffer();
    return out == null ? -1 : out.totalPendingWriteBytes();
  }

  /**
   * Relays a refused upgrade (any status but 101) with its body, then closes the backend connection.
   * A body known to be cut (a declared length not reached, a chunked body without its last chunk, when
   * the backend closes; any body not ended within the wait), a length that is no length and a body
   * over {@link #MAX_HEAD} get 502 instead, never a shorter body that would look whole; a body
   * delimited by the close is whole when it closes.
   */
  void refuse(Exchange exchange, Answer answer, String backend, Runnable closed) {
    NetSocket backendSocket = answer.socket();
    Buffer body = answer.rest().copy();
    String length = answer.headers().get(HttpHeaders.CONTENT_LENGTH);
    boolean chunked = "chunked".equalsIgnoreCase(answer.headers().get(HttpHeaders.TRANSFER_ENCODING));
    long expected = length == null || chunked ? -1 : parseLength(length);
    boolean delimitedByClose = !chunked && length == null;
    Promise<Buffer> complete = Promise.promise();
    if (answer.status() == 204 || answer.status() == 304) {
      complete.tryComplete(Buffer.buffer()); // no body, whatever the head says
    } else if (length != null && !chunked && expected < 0) {
      complete.tryFail(new IllegalArgumentException("Content-Length \"" + length + "\""));
    }
    Runnable check = () -> {
      if (expected >= 0 && body.length() >= expected) {
        complete.tryComplete(body.getBuffer(0, (int) expected));
      } else if (chunked && dechunk(body) != null) {
        complete.tryComplete(dechunk(body));
      }
    };
    if (expected > MAX_HEAD) {
      complete.tryFail(new IllegalArgumentException("a refusal's body of " + expected + " bytes, over " + MAX_HEAD));
    }
    // A body not ended within the wait is cut, whatever delimits it: never sent on as if whole.
    long timer = vertx.setTimer(headTimeoutMs,
        id -> complete.tryFail(new TimeoutException("the refusal's body did not end within " + headTimeoutMs + " ms")));
    backendSocket.handler(data -> {
      if (body.length() + data.length() > MAX_HEAD + 64) { // (a chunked body's framing beyond MAX_HEAD itself)
        complete.tryFail(new IllegalArgumentException("a refusal's body over " + MAX_HEAD + " bytes"));
        return;
      }
      body.appendBuffer(data);
      check.run();
    });
    backendSocket.closeHandler(v -> {
      Buffer decoded = chunked ? dechunk(body) : null;
      if (delimitedByClose) {
        complete.tryComplete(body);
      } else if (decoded != null) {
        complete.tryComplete(decoded);
      } else {
        complete.tryFail(new io.vertx.core.http.HttpClosedException("the refusal's body was cut short"));
      }
    });
    check.run();
    backendSocket.resume();
    complete.future().onComplete(ar -> {
      vertx.cancelTimer(timer);
      backendSocket.close();
      if (ar.failed()) {
        UpstreamFailure failure = new UpstreamFailure.BadGateway(backend, ar.cause());
        exchange.answer(failure.status(), Buffer.buffer(failure.getMessage() + "\n"), null);
        closed.run();
        return;
      }
      HttpServerResponse response = exchange.request().response();
      copyHeaders(answer.headers(), response.headers(), false);
      response.headers().remove(HttpHeaders.CONTENT_LENGTH).remove(HttpHeaders.TRANSFER_ENCODING);
      exchange.answer(answer.status(), ar.result(), null);
      closed.run();
    });
  }

  private static long parseLength(String text) {
    try {
      return Long.parseLong(text.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** The body of a complete chunked encoding, or null while it is incomplete. */
  static Buffer dechunk(Buffer encoded) {
    Buffer out = Buffer.buffer();
    int i = 0;
    while (true) {
      int lineEnd = indexOf(encoded, i, '\n');
      if (lineEnd < 0) {
        return null;
      }
      String sizeLine = encoded.getString(i, lineEnd, "ISO-8859-1").trim();
      int semi = sizeLine.indexOf(';');
      int size;
      try {
        size = Integer.parseInt(semi < 0 ? sizeLine : sizeLine.substring(0, semi), 16);
      } catch (NumberFormatException e) {
        return null;
      }
      int start = lineEnd + 1;
      if (size == 0) {
        return out;
      }
      if (encoded.length() < start + size) {
        return null;
      }
      out.appendBuffer(encoded.getBuffer(start, start + size));
      int next = indexOf(encoded, start + size, '\n');
      if (next < 0) {
        return null;
      }
      i = next + 1;
    }
  }

  private static int indexOf(Buffer b, int from, char c) {
    for (int i = from; i < b.length(); i++) {
      if (b.getByte(i) == c) {
        return i;
      }
    }
    return -1;
  }

  /** The backend's headers toward the client: no hop-by-hop ones, but a 101's Upgrade and Connection. */
  private static void copyHeaders(MultiMap from, MultiMap to, boolean switching) {
    for (java.util.Map.Entry<String, String> header : from) {
      String name = header.getKey();
      boolean keep = switching && (name.equalsIgnoreCase("upgrade") || name.equalsIgnoreCase("connection"));
      if (keep || !HeaderPolicy.hopByHop(name)) {
        to.add(name, header.getValue());
      }
    }
  }
}
