package dev.dockgate.config;

import java.util.List;

/**
 * API-key authentication of a route: the key comes in {@code header}; the config holds only the
 * SHA-256 of each key, with a name that the gateway logs and forwards instead of the key. {@code keysFile}: the
 * file some of them were read from (absolute), or null; the config watcher reloads when it changes.
 */
public record ApiKeyAuthConfig(String header, List<Key> keys, String keysFile) {

  public static final String DEFAULT_HEADER = "X-API-Key";

  /** One accepted key: its name and the lowercase hex SHA-256 of the key. */
  public record Key(String name, String sha256) {
  }

  public ApiKeyAuthConfig {
    keys = List.copyOf(keys);
  }

  public ApiKeyAuthConfig(String header, List<Key> keys) {
    this(header, keys, null);
  }
}
