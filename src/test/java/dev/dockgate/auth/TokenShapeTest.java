package dev.dockgate.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The shape a token must have before its signature is checked, as a table. */
class TokenShapeTest {

  static String part(String json) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(json.getBytes(StandardCharsets.UTF_8));
  }

  static String token(JsonObject header, JsonObject claims) {
    return part(header.encode()) + "." + part(claims.encode()) + ".c2ln";
  }

  static JsonObject hs() {
    return new JsonObject().put("alg", "HS256").put("typ", "JWT");
  }

  static JsonObject claims() {
    return new JsonObject().put("sub", "alice").put("iat", 1_700_000_000).put("exp", 1_700_003_600)
        .put("nbf", 1_700_000_000.5).put("aud", new JsonArray().add("a").add("b")).put("iss", "https://issuer.test");
  }

  @Test
  void refusals() {
    Map<String, String> cases = new LinkedHashMap<>(); // token -> reason (null: goes on to its signature)
    cases.put(token(hs(), claims()), null);
    cases.put(token(hs().put("kid", "k1").put("x-extra", 1), claims().put("aud", "a")), null);
    cases.put(token(hs(), new JsonObject()), null);
    cases.put("abc.def", "malformed token");
    cases.put("a.b.c.d", "malformed token");
    cases.put(".b.c", "malformed token");
    cases.put(part("[1]") + "." + part("{}") + ".s", "malformed token");
    cases.put(part(hs().encode()) + "." + part("[\"sub\"]") + ".s", "malformed token");
    cases.put(part(hs().encode()) + ".!!.s", "malformed token");
    cases.put(token(hs().put("kid", 7), claims()), "malformed token");
    cases.put(token(new JsonObject().put("alg", "none"), claims()), "unsigned token");
    cases.put(token(new JsonObject().put("alg", "NoNe"), claims()), "unsigned token");
    cases.put(token(new JsonObject().put("alg", 256), claims()), "unsigned token");
    cases.put(part("{\"alg\":\"HS256\",\"alg\":\"HS256\"}") + "." + part(claims().encode()) + ".s",
        "a header parameter named twice");
    cases.put(part(hs().encode()) + "." + part("{\"sub\":\"alice\",\"exp\":1,\"sub\":\"admin\"}") + ".s",
        "a claim named twice");
    cases.put(part(hs().encode()) + "." + part("{\"ctx\":{\"role\":\"a\",\"role\":\"b\"}}") + ".s",
        "a claim named twice");
    cases.put(part(hs().encode()) + "." + part("{\"a\":{\"x\":1},\"b\":{\"x\":2}}") + ".s", null);
    cases.put(part(hs().encode()) + "." + part("{\"sub\":\"a\"/* a comment */}") + ".s", "malformed token");
    cases.put(part(hs().encode()) + "." + part("{\"sub\":\"a\"} {}") + ".s", "malformed token");
    cases.put(token(new JsonObject(), claims()), "unsigned token");
    cases.put(token(hs().put("crit", new JsonArray().add("x-policy")).put("x-policy", 1), claims()),
        "critical header parameter not understood");
    cases.put(token(hs().put("crit", new JsonArray()), claims()), "critical header parameter not understood");
    cases.put(token(hs().putNull("crit"), claims()), "critical header parameter not understood");
    cases.put(token(hs(), claims().put("exp", "1700003600")), "claim exp is not a NumericDate");
    cases.put(token(hs(), claims().putNull("exp")), "claim exp is not a NumericDate");
    cases.put(token(hs(), claims().put("exp", 1e300)), "claim exp is not a NumericDate");
    cases.put(token(hs(), claims().put("exp", new java.math.BigInteger("99999999999999999999999"))),
        "claim exp is not a NumericDate");
    cases.put(token(hs(), claims().put("nbf", true)), "claim nbf is not a NumericDate");
    cases.put(token(hs(), claims().put("iat", new JsonArray().add(1))), "claim iat is not a NumericDate");
    cases.put(token(hs(), claims().put("aud", 42)), "claim aud is not a string or a list of strings");
    cases.put(token(hs(), claims().put("aud", new JsonObject())), "claim aud is not a string or a list of strings");
    cases.put(token(hs(), claims().put("aud", new JsonArray().add("a").addNull())),
        "claim aud is not a string or a list of strings");
    cases.put(token(hs(), claims().put("iss", 1)), "claim iss is not a string");
    cases.put(token(hs(), claims().put("sub", 7)), "claim sub is not a string");
    cases.put(token(hs(), claims().putNull("sub")), "claim sub is not a string");
    cases.put(token(hs(), claims()) + "=", "malformed token");
    String es = part(new JsonObject().put("alg", "ES256").encode()) + "." + part(claims().encode()) + ".";
    cases.put(es + "A".repeat(86), null);
    cases.put(es + "A".repeat(94), "invalid signature"); // a DER sequence's 70 bytes
    cases.put(es.replace(part("{\"alg\":\"ES256\"}"), part("{\"alg\":\"ES512\"}")) + "A".repeat(176), null);
    cases.forEach((token, reason) -> assertEquals(reason, TokenShape.refusal(token), token));
  }
}
