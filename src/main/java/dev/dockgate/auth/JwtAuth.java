package dev.dockgate.auth;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.NoSuchKeyIdException;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.impl.jose.JWK;
import io.vertx.ext.auth.impl.jose.JWT;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Checks a route's bearer tokens: their shape first ({@link TokenShape}), then the signature against the configured
 * keys and the JWKS set with vertx-auth-common's {@link JWT} (the JOSE core of vertx-auth-jwt's provider, which would parse
 * every key for every route: a JWKS set's keys are parsed once per set, in {@link JwksCache}, and shared), then
 * audience, issuer, exp/nbf/iat with leeway as the provider checks them, then the route's required claims and scopes.
 * The JWKS keys come from the process-wide {@link JwksCache}: refreshed when older than the key server's
 * {@code max-age} (within bounds) or else {@code jwks_refresh_ms}, and at once when a token names a key they do not hold (at most once per {@code jwks_min_refresh_ms} for the URL, so bad
 * tokens cannot make the gateway hammer the key server). One per route per router; used only on
 * that router's event loop, where it keeps a verifier made of the keys it last saw (its own signature objects over
 * the shared parsed keys: a JWS's Signature is not for two threads at once).
 */
public final class JwtAuth {

  private static final Logger LOG = Logger.getLogger(JwtAuth.class.getName());
  private static final String REALM = "Bearer realm=\"gateway\"";

  /**
   * What the check found: {@code status} 0 with the token's claims when the request may pass, else
   * the status to answer (401, 403, 503), its WWW-Authenticate value (null for 503) and a short reason.
   */
  public record Outcome(int status, String challenge, String reason, JsonObject claims) {
    static Outcome pass(JsonObject claims) {
      return new Outcome(0, null, null, claims);
    }

    static Outcome missing() {
      return new Outcome(401, REALM, "missing bearer token", null);
    }

    static Outcome invalid(String reason) {
      return new Outcome(401, REALM + ", error=\"invalid_token\", error_description=\"" + reason + "\"", reason, null);
    }

    static final Outcome NO_KEYS = new Outcome(503, null, "token signing keys unavailable", null);

    public boolean passed() {
      return status == 0;
    }

    /** The subject (a string, or null when the token has none). */
    public String subject() {
      return claims == null ? null : claims.getString("sub");
    }
  }

  private static final Outcome AUDIENCE = Outcome.invalid("audience not accepted");
  private static final Outcome ISSUER = Outcome.invalid("issuer not accepted");
  private static final Outcome EXPIRED = Outcome.invalid("token expired or not yet valid");
  private static final Outcome NO_EXPIRY = Outcome.invalid("token without exp not accepted");

  private final JwtAuthConfig config;
  /** The route's JWKS keys, or null when it has none. */
  private final JwksCache.KeySet keySet;
  /** The route's own keys, parsed once. */
  private final List<JWK> ownKeys;
  /** The JWKS keys {@link #verifier} was made from. */
  private JwksCache.Keys seen = JwksCache.Keys.NONE;
  /** Null when no key is known: never an "unsecured" verifier, which would take unsigned tokens. */
  private JWT verifier;
  /** Each required claim's name, and the answer to a token without it, made once. */
  private final String[] requiredNames;
  private final Object[] requiredValues;
  private final Outcome[] requiredRefusals;

  public JwtAuth(JwksCache jwks, JwtAuthConfig config) {
    this.config = config;
    List<JWK> own = new ArrayList<>();
    for (JwtAuthConfig.Key key : config.keys()) {
      own.add(new JWK(new PubSecKeyOptions().setAlgorithm(key.algorithm()).setId(key.kid()).setBuffer(key.material())));
    }
    this.ownKeys = List.copyOf(own);
    this.requiredNames = config.requiredClaims().keySet().toArray(new String[0]);
    this.requiredValues = new Object[requiredNames.length];
    this.requiredRefusals = new Outcome[requiredNames.length];
    for (int i = 0; i < requiredNames.length; i++) {
      requiredValues[i] = config.requiredClaims().get(requiredNames[i]);
      requiredRefusals[i] = Outcome.invalid(quotable(requiredNames[i]) ? "claim " + requiredNames[i] + " not accepted"
          : "required claim not accepted");
    }
    this.keySet = config.jwks() == null ? null : jwks.keySet(config.jwks().url());
    if (keySet != null) {
      seen = keySet.current();
      keySet.load();
    }
    this.verifier = build();
  }

