package dev.dockgate.config;

import java.util.Map;

/**
 * What a config may take from outside its file: the environment variables ({@code ${NAME}}
 * references, and {@code DOCKGATE_...} overrides) and the system properties ({@code dockgate....}
 * overrides). {@link ConfigLoader#environment} reads both with vertx-config's env and sys stores.
 */
public record ConfigEnvironment(Map<String, String> variables, Map<String, String> properties) {

  /** Nothing from outside: the file alone. */
  public static final ConfigEnvironment NONE = new ConfigEnvironment(Map.of(), Map.of());

  public ConfigEnvironment {
    variables = Map.copyOf(variables);
    properties = Map.copyOf(properties);
  }
}
