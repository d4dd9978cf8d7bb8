package dev.dockgate.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.util.ByteProcessor;

/**
 * Reads the field lines of a backend answer's head, and of a chunked answer's trailer section, as their bytes come,
 * before Netty's decoder does, to find one that is no field: with anything but whitespace between a name and its
 * colon, or, in a trailer section, without a colon. A head's line of one word and no colon is a field with no value,
 * as nginx passes it: {@link #read} says where its colon goes, for the decoder, which refuses such a line. Netty, decoding an answer, ends a name at its first space and skips whatever follows up to a
 * colon, if there is one: "Bogus Line" would reach the client as "Bogus:", "X-A b: c" as "X-A: c"; nginx refuses
 * both ("upstream sent invalid header"). Whitespace alone before the colon is let through (RFC 9112 §5.1 asks a proxy
 * to remove it, as the decoder does), and so is a folded line (§5.2: joined with a space). To find the trailer
 * section, it follows the chunks (their data skipped, not read); it stops following at anything it does not expect,
 * and then says nothing of the answer. One per backend connection, on its event loop; no allocation.
 */
final class HeadLines implements ByteProcessor {

  /** Not following: between answers, in a body of no chunks, or after something unexpected. */
  private static final int OFF = 0;
  /** Before the status line: the decoder skips control bytes and whitespace there. */
  private static final int BEFORE_STATUS = 1;
  /** At the start of a field line, or of the empty line that ends the head or the trailer section. */
  private static final int LINE_START = 2;
  /** After a CR at the start of a line. */
  private static final int LINE_START_CR = 3;
  private static final int NAME = 4;
  /** Whitespace after a name: only more of it, or the colon, may follow. */
  private static final int AFTER_NAME = 5;
  /** The status line, a field's value or a folded line: up to the line's end. */
  private static final int REST = 6;
  /** A chunk's size (hex digits). */
  private static final int SIZE = 7;
  /** A chunk's extensions, up to its size line's end. */
  private static final int EXTENSIONS = 8;
  /** A CR after a chunk's size. */
  private static final int SIZE_CR = 9;
  /** A chunk's data: skipped. */
  private static final int DATA = 10;
  /** The line end after a chunk's data. */
  private static final int DATA_END = 11;
  private static final int DATA_END_CR = 12;

  private int state = BEFORE_STATUS;
  private boolean noField;
  /** The last chunk's size line was read: the body has all come, the trailer section follows. */
  private boolean trailers;
  /** The size of the chunk whose size line is being read, or the data of the current chunk still to skip. */
  private long size;
  /** The chunks' data so far, in bytes. */
  private long data;
  private int digits;
  /** The line just ended is a head's line of one word and no colon. */
  private boolean colonless;
  /** The last byte of a name read was a CR. */
  private boolean crLast;

  /** A head comes next (a request was written, or an interim answer's head was read). */
  void expectHead() {
    state = BEFORE_STATUS;
    crLast = false;
    noField = false;
    trailers = false;
  }

  /** The head read last begins a chunked body: its chunks come next, from the first size line. */
  void expectChunks() {
    state = SIZE;
    size = 0;
    digits = 0;
    data = 0;
  }

  /** The chunks' data read so far, in bytes (the whole body's once {@link #bodyEnded}). */
  long data() {
    return data;
  }

  /** Whether the bytes read next are followed (within a head, a chunked body or its trailer section). */
  boolean following() {
    return state != OFF;
  }

  /** Whether the last chunk's size line was read since the answer's head (its trailer section follows it). */
  boolean bodyEnded() {
    return trailers;
  }