  public JwtAuthConfig config() {
    return config;
  }

  /** Checks the value of the route's auth header (null when absent). Never fails: see {@link Outcome}. */
  public Future<Outcome> authenticate(String headerValue) {
    if (headerValue == null || headerValue.length() < 7 || !headerValue.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return Future.succeededFuture(Outcome.missing());
    }
    String token = headerValue.substring(7).trim();
    String refusal = TokenShape.refusal(token);
    if (refusal != null) {
      return Future.succeededFuture(Outcome.invalid(refusal));
    }
    if (keySet != null) {
      JwtAuthConfig.Jwks jwks = config.jwks();
      JwksCache.Keys keys = sync();
      if (verifier == null) {
        // no key yet: wait for a fetch under way or allowed now, else answer 503 at once
        return keySet.worthAsking(jwks.minRefreshMs())
            ? keySet.refresh(keys, 0, jwks.minRefreshMs()).compose(fetched -> verify(token, false))
            : Future.succeededFuture(Outcome.NO_KEYS);
      }
      long refreshAfter = keys.refreshAfterMs(jwks.refreshMs(), jwks.minRefreshMs());
      if (keys.ageMs() >= refreshAfter && keySet.mayStart(jwks.minRefreshMs())) {
        keySet.refresh(keys, refreshAfter, jwks.minRefreshMs()); // old: refreshed in the background, these keys still serve
      }
    }
    return verify(token, true);
  }

  /** The set's current keys, with {@link #verifier} made anew when they hold other keys than it was made of. */
  private JwksCache.Keys sync() {
    JwksCache.Keys keys = keySet.current();
    if (keys != seen) {
      boolean other = keys.keys() != seen.keys(); // a set fetched again unchanged keeps its list
      seen = keys;
      if (other) {
        verifier = build();
      }
    }
    return keys;
  }

  private Future<Outcome> verify(String token, boolean mayRefresh) {
    if (keySet != null) {
      sync();
    }
    if (verifier == null) {
      return Future.succeededFuture(Outcome.NO_KEYS);
    }
    JsonObject claims;
    try {
      claims = verifier.decode(token);
    } catch (NoSuchKeyIdException e) {
      JwtAuthConfig.Jwks jwks = config.jwks();
      if (mayRefresh && keySet != null && keySet.worthAsking(jwks.minRefreshMs())) {
        // the issuer may have rotated its keys: fetch the set again (or join a fetch under way), then retry once
        return keySet.refresh(seen, 0, jwks.minRefreshMs()).compose(fetched -> verify(token, false));
      }
      return Future.succeededFuture(Outcome.invalid(reason(e)));
    } catch (java.security.SignatureException | RuntimeException e) {
      LOG.log(Level.FINE, "token refused by vertx-auth-jwt", e);
      return Future.succeededFuture(Outcome.invalid(reason(e)));
    }
    Outcome refused = checkedClaims(claims, System.currentTimeMillis() / 1000);
    return Future.succeededFuture(refused != null ? refused : authorize(claims));
  }

