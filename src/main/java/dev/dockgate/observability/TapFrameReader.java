package dev.dockgate.observability;

import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;

/**
 * Cuts one bridge client's bytes into frames of the Vert.x TCP bridge protocol (a 4-byte big-endian length, then
 * that many bytes of JSON), holding at most one unfinished frame of at most {@code maxFrame} bytes. A longer length
 * is reported as soon as its 4 bytes are in, before any of its body is read, and the reader takes nothing after it.
 * Called on the client connection's event loop.
 */
final class TapFrameReader implements Handler<Buffer> {

  /** What the reader finds: whole frames, or a length over the bound (the last call it makes). */
  interface Frames {

    void frame(Buffer json);

    void tooLarge(long announced);
  }

  private final int maxFrame;
  private final Frames frames;
  private int headerBytes;
  private long announced;
  /** The frame being read: its length, and its bytes so far when it spans chunks (null while reading a length). */
  private int length = -1;
  private Buffer partial;
  private boolean stopped;

  TapFrameReader(int maxFrame, Frames frames) {
    this.maxFrame = maxFrame;
    this.frames = frames;
  }

  @Override
  public void handle(Buffer chunk) {
    int pos = 0;
    int end = chunk.length();
    while (pos < end && !stopped) {
      if (length < 0) {
        announced = announced << 8 | chunk.getByte(pos++) & 0xff;
        if (++headerBytes == 4) {
          startFrame();
        }
      } else {
        int have = partial == null ? 0 : partial.length();
        int take = Math.min(length - have, end - pos);
        if (partial == null && take == length) {
          finish(chunk.slice(pos, pos + take)); // the whole frame in this chunk: no copy
        } else {
          if (partial == null) {
            partial = Buffer.buffer(length);
          }
          partial.appendBuffer(chunk, pos, take);
          if (partial.length() == length) {
            finish(partial);
          }
        }
        pos += take;
      }
    }
  }

  /** Takes nothing more: the connection is going away. */
  void stop() {
    stopped = true;
  }

  private void startFrame() {
    long size = announced;
    headerBytes = 0;
    announced = 0;
    if (size > maxFrame) {
      stopped = true;
      frames.tooLarge(size);
    } else if (size == 0) {
      frames.frame(Buffer.buffer());
    } else {
      length = (int) size;
    }
  }

  private void finish(Buffer frame) {
    length = -1;
    partial = null;
    frames.frame(frame);
  }
}
