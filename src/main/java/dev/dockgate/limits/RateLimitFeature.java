package dev.dockgate.limits;

import dev.dockgate.config.Fields;
import dev.dockgate.pipeline.AbstractFeature;
import dev.dockgate.pipeline.Phase;
import dev.dockgate.pipeline.Stage;
import dev.dockgate.pipeline.StageContext;

/** A route's {@code rate_limit:} block: a token bucket per client key, one budget across all cores. */
public final class RateLimitFeature extends AbstractFeature<RateLimitConfig> {

  /** The route key of the block. */
  public static final String KEY = "rate_limit";

  public RateLimitFeature() {
    super(KEY, Phase.LIMITS, RateLimitConfig.class);
  }

  @Override
  public RateLimitConfig parse(Fields block, Route route) {
    return RateLimitParser.parse(block, route);
  }

  @Override
  public Stage stage(RateLimitConfig config, StageContext context) {
    return new RateLimitStage(config, context.shared(RateLimiters.class).forRoute(context.route(), config));
  }
}
