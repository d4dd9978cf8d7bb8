package dev.dockgate.config;

import java.net.InetAddress;
import java.net.UnknownHostException;

/** An IPv4 or IPv6 network, {@code 10.0.0.0/8} or {@code ::1/128}; a bare address is a /32 or /128. */
public record Cidr(byte[] network, int prefix) {

  /** IPv6's prefix of the IPv4-mapped addresses, {@code ::ffff:0:0/96}. */
  private static final int MAPPED_PREFIX = 96;

  /**
   * The network {@code text} names, or null when it is not an address literal with a valid prefix. An IPv4-mapped
   * network ({@code ::ffff:127.0.0.0/104}, {@code ::ffff:10.0.0.1/128}) is its IPv4 network ({@code 127.0.0.0/8},
   * {@code 10.0.0.1/32}): the JDK hands a dual-stack listener's IPv4 peers over as IPv4 addresses, never mapped ones.
   */
  public static Cidr parse(String text) {
    int slash = text.indexOf('/');
    String address = slash < 0 ? text : text.substring(0, slash);
    byte[] bytes = literal(address);
    if (bytes == null) {
      return null;
    }
    int prefix = bytes.length * 8;
    if (slash >= 0) {
      try {
        prefix = Integer.parseInt(text.substring(slash + 1));
      } catch (NumberFormatException e) {
        return null;
      }
      if (bytes.length == 4 && address.indexOf(':') >= 0) {
        // Written in IPv6 (mapped), so the prefix counts IPv6 bits: below 96 it would take in other IPv6 addresses.
        prefix -= MAPPED_PREFIX;
      }
      if (prefix < 0 || prefix > bytes.length * 8) {
        return null;
      }
    }
    return new Cidr(bytes, prefix);
  }

  /**
   * An address literal as RFC 5952 writes it: IPv6 in lower case, leading zeros dropped, the longest run of two or
   * more zero groups as {@code ::}, no zone ({@code 0:0:0:0:0:0:0:1%0}, {@code 0::1} and {@code ::1%lo} are all
   * {@code ::1}, as nginx writes its peers); an IPv4-mapped address as IPv4; IPv4 as four plain decimal parts. Text
   * that is not an address literal comes back as it is.
   */
  public static String canonical(String address) {
    int zone = address.indexOf('%');
    byte[] bytes = literal(zone < 0 ? address : address.substring(0, zone));
    return bytes == null ? address : text(bytes);
  }

  /** {@link #canonical} of an address given by its bytes (4 or 16). */
  public static String text(byte[] bytes) {
    StringBuilder text = new StringBuilder(39);
    if (bytes.length == 4) {
      for (int i = 0; i < 4; i++) {
        text.append(i == 0 ? "" : ".").append(bytes[i] & 0xff);
      }
      return text.toString();
    }
    int gapStart = -1;
    int gapLength = 1; // a single zero group is written as 0 (RFC 5952 §4.2.2)
    for (int i = 0; i < 8; ) {
      int end = i;
      while (end < 8 && bytes[2 * end] == 0 && bytes[2 * end + 1] == 0) {
        end++;
      }
      if (end - i > gapLength) {
        gapStart = i;
        gapLength = end - i;
      }
      i = Math.max(end, i + 1);
    }
    boolean colon = false;
    for (int i = 0; i < 8; ) {
      if (i == gapStart) {
        text.append("::");
        i += gapLength;
        colon = false;
        continue;
      }
      if (colon) {
        text.append(':');
      }
      text.append(Integer.toHexString((bytes[2 * i] & 0xff) << 8 | bytes[2 * i + 1] & 0xff));
      colon = true;
      i++;
    }
    return text.toString();
  }

  /** Whether {@code text}, a literal whose bytes are {@code bytes}, is written as {@link #text} writes them. */
  public static boolean isCanonical(String text, byte[] bytes) {
    if (bytes.length != 4) {
      return text.equals(text(bytes));
    }
    // Four decimal parts of 0-255 without a leading zero have exactly these many digits (no allocation).
    int length = 3;
    for (byte b : bytes) {
      int v = b & 0xff;
      length += v >= 100 ? 3 : v >= 10 ? 2 : 1;
    }
    return text.length() == length && text.indexOf(':') < 0;
  }

