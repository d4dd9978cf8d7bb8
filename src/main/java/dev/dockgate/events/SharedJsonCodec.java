package dev.dockgate.events;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.eventbus.MessageCodec;
import io.vertx.core.json.JsonObject;

/**
 * Delivers a JsonObject to local consumers as the same instance instead of a copy per consumer,
 * which the default codec makes. Publishers never touch an event after publishing it, and consumers
 * must treat it as read-only. On the wire (a cluster) it is plain JSON, as with the default codec.
 */
public final class SharedJsonCodec implements MessageCodec<JsonObject, JsonObject> {

  public static final String NAME = "gateway.shared-json";

  /** Registers the codec once per Vert.x instance; later calls do nothing. */
  public static void register(EventBus eventBus) {
    try {
      eventBus.registerCodec(new SharedJsonCodec());
    } catch (IllegalStateException alreadyRegistered) {
      // another verticle of this Vert.x instance registered it first
    }
  }

  @Override
  public void encodeToWire(Buffer buffer, JsonObject json) {
    Buffer encoded = json.toBuffer();
    buffer.appendInt(encoded.length());
    buffer.appendBuffer(encoded);
  }

  @Override
  public JsonObject decodeFromWire(int pos, Buffer buffer) {
    int length = buffer.getInt(pos);
    return new JsonObject(buffer.slice(pos + 4, pos + 4 + length));
  }

  @Override
  public JsonObject transform(JsonObject json) {
    return json;
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public byte systemCodecID() {
    return -1;
  }
}
