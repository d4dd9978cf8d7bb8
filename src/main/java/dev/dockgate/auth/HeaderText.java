package dev.dockgate.auth;

/**
 * Consumer names and claim values as header values that keep them apart: the text's UTF-8 bytes,
 * each byte outside visible ASCII ({@code !} to {@code ~}, so space and control bytes included)
 * and each {@code %} and {@code ,} written as {@code %XX} (upper-case hex); other visible ASCII
 * stays as it is. Percent-decoding gives the text back, so two different names never become one
 * value, and no value can break or end a header. (A lone UTF-16 surrogate, which is not text, is
 * written as its three-byte form, which no valid UTF-8 has.) Pure; any thread.
 */
final class HeaderText {

  private static final char[] HEX = "0123456789ABCDEF".toCharArray();

  private HeaderText() {
  }

  static String encode(String text) {
    int n = text.length();
    int i = 0;
    while (i < n && plain(text.charAt(i))) {
      i++;
    }
    if (i == n) {
      return text; // the usual case: nothing to encode, nothing allocated
    }
    StringBuilder out = new StringBuilder(n + 16).append(text, 0, i);
    for (; i < n; i++) {
      char c = text.charAt(i);
      if (plain(c)) {
        out.append(c);
      } else if (c < 0x80) {
        percent(out, c);
      } else if (c < 0x800) {
        percent(out, 0xC0 | c >> 6);
        percent(out, 0x80 | c & 0x3F);
      } else if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(text.charAt(i + 1))) {
        int code = Character.toCodePoint(c, text.charAt(++i));
        percent(out, 0xF0 | code >> 18);
        percent(out, 0x80 | code >> 12 & 0x3F);
        percent(out, 0x80 | code >> 6 & 0x3F);
        percent(out, 0x80 | code & 0x3F);
      } else {
        percent(out, 0xE0 | c >> 12);
        percent(out, 0x80 | c >> 6 & 0x3F);
        percent(out, 0x80 | c & 0x3F);
      }
    }
    return out.toString();
  }

  private static boolean plain(char c) {
    return c > ' ' && c < 0x7F && c != '%' && c != ',';
  }

  private static void percent(StringBuilder out, int b) {
    out.append('%').append(HEX[b >> 4 & 0xF]).append(HEX[b & 0xF]);
  }
}
