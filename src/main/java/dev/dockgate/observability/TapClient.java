package dev.dockgate.observability;

import dev.dockgate.config.TapConfig;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Logger;

/**
 * One client of the event-bus bridge: reads its frames (at most {@link #MAX_FRAME} bytes each), answers them as the
 * Vert.x TCP bridge does for an outbound-only bridge, and writes the events of the addresses it registered on. Its
 * outbound queue is bounded ({@link #MAX_QUEUE}): while it is full, events for the client are dropped and counted,
 * and its own frames are not read. A client that sends no frame for {@code idle_timeout_ms} is told
 * {@code idle_timeout} and closed (a {@code ping} keeps it). Events whose body is not JSON are dropped, the client
 * told once per address. Called on the bridge's event loop.
 */
final class TapClient {

  private static final Logger LOG = Logger.getLogger(EventBusTapVerticle.class.getName());
  /** The longest frame a client may send: a register frame is well under 1 KiB. */
  static final int MAX_FRAME = 64 * 1024;
  /** Bytes queued for a client beyond what its socket takes, past which its events are dropped. */
  static final int MAX_QUEUE = 256 * 1024;
  private static final byte[] PONG = frame(new JsonObject().put("type", "pong")).getBytes();
  private static final byte[] IDLE = frame(new JsonObject().put("type", "err").put("message", "idle_timeout"))
      .getBytes();
  /** The pieces of a message frame after its type and address, in the Vert.x bridge's order. */
  private static final byte[] REPLY_ADDRESS = bytes(",\"replyAddress\":");
  private static final byte[] HEADERS = bytes(",\"headers\":");
  private static final byte[] NO_HEADERS = bytes(",\"headers\":{}");
  private static final byte[] BODY = bytes(",\"body\":");
  private static final byte[] SENT = bytes(",\"send\":true}");
  private static final byte[] PUBLISHED = bytes(",\"send\":false}");
  /** A repeated registration's refusal, in the words of the Vert.x bridge that refused it before. */
  private static final String ALREADY_REGISTERED = "blocked by bridgeEvent handler";

  private final Vertx vertx;
  private final NetSocket socket;
  private final List<String> permitted;
  private final TapClients clients;
  private final long idleTimeoutMs;
  private final SocketAddress client;
  private final TapFrameReader reader = new TapFrameReader(MAX_FRAME, new TapFrameReader.Frames() {
    @Override
    public void frame(Buffer json) {
      onFrame(json);
    }

    @Override
    public void tooLarge(long announced) {
      refuse(announced);
    }
  });
  /** One consumer per address: a second would send each event once more. */
  private final Map<String, MessageConsumer<Object>> registered = new HashMap<>();
  /** The addresses whose bodies were not JSON, the client told (null until one is). */
  private Set<String> toldNotJson;
  /** When the client's last frame came (its connection's start before one), and the idle check's timer (-1: none). */
  private long lastFrame;
  private long idleTimer = -1;
  private final Handler<Long> checkIdle = id -> checkIdle();
  private boolean reported;
  private boolean paused;
  private boolean dropping;
  /** Events dropped since the last report of them, and when a falling behind may be said again. */
  private long dropped;
  private boolean episodeReported;
  private final LogPace reports = LogPace.perMinute();

  TapClient(Vertx vertx, NetSocket socket, TapConfig config, TapClients clients) {
    this.vertx = vertx;
    this.socket = socket;
    this.permitted = config.addresses();
    this.clients = clients;
    this.idleTimeoutMs = config.idleTimeoutMs();
    this.client = socket.remoteAddress();
    lastFrame = System.nanoTime();
    if (idleTimeoutMs > 0) {
      idleTimer = vertx.setTimer(idleTimeoutMs, checkIdle);
    }
    socket.setWriteQueueMaxSize(MAX_QUEUE);
    socket.handler(reader);
    socket.drainHandler(v -> onDrain());
    socket.exceptionHandler(err -> {
      leave(err.getMessage());
      socket.close();
    });
    socket.closeHandler(v -> {
      registered.values().forEach(MessageConsumer::unregister);
      registered.clear();
      if (idleTimer >= 0) {
        vertx.cancelTimer(idleTimer);
        idleTimer = -1;
      }
      clients.left();
      if (!clients.stopping()) {
        leave("connection closed");
      }
    });
  }

  private void onFrame(Buffer json) {
    lastFrame = System.nanoTime();
    JsonObject frame;
    try {
      frame = new JsonObject(json);
    } catch (DecodeException | ClassCastException e) {
      reply("invalid_json");
      return;
    }
    String type = frame.getValue("type") instanceof String s ? s : "";
    String address = frame.getValue("address") instanceof String s ? s : null;
    switch (type) {
      case "ping" -> answer(Buffer.buffer(PONG));
      case "register", "unregister", "send", "publish" -> {
        if (address == null) {
          reply("missing_address");
        } else if (type.equals("send") || type.equals("publish") || !permitted.contains(address)) {
          reply("access_denied"); // outbound only: nothing may be sent or published in
        } else if (type.equals("register")) {
          register(address);
        } else {
          unregister(address);
        }
      }
      default -> reply("unknown_type");
    }
  }

