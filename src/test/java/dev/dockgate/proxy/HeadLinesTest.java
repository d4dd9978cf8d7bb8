package dev.dockgate.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The head lines a backend answer may have, and those that are no field, found in any split of the bytes. */
class HeadLinesTest {

  /** A head and what follows it (a body: never read as a head), and whether one of its lines is no field. */
  record Case(String head, boolean noField) {
    static Case of(String head, boolean noField) {
      return new Case(head, noField);
    }
  }

  static final List<Case> CASES = List.of(
      Case.of("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false),
      Case.of("HTTP/1.1 200 OK\r\nX-A : b\r\nX-B:\tc\r\nX-C:\r\n\r\n", false),
      Case.of("HTTP/1.1 200 OK\r\nX-A: b\r\n c\r\n\td\r\n\r\nBogus Line\r\n\r\n", false), // after the end: a body
      Case.of("HTTP/1.1 200 OK\nX-A: b\nContent-Length: 2\n\nok", false),
      Case.of("\r\n\r\nHTTP/1.1 200 OK\r\nX-A: b:c d\r\n\r\n", false), // blank lines before the status line
      Case.of("HTTP/1.1 200\r\nX-A: caf\u00e9\r\n\r\n", false),
      Case.of("HTTP/1.1 200 OK\r\nBogus Line\r\nContent-Length: 2\r\n\r\nok", true),
      Case.of("HTTP/1.1 200 OK\r\nBogusLine\r\n\r\n", true),
      Case.of("HTTP/1.1 200 OK\r\nX-A b: c\r\n\r\n", true),
      Case.of("HTTP/1.1 200 OK\r\nX-A \r\n\r\n", true),
      Case.of("HTTP/1.1 200 OK\nX-A\n\n", true),
      Case.of("HTTP/1.1 200 OK\r\nX-A: b\r\nX-B\t\tc:d\r\n\r\n", true));

  @Test
  void aLineThatIsNoFieldIsFoundWhetherTheHeadComesWholeOrAByteAtATime() {
    for (Case c : CASES) {
      byte[] bytes = c.head().getBytes(StandardCharsets.ISO_8859_1);
      for (int piece : new int[] {bytes.length, 1, 3}) {
        HeadLines lines = new HeadLines();
        lines.expectHead();
        ByteBuf buf = Unpooled.wrappedBuffer(bytes);
        for (int at = 0; at < bytes.length && lines.inHead(); at += piece) {
          lines.read(buf, at, Math.min(bytes.length, at + piece));
        }
        String what = c.head().replace("\r", "\\r").replace("\n", "\\n") + " in pieces of " + piece;
        assertEquals(c.noField(), lines.takeNoField(), what);
        assertEquals(false, lines.takeNoField(), what + ": said once");
        assertEquals(false, lines.inHead(), what + ": the head's end, or its bad line, is found");
      }
    }
  }
}
