package dev.dockgate.pipeline;

/**
 * What answers a request once its route's stages let it through: the proxy today (later also
 * aggregation). Called on the router's event loop; it must end the exchange's response, or the
 * client's leaving does.
 */
public interface Terminal {

  void handle(Exchange exchange);

  /**
   * Releases what the terminal alone holds when its config is replaced (the proxy holds nothing of
   * its own: its clients are the backend's, kept or shut down gracefully across reloads).
   */
  default void close() {
  }
}
