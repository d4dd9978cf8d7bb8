package dev.dockgate.limits;

import dev.dockgate.pipeline.Exchange;
import dev.dockgate.pipeline.Stage;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;

/**
 * Takes a token from the client key's bucket: the RateLimit-* headers on every answer, 429 with
 * Retry-After when the bucket is empty. The key is the client address, the authenticated consumer,
 * or (on authenticated routes only) a header. One per route and router, on its event loop.
 */
final class RateLimitStage implements Stage {

  private static final Buffer TOO_MANY_REQUESTS = Buffer.buffer("too many requests\n");

  private final RateLimiter limiter;
  private final boolean byConsumer;
  private final String header;

  RateLimitStage(RateLimitConfig config, RateLimiter limiter) {
    this.limiter = limiter;
    this.byConsumer = config.byConsumer();
    this.header = config.header();
  }

  @Override
  public boolean handle(Exchange exchange) {
    String key = byConsumer ? exchange.consumer()
        : header != null ? exchange.request().getHeader(header)
        : exchange.client();
    RateLimiter.Decision decision = limiter.tryAcquire(key == null ? "" : key, System.nanoTime());
    HttpServerResponse response = exchange.request().response()
        .putHeader("ratelimit-limit", Integer.toString(decision.limit()))
        .putHeader("ratelimit-remaining", Integer.toString(decision.remaining()))
        .putHeader("ratelimit-reset", Long.toString(decision.resetSeconds()));
    if (decision.allowed()) {
      return true;
    }
    response.putHeader("retry-after", Long.toString(decision.retryAfterSeconds()));
    exchange.answer(429, TOO_MANY_REQUESTS);
    return false;
  }
}