  /**
   * Reads {@code bytes} from {@code from} (inclusive) to {@code to} (exclusive), as far as it follows them; stops
   * at the end of a head's line of one word and no colon, and returns where its colon goes (before its CRLF or LF,
   * so one before {@code from} when its CR came in an earlier read), to be read on from the returned index's line
   * end; else -1.
   */
  int read(ByteBuf bytes, int from, int to) {
    while (state != OFF && from < to) {
      if (state == DATA) {
        long skipped = Math.min(size, to - from);
        from += (int) skipped;
        size -= skipped;
        data += skipped;
        if (size == 0) {
          state = DATA_END;
        }
        continue;
      }
      int stop = bytes.forEachByte(from, to - from, this);
      if (stop < 0) {
        return -1;
      }
      if (colonless) {
        colonless = false;
        boolean cr = crLast;
        crLast = false;
        return cr ? stop - 1 : stop;
      }
      from = stop + 1;
    }
    return -1;
  }

  /** Whether a field line read since {@link #expectHead} (or since last asked) was no field; true once, then false. */
  boolean takeNoField() {
    boolean was = noField;
    noField = false;
    return was;
  }

  /** One byte; false at the end of the head or of the trailer section, at a line that is no field, and before data. */
  @Override
  public boolean process(byte b) {
    switch (state) {
      case BEFORE_STATUS:
        int c = b & 0xff;
        if (!(c <= ' ' || c >= 0x7f && c <= 0x9f)) {
          state = REST;
        }
        return true;
      case REST:
        if (b == '\n') {
          state = LINE_START;
        }
        return true;
      case LINE_START:
        if (b == '\n') {
          state = OFF; // the head's end, or the trailer section's
          return false;
        }
        state = b == '\r' ? LINE_START_CR : b == ' ' || b == '\t' || b == ':' ? REST : NAME;
        crLast = false;
        return true;
      case LINE_START_CR:
        if (b == '\n') {
          state = OFF;
          return false;
        }
        state = NAME;
        return process(b);
      case NAME:
        if (b == ':') {
          state = REST;
        } else if (b == ' ' || b == '\t') {
          state = AFTER_NAME;
        } else if (b == '\n') {
          // A head's line of one word and no colon: a field with no value, as nginx passes it; the decoder, which
          // refuses it, is handed it with a colon (see read). In a trailer section it costs the answer its
          // trailers only, as any line that is no field.
          if (trailers) {
            return noField();
          }
          state = LINE_START;
          colonless = true;
          return false;
        }
        crLast = b == '\r';
        return true;
      case AFTER_NAME:
        if (b == ':') {
          state = REST;
          return true;
        }
        return b == ' ' || b == '\t' || noField();
      case SIZE:
        int digit = Character.digit(b, 16);
        if (digit >= 0) {
          if (++digits > 15) {
            return off(); // more than the decoder reads
          }
          size = size * 16 + digit;
          return true;
        }
        if (digits == 0) {
          return off();
        }
        if (b == ';') {
          state = EXTENSIONS;
          return true;
        }
        return b == '\r' ? sizeCr() : off(); // a size line ends in CRLF, as the decoder reads it
      case EXTENSIONS:
        return b == '\r' ? sizeCr() : b != '\n' || off();
      case SIZE_CR:
        return b == '\n' ? sizeLineEnd() : off();
      case DATA_END:
        if (b == '\r') { // exactly CRLF, as the decoder reads it
          state = DATA_END_CR;
          return true;
        }
        return off();
      case DATA_END_CR:
        return b == '\n' ? nextChunk() : off();
      default:
        return false;
    }
  }

  private boolean sizeCr() {
    state = SIZE_CR;
    return true;
  }

  /** A size line read: the last chunk's (the trailer section follows), or a chunk whose data is skipped. */
  private boolean sizeLineEnd() {
    digits = 0;
    if (size == 0) {
      trailers = true;
      state = LINE_START;
      return true;
    }
    state = DATA;
    return false;
  }

  private boolean nextChunk() {
    state = SIZE;
    size = 0;
    return true;
  }

  private boolean off() {
    state = OFF;
    return false;
  }

  /** The line just read (see {@link #read}) is taken for no field. */
  void noFieldHere() {
    noField();
  }

  private boolean noField() {
    noField = true;
    return off();
  }
}
