package dev.dockgate.auth;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * What a compact JWS must look like before its signature is checked, for the rules vertx-auth-jwt
 * leaves out or trips on: three parts, JSON objects for the JOSE header and the claims, an
 * algorithm other than {@code none}, base64url without padding, an ECDSA signature of its curve's
 * R || S length (RFC 7518 3.4; a DER sequence, which the library would take, is another text for the same
 * signature), no {@code crit} header (RFC 7515 §4.1.11: the gateway
 * implements no JWS extension, so it understands no critical parameter), and the registered
 * claims of their RFC 7519 types ({@code exp}/{@code nbf}/{@code iat} NumericDates, {@code aud} a
 * string or list of strings, {@code iss}/{@code sub} strings). A header or claims object that names a
 * member twice is refused (RFC 7515 §4 and RFC 7519 §4 allow refusing or taking the last one; taking it
 * would let a backend that reads the forwarded token with a first-wins parser see another subject than
 * the one the gateway checked). Pure; any thread.
 */
final class TokenShape {

  /** Jackson, failing on a member name repeated in one object. */
  private static final com.fasterxml.jackson.core.JsonFactory STRICT = com.fasterxml.jackson.core.JsonFactory.builder()
      .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

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
    if (header == REPEATED) {
      return "a header parameter named twice";
    }
    Object alg = header.getValue("alg");
    if (!(alg instanceof String name) || name.isEmpty() || name.equalsIgnoreCase("none")) {
      return "unsigned token";
    }
    if (header.containsKey("crit")) {
      return "critical header parameter not understood";
    }
    if (token.indexOf('=') >= 0) {
      return "malformed token"; // base64url without padding (RFC 7515 2): one token, one text
    }
    int rs = ecdsaSignatureBytes(name);
    if (rs > 0 && token.length() - second - 1 != (rs * 4 + 2) / 3) {
      return "invalid signature"; // R || S of the curve's size (RFC 7518 3.4), not a DER sequence
    }
    Object kid = header.getValue("kid");
    if (kid != null && !(kid instanceof String)) {
      return "malformed token";
    }
    JsonObject claims = json(token.substring(first + 1, second));
    return claims == null ? "malformed token" : claims == REPEATED ? "a claim named twice" : claimRefusal(claims);
  }

  /** The length of an ECDSA signature of {@code alg} (R and S, each the curve's size), or 0 for another algorithm. */
  private static int ecdsaSignatureBytes(String alg) {
    return switch (alg) {
      case "ES256" -> 64;
      case "ES384" -> 96;
      case "ES512" -> 132;
      default -> 0;
    };
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

  /** What {@link #json} gives for an object that names a member twice. */
  private static final JsonObject REPEATED = new JsonObject();

  /**
   * A base64url part read as one JSON object (strict JSON in UTF-8, read once), {@link #REPEATED} when
   * an object in it names a member twice, or null when it is not a JSON object.
   */
  private static JsonObject json(String part) {
    try (com.fasterxml.jackson.core.JsonParser parser = STRICT.createParser(Base64.getUrlDecoder().decode(part))) {
      if (parser.nextToken() != com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
        return null;
      }
      JsonObject object = new JsonObject(members(parser));
      return parser.nextToken() == null ? object : null;
    } catch (com.fasterxml.jackson.core.JsonParseException e) {
      return e.getMessage() != null && e.getMessage().startsWith("Duplicate field") ? REPEATED : null;
    } catch (java.io.IOException | RuntimeException e) {
      return null;
    }
  }

  /** The members of the object whose start the parser just read, up to its end. */
  private static java.util.Map<String, Object> members(com.fasterxml.jackson.core.JsonParser parser)
      throws java.io.IOException {
    java.util.Map<String, Object> members = new java.util.LinkedHashMap<>();
    while (parser.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
      String name = parser.currentName();
      parser.nextToken();
      members.put(name, value(parser));
    }
    return members;
  }

  /** The value at the parser's current token, as Vert.x's JsonObject holds values. */
  private static Object value(com.fasterxml.jackson.core.JsonParser parser) throws java.io.IOException {
    switch (parser.currentToken()) {
      case START_OBJECT:
        return new JsonObject(members(parser));
      case START_ARRAY:
        java.util.List<Object> items = new java.util.ArrayList<>();
        while (parser.nextToken() != com.fasterxml.jackson.core.JsonToken.END_ARRAY) {
          items.add(value(parser));
        }
        return new JsonArray(items);
      case VALUE_STRING:
        return parser.getText();
      case VALUE_NUMBER_INT:
      case VALUE_NUMBER_FLOAT:
        return parser.getNumberValue();
      case VALUE_TRUE:
        return Boolean.TRUE;
      case VALUE_FALSE:
        return Boolean.FALSE;
      case VALUE_NULL:
        return null;
      default:
        throw new com.fasterxml.jackson.core.JsonParseException(parser, "unexpected " + parser.currentToken());
    }
  }
}
