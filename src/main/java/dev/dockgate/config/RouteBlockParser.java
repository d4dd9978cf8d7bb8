package dev.dockgate.config;

import java.util.List;
import java.util.Map;

/**
 * Reads one route-level block ({@code cors:}, {@code auth:}, {@code rate_limit:}, ...) into its
 * feature's config record. Each feature brings its own; the process's wiring registers them by
 * {@link #key()}, and a route key no parser claims is still an error. Runs off the event loop.
 */
public interface RouteBlockParser {

  /** The route key this parser reads. */
  String key();

  /** The block's config; problems go to {@code block} (they name file and field). */
  Object parse(Fields block, Route route);

  /**
   * What a parser may see of its route: the route's methods and the blocks parsed before this one
   * (in registration order), for checks across blocks.
   */
  record Route(List<String> methods, Map<String, Object> earlier) {

    /** How the route identifies its consumer ({@link ConsumerSource#consumerKind()}), or null when it does not. */
    public String consumerKind() {
      for (Object block : earlier.values()) {
        if (block instanceof ConsumerSource source) {
          return source.consumerKind();
        }
      }
      return null;
    }
  }

  /** A block that authenticates clients and so names the request's consumer (api_key, jwt). */
  interface ConsumerSource {
    String consumerKind();
  }
}
