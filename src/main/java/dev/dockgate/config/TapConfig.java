package dev.dockgate.config;

import java.util.List;

/**
 * Ways to tap the gateway's events from outside: a TCP event-bus bridge that lets clients subscribe
 * to {@code addresses} (outbound only, nothing inbound), and a slow-request alert threshold
 * ({@code slowRequestMs}, 0 = off) for the example consumer that publishes on gateway.alerts.
 */
public record TapConfig(boolean bridgeEnabled, String bridgeHost, int bridgePort, List<String> addresses,
    long slowRequestMs) {

  public static final List<String> DEFAULT_ADDRESSES = List.of("gateway.traffic", "gateway.health", "gateway.alerts");
  public static final TapConfig OFF = new TapConfig(false, "127.0.0.1", 7000, DEFAULT_ADDRESSES, 0);

  public TapConfig {
    addresses = List.copyOf(addresses);
  }
}