  /**
   * The bytes of an IP address literal, or null: IPv4 as exactly four decimal parts of 0-255 (parsed
   * here, so nothing like {@code 999.1.1.1} ever reaches a name lookup), IPv6 by the JDK, which never
   * resolves a string with a colon that starts with a hex digit or a colon (one starting with {@code .} or
   * {@code %}, such as {@code .:}, it would look up as a name: refused here).
   */
  public static byte[] literal(String address) {
    if (address == null || address.isEmpty()) {
      return null;
    }
    if (address.indexOf(':') < 0) {
      return ipv4(address);
    }
    if (address.charAt(0) != ':' && Character.digit(address.charAt(0), 16) < 0) {
      return null;
    }
    for (int i = 0; i < address.length(); i++) {
      char c = address.charAt(i);
      if (c != ':' && c != '.' && c != '%' && Character.digit(c, 16) < 0) {
        return null;
      }
    }
    try {
      return InetAddress.getByName(address).getAddress();
    } catch (UnknownHostException | SecurityException e) {
      return null;
    }
  }

  /**
   * {@link #literal}, refusing the spellings other parsers read otherwise or not at all, for an address another
   * party wrote (an X-Forwarded-For entry): a zone ({@code fe80::1%1}: Go's net.ParseIP refuses it, and the JDK
   * would look up the interface) and a dotted-decimal part with a leading zero ({@code 010.0.0.1},
   * {@code ::ffff:192.0.2.05}: read as decimal here, as octal by inet_aton, and refused by Go's net.ParseIP since
   * CVE-2021-29923), so that the gateway and a backend never take one entry for two addresses. Allocation-free on
   * top of {@link #literal}.
   */
  public static byte[] strictLiteral(String address) {
    if (address == null || address.indexOf('%') >= 0) {
      return null;
    }
    byte[] bytes = literal(address);
    return bytes == null || leadingZero(address) ? null : bytes;
  }

  /** Whether a part of the dotted-decimal end of {@code text} (a literal) has more than one digit and starts with 0. */
  private static boolean leadingZero(String text) {
    int dot = text.indexOf('.');
    if (dot < 0) {
      return false;
    }
    int n = text.length();
    for (int i = text.lastIndexOf(':', dot) + 1; i < n - 1; i++) {
      if (text.charAt(i) == '0' && (i == 0 || text.charAt(i - 1) == '.' || text.charAt(i - 1) == ':')
          && text.charAt(i + 1) != '.') {
        return true;
      }
    }
    return false;
  }

  private static byte[] ipv4(String text) {
    byte[] bytes = new byte[4];
    int part = 0;
    int value = -1;
    for (int i = 0; i <= text.length(); i++) {
      char c = i == text.length() ? '.' : text.charAt(i);
      if (c == '.') {
        if (value < 0 || part == 4) {
          return null;
        }
        bytes[part++] = (byte) value;
        value = -1;
      } else if (c >= '0' && c <= '9' && value < 1000) {
        value = (value < 0 ? 0 : value * 10) + (c - '0');
        if (value > 255) {
          return null;
        }
      } else {
        return null;
      }
    }
    return part == 4 ? bytes : null;
  }

  public boolean contains(byte[] address) {
    if (address == null || address.length != network.length) {
      return false;
    }
    int full = prefix / 8;
    for (int i = 0; i < full; i++) {
      if (address[i] != network[i]) {
        return false;
      }
    }
    int rest = prefix % 8;
    if (rest == 0) {
      return true;
    }
    int mask = 0xff << (8 - rest) & 0xff;
    return (address[full] & mask) == (network[full] & mask);
  }

  @Override
  public String toString() {
    try {
      return InetAddress.getByAddress(network).getHostAddress() + "/" + prefix;
    } catch (UnknownHostException e) {
      return "?/" + prefix;
    }
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof Cidr c && c.prefix == prefix && java.util.Arrays.equals(c.network, network);
  }

  @Override
  public int hashCode() {
    return java.util.Arrays.hashCode(network) * 31 + prefix;
  }
}
