package dev.dockgate.limits;

import dev.dockgate.config.Cidr;
import dev.dockgate.pipeline.Exchange;
import dev.dockgate.pipeline.Stage;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;

/**
 * Takes a token from the client key's bucket: the RateLimit-* headers on every answer, 429 with
 * Retry-After when the bucket is empty. The key is the client address, the authenticated consumer,
 * or (on authenticated routes only) a header; requests without one (no header, a value longer than
 * {@value #MAX_HEADER_KEY} characters) share one budget. One per route and router, on its event loop.
 */
final class RateLimitStage implements Stage {

  private static final Buffer TOO_MANY_REQUESTS = Buffer.buffer("too many requests\n");
  private static final CharSequence LIMIT = HttpHeaders.createOptimized("ratelimit-limit");
  private static final CharSequence REMAINING = HttpHeaders.createOptimized("ratelimit-remaining");
  private static final CharSequence RESET = HttpHeaders.createOptimized("ratelimit-reset");
  private static final CharSequence RETRY_AFTER = HttpHeaders.createOptimized("retry-after");

  /** The one key of requests without a usable key: they share one budget. */
  private static final String SHARED = "";
  /**
   * The longest header value kept as a key: keys are held per route up to max_keys, so their size
   * bounds memory (an 8 KB value per key would make 100,000 keys 800 MB).
   */
  static final int MAX_HEADER_KEY = 128;

  private final RateLimiter limiter;
  private final boolean byConsumer;
  /** The header the key is read from, or null. */
  private final CharSequence header;
  /** The limit header's value, the same on every answer: made once. */
  private final CharSequence limit;
  /** The prefix length IPv6 clients are keyed by (128: the whole address). */
  private final int ipv6Prefix;

  RateLimitStage(RateLimitConfig config, RateLimiter limiter) {
    this.limiter = limiter;
    this.byConsumer = config.byConsumer();
    this.header = config.header() == null ? null : HttpHeaders.createOptimized(config.header());
    this.limit = HttpHeaders.createOptimized(Integer.toString(config.burst()));
    this.ipv6Prefix = config.ipv6Prefix();
  }

  @Override
  public boolean handle(Exchange exchange) {
    String key = byConsumer ? exchange.consumer()
        : header != null ? headerKey(exchange.request().getHeader(header))
        : ipv6Prefix == 128 ? exchange.client() : clientNetwork(exchange.client(), ipv6Prefix);
    RateLimiter.Decision decision = limiter.tryAcquire(key == null ? SHARED : key, System.nanoTime());
    HttpServerResponse response = exchange.request().response()
        .putHeader(LIMIT, limit)
        .putHeader(REMAINING, Integer.toString(decision.remaining()))
        .putHeader(RESET, Long.toString(decision.resetSeconds()));
    if (decision.allowed()) {
      return true;
    }
    response.putHeader(RETRY_AFTER, Long.toString(decision.retryAfterSeconds()));
    exchange.answer(429, TOO_MANY_REQUESTS);
    return false;
  }

  /**
   * An IPv6 client's network of {@code prefix} bits, written {@code 2001:db8:1:2::/64}: a host given a /64 picks
   * any source address in it, each of which would be a fresh budget. IPv4 clients (IPv4-mapped ones too) keep their
   * address.
   */
  static String clientNetwork(String client, int prefix) {
    if (client == null || client.indexOf(':') < 0) {
      return client;
    }
    byte[] bytes = Cidr.literal(client);
    if (bytes == null || bytes.length != 16) {
      return client;
    }
    for (int bit = prefix; bit < 128; bit++) {
      bytes[bit >> 3] &= (byte) ~(0x80 >>> (bit & 7));
    }
    return Cidr.text(bytes) + "/" + prefix;
  }

  /** A header value as a key; a long one (no honest client id is) counts with the missing ones. */
  private static String headerKey(String value) {
    return value == null || value.length() > MAX_HEADER_KEY ? SHARED : value;
  }
}
