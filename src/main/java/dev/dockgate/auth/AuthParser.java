package dev.dockgate.auth;

import dev.dockgate.config.ApiKeyAuthConfig;
import dev.dockgate.config.ApiKeyParser;
import dev.dockgate.config.ConfigLoader;
import dev.dockgate.config.Fields;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.cert.CertificateFactory;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a route's {@code auth} block: {@code type: api_key} or {@code type: jwt}. Key files are read
 * here, relative to the config file's folder, so a bad key is a config error naming its field
 * rather than a failure on the first request. Runs off the event loop (see ConfigLoader.load).
 */
public final class AuthParser {

  static final Set<String> ALGORITHMS = Set.of("HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
      "PS256", "PS384", "PS512", "ES256", "ES384", "ES512");
  private static final Pattern PEM = Pattern.compile(
      "-----BEGIN (PUBLIC KEY|CERTIFICATE)-----([A-Za-z0-9+/=\\s]+)-----END \\1-----");

  /** Either auth config, the other null. */
  public record Auth(ApiKeyAuthConfig apiKeys, JwtAuthConfig jwt) implements dev.dockgate.config.RouteBlockParser.ConsumerSource {
    @Override
    public String consumerKind() {
      return apiKeys != null ? "api_key" : jwt != null ? "jwt" : null;
    }
  }

  private AuthParser() {
  }

  public static Auth auth(Fields f) {
    String type = f.requiredString("type");
    if ("jwt".equals(type)) {
      return new Auth(null, jwt(f));
    }
    if (type != null && !type.equals("api_key")) {
      f.problem(f.at("type"), "unknown auth type \"" + type + "\"; known: api_key, jwt");
      return new Auth(null, null);
    }
    return new Auth(ApiKeyParser.apiKeys(f), null);
  }

  private static JwtAuthConfig jwt(Fields f) {
    String header = ApiKeyParser.headerName(f, "header", JwtAuthConfig.DEFAULT_HEADER);
    List<JwtAuthConfig.Key> keys = new ArrayList<>();
    for (Fields k : f.objects("keys")) {
      JwtAuthConfig.Key key = key(k);
      if (key != null) {
        keys.add(key);
      }
    }
    JwtAuthConfig.Jwks jwks = null;
    String url = f.string("jwks_url", null);
    long refresh = f.number("jwks_refresh_ms", JwtAuthConfig.Jwks.DEFAULT_REFRESH_MS, 1000, 86_400_000);
    long minRefresh = f.number("jwks_min_refresh_ms", JwtAuthConfig.Jwks.DEFAULT_MIN_REFRESH_MS, 0, 86_400_000);
    if (url != null) {
      if (!ConfigLoader.httpUrl(url)) {
        f.problem(f.at("jwks_url"), "expected an http:// or https:// URL, got \"" + url + "\"");
      }
      jwks = new JwtAuthConfig.Jwks(url, refresh, minRefresh);
    }
    if (keys.isEmpty() && jwks == null && !f.has("keys")) {
      f.problem(f.at("keys"), "is required unless jwks_url is set: at least one {algorithm, secret | public_key | "
          + "public_key_file | secret_file}");
    }
    String issuer = f.string("issuer", null);
    List<String> audience = strings(f, "audience");
    int leeway = (int) f.number("leeway_s", JwtAuthConfig.DEFAULT_LEEWAY_SECONDS, 0, 3600);
    boolean requireExp = f.bool("require_exp", false);
    Map<String, Object> required = new LinkedHashMap<>();
    Fields claims = f.object("required_claims");
    if (f.has("required_claims")) {
      for (String name : fieldNames(f, "required_claims")) {
        Object value = claims.raw(name);
        if (value instanceof String || value instanceof Number || value instanceof Boolean) {
          required.put(name, value);
        } else {
          claims.problem(claims.at(name), "expected a string, number or boolean, got " + Fields.describe(value));
        }
      }
    }
    List<String> scopes = strings(f, "scopes");
    for (String scope : scopes) {
      if (!scope.chars().allMatch(c -> c > 0x20 && c < 0x7F && c != '"' && c != '\\')) {
        // RFC 6749 3.3: what a token's scope can grant, and what the 403's WWW-Authenticate can quote
        f.problem(f.at("scopes"), "expected scope tokens (visible ASCII but \" and \\), got \"" + scope + "\"");
      }
    }
    Map<String, String> forward = new LinkedHashMap<>();
    Fields forwards = f.object("forward_claims");
    if (f.has("forward_claims")) {
      Set<String> headers = new HashSet<>();
      for (String claim : fieldNames(f, "forward_claims")) {
        String name = ApiKeyParser.headerName(forwards, claim, null);
        if (name != null && !headers.add(name.toLowerCase(Locale.ROOT))) {
          forwards.problem(forwards.at(claim), "header \"" + name + "\" is already used by another claim");
        } else if (name != null) {
          forward.put(claim, name);
        }
      }
    }
    f.rejectUnknown();
    return new JwtAuthConfig(header, keys, jwks, issuer, audience, leeway, required, scopes, forward, requireExp);
  }

