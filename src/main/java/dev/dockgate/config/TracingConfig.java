package dev.dockgate.config;

/**
 * Tracing: W3C trace context toward the backends and spans exported over OTLP/HTTP to
 * {@code endpoint}, {@code sampleRatio} of new traces kept. Off unless enabled.
 */
public record TracingConfig(boolean enabled, String endpoint, String serviceName, double sampleRatio) {

  public static final String DEFAULT_ENDPOINT = "http://127.0.0.1:4318/v1/traces";
  public static final String DEFAULT_SERVICE_NAME = "dockgate";

  public static final TracingConfig OFF = new TracingConfig(false, DEFAULT_ENDPOINT, DEFAULT_SERVICE_NAME, 1.0);
}
