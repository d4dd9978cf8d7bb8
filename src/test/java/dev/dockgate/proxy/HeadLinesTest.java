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
      Case.of("HTTP/1.1 200 OK\r\nBogusLine\r\nX-A b: c\r\n\r\n", true),
      Case.of("HTTP/1.1 200 OK\r\nX-A b: c\r\n\r\n", true),
      Case.of("HTTP/1.1 200 OK\r\nX-A \r\n\r\n", true),
      Case.of("HTTP/1.1 200 OK\nX-A\n\n", false), // one word, no colon: a field with no value (as nginx reads it)
      Case.of("HTTP/1.1 200 OK\r\nX-A: b\r\nX-B\t\tc:d\r\n\r\n", true));

  @Test
  void aLineThatIsNoFieldIsFoundWhetherTheHeadComesWholeOrAByteAtATime() {
    for (Case c : CASES) {
      byte[] bytes = c.head().getBytes(StandardCharsets.ISO_8859_1);
      for (int piece : new int[] {bytes.length, 1, 3}) {
        HeadLines lines = new HeadLines();
        lines.expectHead();
        ByteBuf buf = Unpooled.wrappedBuffer(bytes);
        for (int at = 0; at < bytes.length && lines.following(); at += piece) {
          readAll(lines, buf, at, Math.min(bytes.length, at + piece));
        }
        String what = c.head().replace("\r", "\\r").replace("\n", "\\n") + " in pieces of " + piece;
        assertEquals(c.noField(), lines.takeNoField(), what);
        assertEquals(false, lines.takeNoField(), what + ": said once");
        assertEquals(false, lines.following(), what + ": the head's end, or its bad line, is found");
      }
    }
  }

  /** Reads from {@code from} to {@code to} whatever lines of one word it stops at; the indexes their colons go at. */
  static List<Integer> readAll(HeadLines lines, ByteBuf buf, int from, int to) {
    List<Integer> colons = new java.util.ArrayList<>();
    for (int colon = lines.read(buf, from, to); colon >= 0; ) {
      colons.add(colon);
      int lineEnd = buf.getByte(colon) == '\r' ? colon + 1 : colon;
      colon = lines.read(buf, lineEnd + 1, to);
    }
    return colons;
  }

  /**
   * A head's line of one word and no colon is a field with no value, as nginx passes it: its colon goes before its
   * CRLF or LF, also when its CR came in an earlier read than its LF (the caller puts it in the bytes it keeps).
   */
  @Test
  void aLineOfOneWordGetsItsColonBeforeItsLineEnd() {
    String head = "HTTP/1.1 200 OK\r\nBogusLine\r\nX-B\nContent-Length: 2\r\n\r\nok";
    byte[] bytes = head.getBytes(StandardCharsets.ISO_8859_1);
    HeadLines lines = new HeadLines();
    lines.expectHead();
    ByteBuf buf = Unpooled.wrappedBuffer(bytes);
    assertEquals(List.of(head.indexOf("\r\nX-B"), head.indexOf("\nContent")), readAll(lines, buf, 0, bytes.length));
    assertEquals(false, lines.takeNoField());
    assertEquals(false, lines.following(), "the head's end is found");
    int lf = head.indexOf("\nX-B");
    lines.expectHead();
    assertEquals(List.of(), readAll(lines, buf, 0, lf), "up to the CR");
    assertEquals(List.of(lf - 1, head.indexOf("\nContent")), readAll(lines, buf, lf, bytes.length),
        "the LF in a later read: the colon goes before the CR read earlier");
    assertEquals(false, lines.takeNoField());
    HeadLines trailer = new HeadLines();
    trailer.expectChunks();
    ByteBuf chunks = Unpooled.wrappedBuffer("0\r\nBogusLine\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
    assertEquals(List.of(), readAll(trailer, chunks, 0, chunks.writerIndex()));
    assertEquals(true, trailer.takeNoField(), "in a trailer section: no field");
  }

  /**
   * A chunked body, and whether its last chunk is found (its trailer section follows) after {@code data} bytes of
   * chunk data, and a trailer line is no field.
   */
  record Chunked(String body, boolean ended, long data, boolean noField) {
    Chunked(String body, boolean ended, boolean noField) {
      this(body, ended, -1, noField);
    }
  }

  static final List<Chunked> BODIES = List.of(
      new Chunked("2\r\nok\r\n0\r\n\r\n", true, 2, false),
      new Chunked("2\r\nok\r\n0\r\nX-T: v\r\n\r\n", true, 2, false),
      new Chunked("2;a=b\r\nok\r\n0003\r\n!!!\r\n0;c=\"d\"\r\nBogus Line\r\nX-T: v\r\n\r\n", true, 5, true),
      new Chunked("A\r\n0123456789\r\n0\r\nX-T b: c\r\n\r\n", true, 10, true),
      // Data that looks like a last chunk and a bad trailer line is skipped, not read.
      new Chunked("13\r\n\r\n0\r\nBogus Line\r\n\r\n\r\n0\r\n\r\n", true, 19, false),
      new Chunked("2710\r\n" + "x".repeat(10_000) + "\r\n0\r\n\r\n", true, 10_000, false),
      new Chunked("2\r\nok\r\n0\r\n\n", true, 2, false), // a bare LF after the last chunk's size line only
      // What the decoder refuses is not followed: nothing is said of the answer.
      new Chunked("2\r\nokXX\r\n0\r\nBogus Line\r\n\r\n", false, false),
      new Chunked("2\r\nok\n0\r\nBogus Line\r\n\r\n", false, false),
      new Chunked("2\nok\r\n0\r\nBogus Line\r\n\r\n", false, false),
      new Chunked("2;a\nok\r\n0\r\nBogus Line\r\n\r\n", false, false),
      new Chunked(" 2\r\nok\r\n0\r\nBogus Line\r\n\r\n", false, false),
      new Chunked("2 \r\nok\r\n0\r\nBogus Line\r\n\r\n", false, false),
      new Chunked("1000000000000000\r\nok\r\n0\r\nBogus Line\r\n\r\n", false, false));

  @Test
  void theTrailerSectionIsFoundByFollowingTheChunks() {
    byte[] head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
    for (Chunked c : BODIES) {
      byte[] bytes = c.body().getBytes(StandardCharsets.ISO_8859_1);
      for (int piece : new int[] {bytes.length, 1, 2, 7}) {
        String what = c.body().replace("\r", "\\r").replace("\n", "\\n") + " in pieces of " + piece;
        HeadLines lines = new HeadLines();
        lines.expectHead();
        lines.read(Unpooled.wrappedBuffer(head), 0, head.length);
        assertEquals(false, lines.following(), what + ": the head's end");
        lines.expectChunks();
        ByteBuf buf = Unpooled.wrappedBuffer(bytes);
        for (int at = 0; at < bytes.length; at += piece) {
          lines.read(buf, at, Math.min(bytes.length, at + piece));
        }
        assertEquals(c.ended(), lines.bodyEnded(), what + ": the last chunk");
        if (c.ended()) {
          assertEquals(c.data(), lines.data(), what + ": the chunks' data");
        }
        assertEquals(c.noField(), lines.takeNoField(), what + ": a trailer line that is no field");
        assertEquals(false, lines.following(), what + ": followed to the end, or not followed");
        lines.expectHead();
        assertEquals(false, lines.bodyEnded(), what + ": the next answer's own");
      }
    }
  }
}
