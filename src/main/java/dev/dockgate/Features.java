package dev.dockgate;

import dev.dockgate.auth.AuthFeature;
import dev.dockgate.config.ConfigLoader;
import dev.dockgate.config.GatewayConfig;
import dev.dockgate.cors.CorsFeature;
import dev.dockgate.limits.RateLimitFeature;
import dev.dockgate.pipeline.Feature;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.List;

/**
 * The route features this gateway is built with, by config key; a route's stages run in their
 * phase order whatever the order here. A new feature is one line here plus its package.
 */
public final class Features {

  public static final List<Feature<?>> ALL = List.of(new CorsFeature(), new AuthFeature(), new RateLimitFeature());

  private Features() {
  }

  /** Loads and validates a config file with every feature's route blocks. */
  public static Future<GatewayConfig> load(Vertx vertx, String file) {
    return ConfigLoader.load(vertx, file, ALL);
  }

  /** As {@link #load}, with where the values not written in the file came from (for --validate). */
  public static Future<ConfigLoader.Loaded> check(Vertx vertx, String file) {
    return ConfigLoader.check(vertx, file, ALL);
  }

  /** Validates raw config JSON with every feature's route blocks. */
  public static GatewayConfig parse(String file, JsonObject json) {
    return ConfigLoader.parse(file, json, ALL);
  }
}