  /**
   * What vertx-auth-jwt's provider checks after the signature, in its order (audience, issuer, then exp, iat, nbf with
   * the leeway), and {@code require_exp}: null when they hold, else the refusal. TokenShape has made sure the
   * claims checked have their types (NumericDates are numbers, aud a string or a list of strings, iss a string).
   */
  private Outcome checkedClaims(JsonObject claims, long nowSeconds) {
    if (!config.audience().isEmpty() && !audienceAccepted(claims.getValue("aud"))) {
      return AUDIENCE;
    }
    if (config.issuer() != null && !config.issuer().equals(claims.getValue("iss"))) {
      return ISSUER;
    }
    if (config.requireExp() && !(claims.getValue("exp") instanceof Number)) {
      return NO_EXPIRY;
    }
    int leeway = config.leewaySeconds();
    if (claims.getValue("exp") instanceof Number exp && nowSeconds - leeway >= exp.longValue()
        || claims.getValue("iat") instanceof Number iat && iat.longValue() > nowSeconds + leeway
        || claims.getValue("nbf") instanceof Number nbf && nbf.longValue() > nowSeconds + leeway) {
      return EXPIRED;
    }
    return null;
  }

  private boolean audienceAccepted(Object aud) {
    if (aud instanceof String one) {
      return config.audience().contains(one);
    }
    if (aud instanceof JsonArray list) {
      for (Object item : list) {
        if (config.audience().contains(item)) {
          return true;
        }
      }
    }
    return false;
  }

  /** The route's own rules on a token whose signature and times are good. */
  private Outcome authorize(JsonObject claims) {
    for (int i = 0; i < requiredNames.length; i++) {
      if (!holds(claims.getValue(requiredNames[i]), requiredValues[i])) {
        return requiredRefusals[i];
      }
    }
    if (!config.scopes().isEmpty()) {
      List<String> granted = scopes(claims);
      if (!granted.containsAll(config.scopes())) {
        String needed = String.join(" ", config.scopes());
        return new Outcome(403, REALM + ", error=\"insufficient_scope\", scope=\"" + needed + "\"",
            "insufficient scope", claims);
      }
    }
    return Outcome.pass(claims);
  }

  /** Whether {@code text} may stand in an error_description: visible ASCII and space, but " and \ (RFC 6750 3). */
  private static boolean quotable(String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c < 0x20 || c > 0x7E || c == '"' || c == '\\') {
        return false;
      }
    }
    return true;
  }

  private static boolean holds(Object actual, Object expected) {
    if (actual instanceof JsonArray array) {
      for (Object item : array) {
        if (same(item, expected)) {
          return true;
        }
      }
      return false;
    }
    return same(actual, expected);
  }

  private static boolean same(Object actual, Object expected) {
    if (actual instanceof Number a && expected instanceof Number e) {
      return a.doubleValue() == e.doubleValue();
    }
    return actual != null && actual.equals(expected);
  }

  /** Granted scopes: OAuth 2 {@code scope} (space-separated) and/or {@code scp} (list or string). */
  static List<String> scopes(JsonObject claims) {
    List<String> scopes = new ArrayList<>();
    for (String claim : new String[] {"scope", "scp"}) {
      Object value = claims.getValue(claim);
      if (value instanceof String s) {
        for (String part : s.trim().split("\\s+")) {
          if (!part.isEmpty()) {
            scopes.add(part);
          }
        }
      } else if (value instanceof JsonArray array) {
        array.forEach(v -> scopes.add(String.valueOf(v)));
      }
    }
    return scopes;
  }

  private static String reason(Throwable err) {
    String message = String.valueOf(err.getMessage());
    if (err instanceof NoSuchKeyIdException) {
      return "no key for this token";
    }
    if (err instanceof java.security.SignatureException || message.contains("ignature")) {
      return "invalid signature";
    }
    return "invalid token";
  }

  /** A verifier over every key known (the route's and the set's), or null when there is none. */
  /** The set's parsed keys the verifier was made of (for tests: the very objects the cache parsed, not copies). */
  List<JWK> setKeysInUse() {
    return seen.parsed();
  }

  private JWT build() {
    List<JWK> setKeys = seen.parsed();
    if (ownKeys.isEmpty() && setKeys.isEmpty()) {
      return null;
    }
    JWT jwt = new JWT();
    for (JWK key : ownKeys) {
      jwt.addJWK(key);
    }
    for (JWK key : setKeys) {
      jwt.addJWK(key);
    }
    return jwt;
  }
}