  private static JwtAuthConfig.Key key(Fields k) {
    String alg = k.requiredString("algorithm");
    String kid = k.string("kid", null);
    if (alg != null && !ALGORITHMS.contains(alg)) {
      k.problem(k.at("algorithm"), "unknown algorithm \"" + alg + "\"; known: " + String.join(", ",
          new java.util.TreeSet<>(ALGORITHMS)));
      alg = null;
    }
    String secret = k.string("secret", null);
    String secretFile = k.string("secret_file", null);
    String pem = k.string("public_key", null);
    String pemFile = k.string("public_key_file", null);
    k.rejectUnknown();
    long given = java.util.stream.Stream.of(secret, secretFile, pem, pemFile).filter(s -> s != null).count();
    if (given != 1) {
      k.problem(k.path(), "expected exactly one of secret, secret_file, public_key, public_key_file, got " + given);
      return null;
    }
    if (alg == null) {
      return null;
    }
    boolean hmac = alg.startsWith("HS");
    if (hmac && (pem != null || pemFile != null)) {
      k.problem(k.at(pem != null ? "public_key" : "public_key_file"), alg + " takes a secret, not a public key");
      return null;
    }
    if (!hmac && (secret != null || secretFile != null)) {
      k.problem(k.at(secret != null ? "secret" : "secret_file"), alg + " takes a public key, not a secret");
      return null;
    }
    String field = secret != null ? "secret" : secretFile != null ? "secret_file" : pem != null ? "public_key"
        : "public_key_file";
    String material = secret != null ? secret : pem;
    String file = secretFile != null ? secretFile : pemFile;
    if (file != null) {
      Path path = k.resolve(file);
      try {
        material = dev.dockgate.config.Fields.readText(path);
        if (secretFile != null) {
          material = material.strip();
        }
      } catch (IOException | RuntimeException e) {
        k.problem(k.at(field), dev.dockgate.config.Fields.unreadable(path, e));
        return null;
      }
    }
    if (hmac) {
      int minBytes = Integer.parseInt(alg.substring(2)) / 8;
      if (material.getBytes(StandardCharsets.UTF_8).length < minBytes) {
        k.problem(k.at(field), alg + " needs a secret of at least " + minBytes + " bytes (RFC 7518 3.2)");
        return null;
      }
    } else {
      String problem = checkPublicKey(alg, material);
      if (problem != null) {
        k.problem(k.at(field), problem);
        return null;
      }
    }
    return new JwtAuthConfig.Key(alg, kid, material);
  }

  /** Null when {@code pem} holds a public key (or certificate) of the algorithm's family, else what is wrong. */
  static String checkPublicKey(String alg, String pem) {
    Matcher m = PEM.matcher(pem);
    if (!m.find()) {
      return "expected a PEM \"-----BEGIN PUBLIC KEY-----\" or \"-----BEGIN CERTIFICATE-----\" block";
    }
    String family = alg.startsWith("ES") ? "EC" : "RSA";
    try {
      byte[] der = Base64.getMimeDecoder().decode(m.group(2));
      PublicKey key = m.group(1).equals("CERTIFICATE")
          ? CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der)).getPublicKey()
          : publicKey(der, family);
      if (!key.getAlgorithm().equals(family)) {
        return alg + " needs an " + family + " key, got " + key.getAlgorithm();
      }
      return key instanceof java.security.interfaces.ECPublicKey ec ? JwkCheck.curveProblem(alg, ec.getParams()) : null;
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      Throwable root = e.getCause() != null ? e.getCause() : e;
      return "not a valid " + family + " public key for " + alg + ": " + root.getMessage();
    }
  }

  /** The key in the family asked for, else in the other one (so the mismatch can be named). */
  private static PublicKey publicKey(byte[] der, String family) throws GeneralSecurityException {
    try {
      return KeyFactory.getInstance(family).generatePublic(new X509EncodedKeySpec(der));
    } catch (GeneralSecurityException e) {
      try {
        return KeyFactory.getInstance(family.equals("EC") ? "RSA" : "EC").generatePublic(new X509EncodedKeySpec(der));
      } catch (GeneralSecurityException other) {
        throw e;
      }
    }
  }

  private static List<String> strings(Fields f, String key) {
    Object raw = f.raw(key);
    if (raw instanceof String s) {
      return List.of(s);
    }
    List<String> result = new ArrayList<>();
    for (Object item : f.list(key)) {
      if (item instanceof String s && !s.isBlank()) {
        result.add(s);
      } else {
        f.problem(f.at(key), "expected a list of non-empty strings, got " + Fields.describe(item));
      }
    }
    return result;
  }

  private static List<String> fieldNames(Fields f, String key) {
    Object raw = f.raw(key);
    return raw instanceof io.vertx.core.json.JsonObject o ? new ArrayList<>(o.fieldNames()) : List.of();
  }
}
