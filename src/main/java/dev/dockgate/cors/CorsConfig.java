package dev.dockgate.cors;

import java.util.List;

/**
 * Cross-origin resource sharing of a route, answered by the gateway. {@code allowOrigins} holds
 * serialized origins ({@code https://app.example.com}), subdomain patterns
 * ({@code https://*.example.com}) or the single entry {@code *}; methods are upper case, header names
 * lower case ({@code allowHeaders} may be {@code [*]}: any requested header); {@code maxAgeSeconds}
 * null means no Access-Control-Max-Age.
 */
public record CorsConfig(
    List<String> allowOrigins,
    List<String> allowMethods,
    List<String> allowHeaders,
    List<String> exposeHeaders,
    boolean allowCredentials,
    Integer maxAgeSeconds) {

  /** Methods allowed when {@code allow_methods} is absent and the route accepts any method. */
  public static final List<String> DEFAULT_METHODS = List.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE");

  public CorsConfig {
    allowOrigins = List.copyOf(allowOrigins);
    allowMethods = List.copyOf(allowMethods);
    allowHeaders = List.copyOf(allowHeaders);
    exposeHeaders = List.copyOf(exposeHeaders);
  }
}
