package dev.dockgate.auth;

import dev.dockgate.events.TrafficEvent;
import dev.dockgate.pipeline.Exchange;
import dev.dockgate.pipeline.Stage;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/**
 * JWT bearer tokens: a verified token's subject becomes the consumer (X-Consumer-Name) and its
 * chosen claims go in their headers, both written by {@link HeaderText}; otherwise 401/403 with
 * the reason, or 400 when the credentials header is repeated. While a key set is being fetched
 * the exchange is held, and always answered or continued when the fetch ends, fails or not. One
 * per route and router, on its event loop.
 */
final class JwtStage implements Stage {

  private static final Buffer REPEATED = Buffer.buffer("more than one credentials header\n");

  private final JwtAuth jwt;
  private final ClaimHeaders claims;
  private final String header;
  private final Set<String> owned;
  /** The token's header, forwarded once checked: its {@code _} look-alikes are not. */
  private final Set<String> checked;

  JwtStage(JwtAuth jwt) {
    this.jwt = jwt;
    this.claims = new ClaimHeaders(jwt.config().forwardClaims());
    this.header = jwt.config().header();
    Set<String> names = new HashSet<>();
    names.add(TrafficEvent.CONSUMER);
    jwt.config().forwardClaims().values().forEach(name -> names.add(name.toLowerCase(Locale.ROOT)));
    this.owned = Set.copyOf(names);
    this.checked = Set.of(header.toLowerCase(Locale.ROOT));
  }

  @Override
  public boolean handle(Exchange exchange) {
    MultiMap headers = exchange.request().headers();
    String presented = headers.get(header);
    if (presented != null && headers.getAll(header).size() > 1) {
      // Which one a backend reads is its own choice: refuse rather than verify one and forward both.
      exchange.request().response().putHeader("www-authenticate", "Bearer realm=\"gateway\", error=\"invalid_request\"");
      exchange.answer(400, REPEATED);
      return false;
    }
    Future<JwtAuth.Outcome> checked = jwt.authenticate(presented);
    if (checked.isComplete()) {
      return decide(exchange, checked);
    }
    exchange.hold(); // the key set is being fetched: hold the body until the token is judged
    checked.onComplete(outcome -> {
      if (decide(exchange, outcome)) {
        exchange.proceed();
      }
    });
    return false;
  }

  /** True when the token passed; else the exchange is answered. */
  private boolean decide(Exchange exchange, AsyncResult<JwtAuth.Outcome> checked) {
    if (checked.failed()) {
      exchange.fail(checked.cause());
      return false;
    }
    JwtAuth.Outcome outcome = checked.result();
    if (!outcome.passed()) {
      if (outcome.challenge() != null) {
        exchange.request().response().putHeader("www-authenticate", outcome.challenge());
      }
      exchange.answer(outcome.status(), Buffer.buffer(outcome.reason() + "\n"));
      return false;
    }
    String subject = outcome.subject();
    if (subject != null) {
      // one form everywhere (header, traffic event, access log, jwt_sub limits): distinct subjects stay distinct
      String consumer = HeaderText.encode(subject);
      exchange.consumer(consumer);
      exchange.forward(TrafficEvent.CONSUMER_HEADER, consumer);
    }
    claims.forward(outcome.claims(), exchange::forward);
    return true;
  }

  @Override
  public Set<String> ownedHeaders() {
    return owned;
  }

  /**
   * The token's header, which goes on to the backend as the client sent it once checked: CGI, WSGI, PHP and Rack
   * backends read a client's {@code X_Auth_Token} as {@code X-Auth-Token}, so a forged token beside the checked one
   * would stand where the backend reads it.
   */
  @Override
  public Set<String> checkedHeaders() {
    return checked;
  }
}
