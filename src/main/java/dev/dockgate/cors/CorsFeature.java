package dev.dockgate.cors;

import dev.dockgate.config.Fields;
import dev.dockgate.pipeline.Feature;
import dev.dockgate.pipeline.Phase;
import dev.dockgate.pipeline.Stage;
import dev.dockgate.pipeline.StageContext;

/** A route's {@code cors:} block: the gateway answers CORS for the route (see {@link CorsConfig}). */
public final class CorsFeature implements Feature<CorsConfig> {

  @Override
  public String key() {
    return "cors";
  }

  @Override
  public Phase phase() {
    return Phase.CORS;
  }

  @Override
  public Class<CorsConfig> configType() {
    return CorsConfig.class;
  }

  @Override
  public CorsConfig parse(Fields block, Route route) {
    return CorsParser.cors(block, route.methods());
  }

  @Override
  public Stage stage(CorsConfig config, StageContext context) {
    return new CorsStage(new Cors(config));
  }
}
