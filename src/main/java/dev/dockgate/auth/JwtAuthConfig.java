package dev.dockgate.auth;

import java.util.List;
import java.util.Map;

/**
 * JWT authentication of a route. Tokens come as {@code Bearer} credentials in {@code header} and
 * must be signed by one of {@code keys} or a key of the {@code jwks} set; the JOSE header's
 * {@code alg} picks the key, so a token can never choose how it is checked ({@code none} and
 * algorithms without a configured key are refused). {@code exp}/{@code nbf}/{@code iat} are checked
 * with {@code leewaySeconds} (a token without {@code exp} never expires, as RFC 7519 and Envoy have it, unless
 * {@code requireExp}); {@code issuer} and {@code audience} when set; every
 * {@code requiredClaims} entry must equal the claim (or be among its values); every {@code scopes}
 * entry must be granted by {@code scope} (space-separated) or {@code scp}. {@code forwardClaims}
 * maps claim names to the request headers they are sent to the backend in; client-sent headers of
 * those names are always dropped.
 */
public record JwtAuthConfig(
    String header,
    List<Key> keys,
    Jwks jwks,
    String issuer,
    List<String> audience,
    int leewaySeconds,
    Map<String, Object> requiredClaims,
    List<String> scopes,
    Map<String, String> forwardClaims,
    boolean requireExp) {

  public static final String DEFAULT_HEADER = "Authorization";
  public static final int DEFAULT_LEEWAY_SECONDS = 30;

  /**
   * A verification key: {@code material} is the shared secret for HS256/384/512, else the PEM text
   * of a public key or certificate. {@code kid} (may be null) must match a token's kid when both are set.
   */
  public record Key(String algorithm, String kid, String material) {
    @Override
    public String toString() {
      return "Key[" + algorithm + (kid == null ? "" : ", kid=" + kid) + "]"; // never the secret
    }
  }

  /**
   * A JSON Web Key Set fetched from {@code url}: again every {@code refreshMs}, and at once when a
   * token names a key it does not hold, but not more often than every {@code minRefreshMs}.
   */
  public record Jwks(String url, long refreshMs, long minRefreshMs) {
    public static final long DEFAULT_REFRESH_MS = 300_000;
    public static final long DEFAULT_MIN_REFRESH_MS = 10_000;
  }

  /** A config that takes a token without {@code exp} (the default). */
  public JwtAuthConfig(String header, List<Key> keys, Jwks jwks, String issuer, List<String> audience, int leewaySeconds,
      Map<String, Object> requiredClaims, List<String> scopes, Map<String, String> forwardClaims) {
    this(header, keys, jwks, issuer, audience, leewaySeconds, requiredClaims, scopes, forwardClaims, false);
  }

  public JwtAuthConfig {
    keys = List.copyOf(keys);
    audience = List.copyOf(audience);
    requiredClaims = Map.copyOf(requiredClaims);
    scopes = List.copyOf(scopes);
    forwardClaims = Map.copyOf(forwardClaims);
  }
}
