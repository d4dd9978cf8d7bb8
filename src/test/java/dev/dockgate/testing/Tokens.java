package dev.dockgate.testing;

import io.vertx.core.json.JsonObject;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.util.Arrays;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Mints JSON Web Tokens for tests with the JDK alone (not the library the gateway verifies with),
 * including the hostile ones: unsigned, signed with the wrong key, or HMAC-signed with a public key.
 */
public final class Tokens {

  private Tokens() {
  }

  public static KeyPair rsa() {
    return generate("RSA", null);
  }

  public static KeyPair ec() {
    return ec("secp256r1");
  }

  /** An EC key pair on the named curve (secp256r1, secp384r1, secp521r1). */
  public static KeyPair ec(String curve) {
    return generate("EC", new ECGenParameterSpec(curve));
  }

  private static KeyPair generate(String type, ECGenParameterSpec spec) {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance(type);
      if (spec != null) {
        generator.initialize(spec);
      } else {
        generator.initialize(2048);
      }
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The public key as a PEM "PUBLIC KEY" block. */
  public static String pem(KeyPair pair) {
    String base64 = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
        .encodeToString(pair.getPublic().getEncoded());
    return "-----BEGIN PUBLIC KEY-----\n" + base64 + "\n-----END PUBLIC KEY-----\n";
  }

  /** The public key as a JWK (RFC 7517) with its kid and alg. */
  public static JsonObject jwk(KeyPair pair, String kid, String alg) {
    JsonObject jwk = new JsonObject().put("kid", kid).put("alg", alg).put("use", "sig");
    if (pair.getPublic() instanceof RSAPublicKey rsa) {
      return jwk.put("kty", "RSA").put("n", unsigned(rsa.getModulus(), 0)).put("e", unsigned(rsa.getPublicExponent(), 0));
    }
    ECPublicKey ec = (ECPublicKey) pair.getPublic();
    int bits = ec.getParams().getCurve().getField().getFieldSize();
    int length = (bits + 7) / 8;
    return jwk.put("kty", "EC").put("crv", "P-" + bits)
        .put("x", unsigned(ec.getW().getAffineX(), length)).put("y", unsigned(ec.getW().getAffineY(), length));
  }

  private static String unsigned(BigInteger n, int length) {
    byte[] bytes = n.toByteArray();
    if (bytes.length > 1 && bytes[0] == 0) {
      bytes = Arrays.copyOfRange(bytes, 1, bytes.length);
    }
    if (length > bytes.length) {
      byte[] padded = new byte[length];
      System.arraycopy(bytes, 0, padded, length - bytes.length, bytes.length);
      bytes = padded;
    }
    return b64(bytes);
  }

  /** Claims with sub and exp one hour ahead, iat now. */
  public static JsonObject claims(String sub) {
    long now = System.currentTimeMillis() / 1000;
    return new JsonObject().put("sub", sub).put("iat", now).put("exp", now + 3600);
  }

  public static String hmac(String alg, String secret, JsonObject claims, String kid) {
    return hmac(alg, secret.getBytes(StandardCharsets.UTF_8), claims, kid);
  }

  public static String hmac(String alg, byte[] secret, JsonObject claims, String kid) {
    String input = input(alg, claims, kid);
    return input + "." + b64(mac(alg, secret, input));
  }

  private static byte[] mac(String alg, byte[] secret, String input) {
    String javaAlg = "Hmac" + "SHA" + alg.substring(2);
    try {
      Mac mac = Mac.getInstance(javaAlg);
      mac.init(new SecretKeySpec(secret, javaAlg));
      return mac.doFinal(input.getBytes(StandardCharsets.US_ASCII));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** An HMAC token whose JOSE header also holds {@code extraHeader}'s parameters (crit, say). */
  public static String hmacWithHeader(String alg, String secret, JsonObject extraHeader, JsonObject claims) {
    String input = input(new JsonObject().put("alg", alg).put("typ", "JWT").mergeIn(extraHeader), claims);
    return input + "." + b64(mac(alg, secret.getBytes(StandardCharsets.UTF_8), input));
  }

  /** An HMAC token over a header and claims written as given (a member named twice, say). */
  public static String hmacRaw(String alg, String secret, String headerJson, String claimsJson) {
    String input = b64(headerJson.getBytes(StandardCharsets.UTF_8)) + "." + b64(claimsJson.getBytes(StandardCharsets.UTF_8));
    return input + "." + b64(mac(alg, secret.getBytes(StandardCharsets.UTF_8), input));
  }

  /** RS256/384/512 (PKCS#1 v1.5) or ES256 (raw R||S as JWS wants). */
  public static String sign(String alg, PrivateKey key, JsonObject claims, String kid) {
    String input = input(alg, claims, kid);
    String javaAlg = switch (alg) {
      case "RS256" -> "SHA256withRSA";
      case "RS384" -> "SHA384withRSA";
      case "RS512" -> "SHA512withRSA";
      case "ES256" -> "SHA256withECDSAinP1363Format";
      default -> throw new IllegalArgumentException(alg);
    };
    try {
      Signature signature = Signature.getInstance(javaAlg);
      signature.initSign(key);
      signature.update(input.getBytes(StandardCharsets.US_ASCII));
      return input + "." + b64(signature.sign());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** An "alg": "none" token, with an empty signature part. */
  public static String unsigned(JsonObject claims) {
    return input("none", claims, null) + ".";
  }

  private static String input(String alg, JsonObject claims, String kid) {
    JsonObject header = new JsonObject().put("alg", alg).put("typ", "JWT");
    if (kid != null) {
      header.put("kid", kid);
    }
    return input(header, claims);
  }

  private static String input(JsonObject header, JsonObject claims) {
    return b64(header.encode().getBytes(StandardCharsets.UTF_8)) + "." + b64(claims.encode().getBytes(StandardCharsets.UTF_8));
  }

  private static String b64(byte[] bytes) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }
}
