package dev.dockgate.limits;

import dev.dockgate.config.Fields;
import dev.dockgate.pipeline.Feature;
import dev.dockgate.pipeline.Phase;
import dev.dockgate.pipeline.Stage;
import dev.dockgate.pipeline.StageContext;

/** A route's {@code rate_limit:} block: a token bucket per client key, one budget across all cores. */
public final class RateLimitFeature implements Feature<RateLimitConfig> {

  @Override
  public String key() {
    return "rate_limit";
  }

  @Override
  public Phase phase() {
    return Phase.LIMITS;
  }

  @Override
  public Class<RateLimitConfig> configType() {
    return RateLimitConfig.class;
  }

  @Override
  public RateLimitConfig parse(Fields block, Route route) {
    return RateLimitParser.parse(block, route);
  }

  @Override
  public Stage stage(RateLimitConfig config, StageContext context) {
    String routeId = context.route().pathPrefix() + " " + context.route().host();
    return new RateLimitStage(config, context.shared(RateLimiters.class).forRoute(routeId, config));
  }
}
