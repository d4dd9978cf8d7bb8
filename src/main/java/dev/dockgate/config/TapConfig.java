package dev.dockgate.config;

import dev.dockgate.events.TapAddresses;
import java.util.List;

/**
 * Ways to tap the gateway's events from outside: a TCP event-bus bridge that lets clients subscribe
 * to {@code addresses} (outbound only, nothing inbound; only {@link TapAddresses#TAPPABLE} ones, never an address
 * the gateway sends requests or commands on), at most {@code maxClients} at once (0 = no limit), each
 * closed after {@code idleTimeoutMs} without a frame from it (0 = never); and a slow-request alert threshold
 * ({@code slowRequestMs}, 0 = off) for the example consumer that publishes on gateway.alerts.
 */
public record TapConfig(boolean bridgeEnabled, String bridgeHost, int bridgePort, List<String> addresses,
    int maxClients, long idleTimeoutMs, long slowRequestMs) {

  public static final List<String> DEFAULT_ADDRESSES = List.of("gateway.traffic", "gateway.health", "gateway.alerts");
  public static final int DEFAULT_MAX_CLIENTS = 64;
  public static final long DEFAULT_IDLE_TIMEOUT_MS = 60_000;
  public static final TapConfig OFF = new TapConfig(false, "127.0.0.1", 7000, DEFAULT_ADDRESSES, DEFAULT_MAX_CLIENTS,
      DEFAULT_IDLE_TIMEOUT_MS, 0);

  public TapConfig {
    addresses = List.copyOf(addresses);
    for (String address : addresses) {
      if (TapAddresses.refusal(address) != null) {
        throw new IllegalArgumentException(TapAddresses.refusal(address));
      }
    }
  }
}
