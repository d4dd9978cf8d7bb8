package dev.dockgate.pipeline;

import io.vertx.core.MultiMap;

/**
 * One step of a route's request path (CORS, authentication, a rate limit, ...), made once per route
 * and router from the route's config block and called on that router's event loop. A stage either
 * lets the request go on or answers it; a stage that must wait (a key set being fetched) holds the
 * exchange and later calls {@link Exchange#proceed()} or answers.
 */
public interface Stage {

  /**
   * True: go on to the next stage. False: this stage answered ({@link Exchange#answer}) or holds the
   * exchange ({@link Exchange#hold()}) and will continue or answer it itself.
   */
  boolean handle(Exchange exchange);

  /** Whether this stage edits the backend's answer; only such stages see {@link #onResponse}. */
  default boolean seesResponse() {
    return false;
  }

  /** The backend's response headers, before they reach the client. */
  default void onResponse(Exchange exchange, MultiMap headers) {
  }

  /**
   * Header names (lower case) this stage sets toward the backend, or takes away from the request (an API key's
   * header): a client's own headers of these names, or names that differ only by {@code _} for {@code -}, never
   * reach the backend on its route.
   */
  default java.util.Set<String> ownedHeaders() {
    return java.util.Set.of();
  }

  /**
   * Header names (lower case) this stage checked and lets through to the backend (a JWT route's token header): a
   * client's own headers whose names differ from them only by {@code _} for {@code -} never reach the backend on its
   * route, as CGI-style backends read them as the checked one; the names themselves do.
   */
  default java.util.Set<String> checkedHeaders() {
    return java.util.Set.of();
  }

  /**
   * Whether the stage answers CORS preflights itself: a preflight is then matched to this route by
   * the method it announces, as browsers send it before the real request.
   */
  default boolean answersPreflight() {
    return false;
  }
}
