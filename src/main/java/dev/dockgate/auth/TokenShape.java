package dev.dockgate.auth;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * What a compact JWS must look like before its signature is checked, for the rules vertx-auth-jwt
 * leaves out or trips on: three parts, JSON objects for the JOSE header and the claims, an
 * algorithm other than {@code none}, no {@code crit} header (RFC 7515 §4.1.11: the gateway
 * implements no JWS extension, so it understands no critical parameter), and the registered
 * claims of their RFC 7519 types ({@code exp}/{@code nbf}/{@code iat} NumericDates, {@code aud} a
 * string or list of strings, {@code iss}/{@code sub} strings). Pure; any thread.
 */
final class TokenShape {

  /** NumericDates beyond ±10^12 s (year ~33700) are refused rather than cut to a long. */
  private static final double MAX_NUMERIC_DATE = 1e12;

  private TokenShape() {
  }

  /** Null when the token may go on to its signature check, else the reason to refuse it (401). */
  static String refusal(String token) {
    int first = token.indexOf('.');
    int second = first < 0 ? -1 : token.indexOf('.', first + 1);
    if (first <= 0 || second < 0 || token.indexOf('.', second + 1) >= 0) {
      return "malformed token";
    }
    JsonObject header = json(token.substring(0, first));
    if (header == null) {
      return "malformed token";
    }
    Object alg = header.getValue("alg");
    if (!(alg instanceof String name) || name.isEmpty() || name.equalsIgnoreCase("none")) {
      return "unsigned token";
    }
    if (header.containsKey("crit")) {
      return "critical header parameter not understood";
    }
    Object kid = header.getValue("kid");
    if (kid != null && !(kid instanceof String)) {
      return "malformed token";
    }
    JsonObject claims = json(token.substring(first + 1, second));
    return claims == null ? "malformed token" : claimRefusal(claims);
  }

  /** Null when the registered claims present have their types, else which one does not. */
  static String claimRefusal(JsonObject claims) {
    for (String date : new String[] {"exp", "nbf", "iat"}) {
      if (claims.containsKey(date) && !numericDate(claims.getValue(date))) {
        return "claim " + date + " is not a NumericDate";
      }
    }
    if (claims.containsKey("aud") && !audience(claims.getValue("aud"))) {
      return "claim aud is not a string or a list of strings";
    }
    for (String text : new String[] {"iss", "sub"}) {
      if (claims.containsKey(text) && !(claims.getValue(text) instanceof String)) {
        return "claim " + text + " is not a string";
      }
    }
    return null;
  }

  private static boolean numericDate(Object value) {
    return value instanceof Number n && Double.isFinite(n.doubleValue())
        && Math.abs(n.doubleValue()) <= MAX_NUMERIC_DATE;
  }

  private static boolean audience(Object value) {
    if (value instanceof String) {
      return true;
    }
    if (!(value instanceof JsonArray list)) {
      return false;
    }
    for (Object item : list) {
      if (!(item instanceof String)) {
        return false;
      }
    }
    return true;
  }

  /** A base64url part decoded as a JSON object, or null when it is not one. */
  private static JsonObject json(String part) {
    try {
      return new JsonObject(new String(Base64.getUrlDecoder().decode(part), StandardCharsets.UTF_8));
    } catch (RuntimeException e) {
      return null;
    }
  }
}
