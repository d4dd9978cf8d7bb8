package dev.dockgate.auth;

import dev.dockgate.config.ApiKeyAuthConfig;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * Checks an API key against the configured SHA-256 digests. Every digest is compared, each in
 * constant time, so the time taken tells nothing about which key, or how much of one, matched.
 * Immutable; safe from any thread.
 */
public final class ApiKeyAuth {

  private record Entry(String name, byte[] digest) {
  }

  private final String header;
  private final List<Entry> entries;

  public ApiKeyAuth(ApiKeyAuthConfig config) {
    this.header = config.header();
    this.entries = config.keys().stream()
        .map(k -> new Entry(HeaderText.encode(k.name()), HexFormat.of().parseHex(k.sha256())))
        .toList();
  }

  public String header() {
    return header;
  }

  /**
   * The name of the key presented as it goes in X-Consumer-Name (written by {@link HeaderText}, so
   * two names never look alike), or null when the key is missing or unknown.
   */
  public String authenticate(String presented) {
    if (presented == null || presented.isEmpty()) {
      return null;
    }
    byte[] digest = sha256(presented);
    String name = null;
    for (Entry e : entries) {
      if (MessageDigest.isEqual(e.digest(), digest) && name == null) {
        name = e.name();
      }
    }
    return name;
  }

  public static byte[] sha256(String key) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JVM", e);
    }
  }
}
