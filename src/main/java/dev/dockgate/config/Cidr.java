package dev.dockgate.config;

import java.net.InetAddress;
import java.net.UnknownHostException;

/** An IPv4 or IPv6 network, {@code 10.0.0.0/8} or {@code ::1/128}; a bare address is a /32 or /128. */
public record Cidr(byte[] network, int prefix) {

  /** The network {@code text} names, or null when it is not an address literal with a valid prefix. */
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
      if (prefix < 0 || prefix > bytes.length * 8) {
        return null;
      }
    }
    return new Cidr(bytes, prefix);
  }

  /**
   * The bytes of an IP address literal, or null: IPv4 as exactly four decimal parts of 0-255 (parsed
   * here, so nothing like {@code 999.1.1.1} ever reaches a name lookup), IPv6 by the JDK, which never
   * resolves a string with a colon.
   */
  public static byte[] literal(String address) {
    if (address == null || address.isEmpty()) {
      return null;
    }
    if (address.indexOf(':') < 0) {
      return ipv4(address);
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
