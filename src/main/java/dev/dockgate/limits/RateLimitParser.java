package dev.dockgate.limits;

import dev.dockgate.config.Fields;
import dev.dockgate.config.RouteBlockParser;

/** Reads a route's {@code rate_limit} block (see {@link RateLimitConfig}). */
final class RateLimitParser {

  /** The most keys a route may hold: about 2 GB of buckets with address keys. */
  static final int MAX_KEYS = 10_000_000;

  private RateLimitParser() {
  }

  static RateLimitConfig parse(Fields f, RouteBlockParser.Route route) {
    Object raw = f.raw("requests_per_second");
    double rps = 0;
    if (raw instanceof Number n && n.doubleValue() > 0 && n.doubleValue() <= 1_000_000) {
      rps = n.doubleValue();
    } else {
      f.problem(f.at("requests_per_second"), raw == null ? "is required"
          : "expected a number above 0 and at most 1000000, got " + Fields.describe(raw));
    }
    int burst = (int) f.number("burst", Math.max(1, (long) Math.ceil(rps)), 1, 1_000_000);
    String key = f.string("key", "client_ip");
    int maxKeys = (int) f.number("max_keys", RateLimitConfig.DEFAULT_MAX_KEYS, 1, MAX_KEYS);
    int ipv6Prefix = (int) f.number("ipv6_prefix", 128, 1, 128);
    if (f.has("ipv6_prefix") && !"client_ip".equals(key)) {
      f.problem(f.at("ipv6_prefix"), "applies to key client_ip only (the key here is " + key + ")");
    }
    String scope = f.string("scope", "local");
    if (scope != null && !scope.equals("local") && !scope.equals("cluster")) {
      f.problem(f.at("scope"), "expected local or cluster, got \"" + scope + "\"");
    }
    if (key != null && !key.equals("client_ip") && !key.equals("api_key") && !key.equals("jwt_sub")
        && !(key.startsWith("header:") && key.length() > "header:".length())) {
      f.problem(f.at("key"), "expected client_ip, api_key, jwt_sub or header:NAME, got \"" + key + "\"");
    }
    String identity = route.consumerKind();
    if ("api_key".equals(key) && !"api_key".equals(identity)) {
      f.problem(f.at("key"), "api_key needs auth of type api_key on the route");
    } else if ("jwt_sub".equals(key) && !"jwt".equals(identity)) {
      f.problem(f.at("key"), "jwt_sub needs auth of type jwt on the route");
    } else if (key != null && key.startsWith("header:") && identity == null) {
      // Any client can send any header value: on an open route each value would be a fresh budget.
      f.problem(f.at("key"), "header:NAME keys need auth on the route (a client can send any value, "
          + "so only authenticated clients may be counted by a header); use client_ip on open routes");
    }
    f.rejectUnknown();
    return new RateLimitConfig(rps, burst, key, maxKeys,
        "cluster".equals(scope) ? RateLimitConfig.Scope.CLUSTER : RateLimitConfig.Scope.LOCAL, ipv6Prefix);
  }
}
