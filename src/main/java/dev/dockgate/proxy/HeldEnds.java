package dev.dockgate.proxy;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.Set;

/**
 * The HTTP/2 answers of one router whose end waits for its client's flow-control window ({@link Relay}), each counted
 * once its end has left or its stream is cut. The router's stop cuts those still waiting once its drain is over
 * ({@link #cutAll}): at the drain timeout the server's connections are let go without their streams' closes reaching
 * the relays before the process exits, so such a request would never be counted. Event-loop confined.
 */
public final class HeldEnds {
  private final Set<Relay> held = new HashSet<>();

  void add(Relay relay) {
    held.add(relay);
  }

  void remove(Relay relay) {
    held.remove(relay);
  }

  /** Cuts and counts every answer whose end still waits; after the router's drain. */
  public void cutAll() {
    for (Relay relay : new ArrayList<>(held)) {
      relay.cutHeld();
    }
    held.clear();
  }
}
