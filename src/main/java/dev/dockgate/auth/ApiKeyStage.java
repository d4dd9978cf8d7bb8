package dev.dockgate.auth;

import dev.dockgate.events.TrafficEvent;
import dev.dockgate.pipeline.Exchange;
import dev.dockgate.pipeline.Stage;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import java.util.Set;

/**
 * API keys: a request with one known key goes on as that key's consumer (its name in
 * X-Consumer-Name; the key itself is never forwarded); a missing, unknown or repeated key gets 401.
 * One per route and router, on its event loop.
 */
final class ApiKeyStage implements Stage {

  private static final Buffer UNAUTHORIZED = Buffer.buffer("missing or unknown API key\n");
  private static final Buffer REPEATED = Buffer.buffer("more than one API key header\n");

  private final ApiKeyAuth keys;
  private final String challenge;
  private final Set<String> owned;

  ApiKeyStage(ApiKeyAuth keys) {
    this.keys = keys;
    this.challenge = "ApiKey header=\"" + keys.header() + "\"";
    String keyHeader = keys.header().toLowerCase(java.util.Locale.ROOT);
    this.owned = keyHeader.equals(TrafficEvent.CONSUMER) ? Set.of(keyHeader) : Set.of(TrafficEvent.CONSUMER, keyHeader);
  }

  @Override
  public boolean handle(Exchange exchange) {
    MultiMap headers = exchange.request().headers();
    String presented = headers.get(keys.header());
    boolean repeated = presented != null && headers.getAll(keys.header()).size() > 1;
    headers.remove(keys.header());
    String name = presented == null || repeated ? null : keys.authenticate(presented);
    if (name == null) {
      exchange.request().response().putHeader("www-authenticate", challenge);
      exchange.answer(401, repeated ? REPEATED : UNAUTHORIZED);
      return false;
    }
    exchange.consumer(name);
    exchange.forward(TrafficEvent.CONSUMER_HEADER, name);
    return true;
  }

  /**
   * The consumer header it sets, and the key header it takes away: CGI, WSGI, PHP and Rack backends read a client's
   * {@code X-API_Key} as {@code X-API-Key}, so its look-alikes are dropped too (see {@link Stage#ownedHeaders()}).
   */
  @Override
  public Set<String> ownedHeaders() {
    return owned;
  }
}
