package dev.dockgate.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.util.ByteProcessor;

/**
 * Reads the lines of a backend answer's head as its bytes come, before Netty's decoder does, to find one that is no
 * field: without a colon, or with anything but whitespace between a name and its colon. Netty, decoding an answer,
 * ends a name at its first space and skips whatever follows up to a colon, if there is one: "Bogus Line" would reach
 * the client as "Bogus:", "X-A b: c" as "X-A: c"; nginx refuses both ("upstream sent invalid header"). Whitespace
 * alone before the colon is let through (RFC 9112 §5.1 asks a proxy to remove it, as the decoder does), and so is a
 * folded line (§5.2: joined with a space). One per backend connection, on its event loop; no allocation.
 */
final class HeadLines implements ByteProcessor {

  /** Not in a head (a body, or no answer due). */
  private static final int NO_HEAD = 0;
  /** Before the status line: the decoder skips control bytes and whitespace there. */
  private static final int BEFORE_STATUS = 1;
  /** At the start of a field line, or of the empty line that ends the head. */
  private static final int LINE_START = 2;
  /** After a CR at the start of a line. */
  private static final int LINE_START_CR = 3;
  private static final int NAME = 4;
  /** Whitespace after a name: only more of it, or the colon, may follow. */
  private static final int AFTER_NAME = 5;
  /** The status line, a field's value or a folded line: up to the line's end. */
  private static final int REST = 6;

  private int state = BEFORE_STATUS;
  private boolean noField;

  /** A head comes next (a request was written, or an interim answer's head was read). */
  void expectHead() {
    state = BEFORE_STATUS;
    noField = false;
  }

  /** Whether the bytes read are within a head (not past its end, nor past a line that is no field). */
  boolean inHead() {
    return state != NO_HEAD;
  }

  /** Reads {@code bytes} from {@code from} (inclusive) to {@code to} (exclusive), or up to the head's end. */
  void read(ByteBuf bytes, int from, int to) {
    if (state != NO_HEAD && from < to) {
      bytes.forEachByte(from, to - from, this);
    }
  }

  /** Whether a line of the head read since {@link #expectHead} was no field; true once, then false. */
  boolean takeNoField() {
    boolean was = noField;
    noField = false;
    return was;
  }

  /** One byte of a head; false at its end, or at a line that is no field. */
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
          state = NO_HEAD; // the head's end
          return false;
        }
        state = b == '\r' ? LINE_START_CR : b == ' ' || b == '\t' || b == ':' ? REST : NAME;
        return true;
      case LINE_START_CR:
        if (b == '\n') {
          state = NO_HEAD;
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
          return noField();
        }
        return true;
      case AFTER_NAME:
        if (b == ':') {
          state = REST;
          return true;
        }
        return b == ' ' || b == '\t' || noField();
      default:
        return false;
    }
  }

  private boolean noField() {
    noField = true;
    state = NO_HEAD;
    return false;
  }
}