  private void register(String address) {
    if (registered.containsKey(address)) {
      reply(ALREADY_REGISTERED);
      return;
    }
    Buffer head = Buffer.buffer("{\"type\":\"message\",\"address\":").appendBuffer(Json.encodeToBuffer(address));
    registered.put(address, vertx.eventBus().localConsumer(address, msg -> onEvent(head, msg)));
  }

  private void unregister(String address) {
    MessageConsumer<Object> consumer = registered.remove(address);
    if (consumer == null) {
      reply("unknown_address");
    } else {
      consumer.unregister();
    }
  }

  /** An event for the client: written as the Vert.x bridge wrote it, or dropped while the client's queue is full. */
  private void onEvent(Buffer head, Message<Object> msg) {
    if (socket.writeQueueFull()) {
      dropped++;
      if (!dropping) {
        dropping = true;
        episodeReported = reports.due(System.nanoTime());
        if (episodeReported) {
          LOG.warning("event-bus bridge client " + client + " falls behind: its events are dropped while over "
              + MAX_QUEUE / 1024 + " KiB wait for it");
        }
      }
      return;
    }
    Buffer body;
    try {
      body = msg.body() == null ? null : Json.encodeToBuffer(msg.body());
    } catch (RuntimeException notJson) { // EncodeException: a local-only address's object (no Jackson Databind here)
      notJson(msg);
      return;
    }
    Buffer frame = Buffer.buffer(head.length() + (body == null ? 0 : body.length()) + 64).appendInt(0).appendBuffer(head);
    if (msg.replyAddress() != null) {
      frame.appendBytes(REPLY_ADDRESS).appendBuffer(Json.encodeToBuffer(msg.replyAddress()));
    }
    if (msg.headers().isEmpty()) {
      frame.appendBytes(NO_HEADERS);
    } else {
      JsonObject headers = new JsonObject();
      msg.headers().forEach(headers::put);
      frame.appendBytes(HEADERS).appendBuffer(headers.toBuffer());
    }
    if (body != null) {
      frame.appendBytes(BODY).appendBuffer(body);
    }
    frame.appendBytes(msg.isSend() ? SENT : PUBLISHED);
    socket.write(frame.setInt(0, frame.length() - 4));
  }

  /** An event whose body has no JSON form: dropped, the log and the client told once for its address. */
  private void notJson(Message<Object> msg) {
    clients.notJson(msg.address(), msg.body());
    if (toldNotJson == null) {
      toldNotJson = new HashSet<>();
    }
    if (toldNotJson.add(msg.address())) {
      socket.write(frame(new JsonObject().put("type", "err").put("message", "body_not_json")
          .put("address", msg.address())));
    }
  }

  /** The idle timer: the client is closed if no frame came for idle_timeout_ms, else checked again then. */
  private void checkIdle() {
    long idleMs = (System.nanoTime() - lastFrame) / 1_000_000;
    if (idleMs < idleTimeoutMs) {
      idleTimer = vertx.setTimer(idleTimeoutMs - idleMs, checkIdle);
      return;
    }
    idleTimer = -1;
    leave("it sent no frame for " + idleTimeoutMs + " ms (idle_timeout_ms)");
    if (!socket.writeQueueFull()) {
      socket.write(Buffer.buffer(IDLE));
    }
    socket.close();
  }

  private void onDrain() {
    if (paused) {
      paused = false;
      socket.resume();
    }
    if (dropping) {
      dropping = false;
      if (episodeReported) {
        LOG.info("event-bus bridge client " + client + " catches up: " + dropped + " event"
            + (dropped == 1 ? "" : "s") + " dropped while its queue was full");
        dropped = 0;
      }
    }
  }

  private void reply(String error) {
    answer(frame(new JsonObject().put("type", "err").put("message", error)));
  }

  /** An answer to the client's own frame; while it does not read them, its frames are not read either. */
  private void answer(Buffer frame) {
    socket.write(frame);
    if (socket.writeQueueFull() && !paused) {
      paused = true;
      socket.pause();
    }
  }

  /** A frame over the bound: refused without reading its body, and the connection closed. */
  private void refuse(long announced) {
    socket.pause();
    leave("it announced a frame of " + announced + " bytes, over the limit of " + MAX_FRAME);
    socket.end(frame(new JsonObject().put("type", "err").put("message", "frame_too_large")));
  }

  /** The one report of the client leaving, with the drops not yet said. */
  private void leave(String why) {
    reader.stop();
    if (!reported) {
      reported = true;
      LOG.info("event-bus bridge client " + client + " left: " + why
          + (dropped > 0 ? " (" + dropped + " more of its events dropped)" : ""));
    }
  }

  private static Buffer frame(JsonObject json) {
    byte[] bytes = bytes(json.encode());
    return Buffer.buffer(bytes.length + 4).appendInt(bytes.length).appendBytes(bytes);
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
