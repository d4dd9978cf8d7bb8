package dev.dockgate.auth;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.math.BigInteger;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.util.Base64;
import java.util.Map;
import java.util.Set;

/**
 * Whether one member of a published key set (RFC 7517) is a public key the gateway verifies signatures with:
 * an RSA key (for RS/PS algorithms) or an EC key on P-256, P-384 or P-521, whose {@code alg}, when given,
 * fits its type and curve (RFC 7518 3.4: ES256 is P-256 with SHA-256, ES384 P-384, ES512 P-521), whose
 * {@code use} and {@code key_ops}, when given, allow verifying, and whose numbers make a key (an EC point on its
 * curve). Checked once
 * per fetch, so a key that cannot serve is left out with its reason rather than found by each router's
 * verifier (and logged there with a stack trace each time). Pure; any thread.
 */
final class JwkCheck {

  private static final Set<String> RSA_ALGORITHMS = Set.of("RS256", "RS384", "RS512", "PS256", "PS384", "PS512");
  /** RFC 7518 3.1's digital signature and MAC algorithms (and EdDSA, ES256K): an alg of none of them is JWE's. */
  private static final Set<String> JWS_ALGORITHMS = Set.of("HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
      "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA", "ES256K");
  /** JWK curve name: the algorithm it serves. */
  private static final Map<String, String> ALGORITHM_OF_CURVE = Map.of("P-256", "ES256", "P-384", "ES384",
      "P-521", "ES512");
  /** JWK curve name: its parameters. */
  private static final Map<String, ECParameterSpec> CURVES = Map.of("P-256", parameters("secp256r1"),
      "P-384", parameters("secp384r1"), "P-521", parameters("secp521r1"));

  private JwkCheck() {
  }

  /** What {@link #problem} gives for a key published for encryption: no signing key, and nothing wrong with it. */
  static final String ENCRYPTION = "";

  /**
   * Null when {@code entry} is a usable signature-verifying key, {@link #ENCRYPTION} for a key meant for encryption
   * (its use or key_ops say so, or its alg is no JWS algorithm: identity providers publish such keys beside their
   * signing keys), else what is wrong with it.
   */
  static String problem(Object entry) {
    if (!(entry instanceof JsonObject key)) {
      return "not a JSON object";
    }
    Object kty = key.getValue("kty");
    Object alg = key.getValue("alg");
    Object use = key.getValue("use");
    Object ops = key.getValue("key_ops");
    if (key.getValue("kid") != null && !(key.getValue("kid") instanceof String)) {
      return "kid is not a string";
    }
    if (alg != null && !(alg instanceof String)) {
      return "alg is not a string";
    }
    if (use != null && !"sig".equals(use) || ops != null && !(ops instanceof JsonArray list && list.contains("verify"))
        || alg != null && !JWS_ALGORITHMS.contains(alg)) {
      return ENCRYPTION;
    }
    try {
      if ("RSA".equals(kty)) {
        if (alg != null && !RSA_ALGORITHMS.contains(alg)) {
          return "alg " + alg + " is not for an RSA key";
        }
        KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(number(key, "n"), number(key, "e")));
        return null;
      }
      if ("EC".equals(kty)) {
        ECParameterSpec curve = key.getValue("crv") instanceof String crv ? CURVES.get(crv) : null;
        if (curve == null) {
          return "crv is not P-256, P-384 or P-521";
        }
        if (alg != null && !alg.equals(ALGORITHM_OF_CURVE.get(key.getString("crv")))) {
          return "alg " + alg + " is not for curve " + key.getValue("crv");
        }
        ECPoint point = new ECPoint(number(key, "x"), number(key, "y"));
        if (!onCurve(point, curve)) {
          return "not a valid EC key: its point is not on curve " + key.getValue("crv");
        }
        KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(point, curve));
        return null;
      }
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      return "not a valid " + kty + " key: " + e.getMessage();
    }
    return "oct".equals(kty) ? "a shared secret, never trusted from a published set" : "kty is not RSA or EC";
  }

  /**
   * Null when an EC key of {@code params} serves {@code alg} (ES256, ES384, ES512), else what is wrong: the
   * algorithms name their curves (RFC 7518 3.4), so a P-384 key is no ES256 key.
   */
  static String curveProblem(String alg, ECParameterSpec params) {
    String curve = null;
    for (Map.Entry<String, ECParameterSpec> known : CURVES.entrySet()) {
      if (known.getValue().getCurve().equals(params.getCurve()) && known.getValue().getGenerator().equals(params.getGenerator())) {
        curve = known.getKey();
      }
    }
    if (alg.equals(ALGORITHM_OF_CURVE.get(curve))) {
      return null;
    }
    String needed = ALGORITHM_OF_CURVE.entrySet().stream().filter(e -> e.getValue().equals(alg)).map(Map.Entry::getKey)
        .findFirst().orElse("?");
    return alg + " needs a key on curve " + needed + ", got " + (curve == null ? "another curve" : curve);
  }

  /** Whether {@code point} is on {@code curve}: y^2 = x^3 + ax + b mod p, x and y below p (the key factory checks not). */
  private static boolean onCurve(ECPoint point, ECParameterSpec curve) {
    BigInteger p = ((java.security.spec.ECFieldFp) curve.getCurve().getField()).getP();
    BigInteger x = point.getAffineX();
    BigInteger y = point.getAffineY();
    if (x.compareTo(p) >= 0 || y.compareTo(p) >= 0) {
      return false;
    }
    BigInteger right = x.pow(3).add(curve.getCurve().getA().multiply(x)).add(curve.getCurve().getB()).mod(p);
    return y.multiply(y).mod(p).equals(right);
  }

  private static ECParameterSpec parameters(String jdkName) {
    try {
      AlgorithmParameters params = AlgorithmParameters.getInstance("EC");
      params.init(new ECGenParameterSpec(jdkName));
      return params.getParameterSpec(ECParameterSpec.class);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(jdkName + " is required of every JVM", e);
    }
  }

  /**
   * A copy of a usable {@code key} without its certificate members (x5c, x5t, x5t#S256, x5u): the key is its numbers
   * (RFC 7517 6.3.1 and 6.2.1 make n/e and crv/x/y required, x5c optional), while vertx-auth-jwt takes it from the
   * x5c chain when there is one, and refuses a key whose certificate has expired.
   */
  static JsonObject withoutCertificates(JsonObject key) {
    JsonObject copy = key.copy();
    copy.remove("x5c");
    copy.remove("x5t");
    copy.remove("x5t#S256");
    copy.remove("x5u");
    return copy;
  }

  /** The unsigned big-endian number a base64url member holds. */
  private static BigInteger number(JsonObject key, String member) {
    if (!(key.getValue(member) instanceof String text) || text.isEmpty()) {
      throw new IllegalArgumentException("no " + member);
    }
    return new BigInteger(1, Base64.getUrlDecoder().decode(text));
  }
}
