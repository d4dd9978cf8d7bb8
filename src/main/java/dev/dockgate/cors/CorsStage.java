package dev.dockgate.cors;

import dev.dockgate.pipeline.Exchange;
import dev.dockgate.pipeline.Stage;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;

/**
 * CORS before authentication (a preflight carries no credentials): answers a preflight, marks the
 * answer to any other request, and drops the backend's own CORS headers so only the gateway's reach
 * the browser. One per route and router, on its event loop.
 */
final class CorsStage implements Stage {

  private static final Buffer EMPTY = Buffer.buffer();

  private final Cors cors;

  CorsStage(Cors cors) {
    this.cors = cors;
  }

  @Override
  public boolean handle(Exchange exchange) {
    HttpServerRequest request = exchange.request();
    if (Cors.isPreflight(request.method(), request.headers())) {
      Cors.Preflight preflight = cors.preflight(request.headers());
      request.response().headers().addAll(preflight.headers());
      exchange.answer(preflight.status(), preflight.allowed() ? EMPTY
          : Buffer.buffer("CORS preflight refused: " + preflight.refusal() + "\n"));
      return false;
    }
    cors.onActual(request.getHeader("origin"), request.response().headers());
    return true;
  }

  @Override
  public boolean seesResponse() {
    return true;
  }

  @Override
  public void onResponse(Exchange exchange, MultiMap headers) {
    Cors.dropBackendHeaders(headers);
  }

  @Override
  public boolean answersPreflight() {
    return true;
  }
}
