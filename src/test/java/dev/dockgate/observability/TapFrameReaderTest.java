package dev.dockgate.observability;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.buffer.Buffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TapFrameReaderTest {

  /** What a reader with a 16-byte bound found: each frame's text, or "too large: N". */
  private final List<String> found = new ArrayList<>();
  private final TapFrameReader reader = new TapFrameReader(16, new TapFrameReader.Frames() {
    @Override
    public void frame(Buffer json) {
      found.add(json.toString());
    }

    @Override
    public void tooLarge(long announced) {
      found.add("too large: " + announced);
    }
  });

  private static Buffer frame(String text) {
    return Buffer.buffer().appendInt(text.length()).appendString(text);
  }

  /** Feeds {@code bytes} in chunks of {@code size} bytes. */
  private void feed(Buffer bytes, int size) {
    for (int i = 0; i < bytes.length(); i += size) {
      reader.handle(bytes.getBuffer(i, Math.min(bytes.length(), i + size)));
    }
  }

  @Test
  void framesComeWholeHoweverTheBytesAreCut() {
    Buffer bytes = frame("{\"a\":1}").appendBuffer(frame("")).appendBuffer(frame("{\"type\":\"ping\"}"));
    for (int size : new int[] {1, 2, 3, 5, 7, 11, bytes.length()}) {
      found.clear();
      feed(bytes, size);
      assertEquals(List.of("{\"a\":1}", "", "{\"type\":\"ping\"}"), found, "chunks of " + size);
    }
  }

  @Test
  void aFrameOfTheBoundIsTakenOneByteMoreIsRefusedFromItsLengthAlone() {
    feed(frame("0123456789abcdef"), 1);
    reader.handle(Buffer.buffer().appendInt(17));
    reader.handle(Buffer.buffer("{\"type\":\"ping\"}").appendBuffer(frame("{}")));
    assertEquals(List.of("0123456789abcdef", "too large: 17"), found, "nothing is read after the refusal");
  }

  @Test
  void aLengthIsUnsignedSoTheLargestIsRefusedToo() {
    reader.handle(Buffer.buffer().appendInt(-1).appendString("{}"));
    assertEquals(List.of("too large: 4294967295"), found);
  }

  @Test
  void aStoppedReaderTakesNothing() {
    reader.handle(Buffer.buffer().appendInt(2).appendString("{"));
    reader.stop();
    reader.handle(Buffer.buffer("}").appendBuffer(frame("{}")));
    assertEquals(List.of(), found);
  }
}
