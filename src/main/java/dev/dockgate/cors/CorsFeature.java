package dev.dockgate.cors;

import dev.dockgate.config.Fields;
import dev.dockgate.pipeline.AbstractFeature;
import dev.dockgate.pipeline.Phase;
import dev.dockgate.pipeline.Stage;
import dev.dockgate.pipeline.StageContext;

/** A route's {@code cors:} block: the gateway answers CORS for the route (see {@link CorsConfig}). */
public final class CorsFeature extends AbstractFeature<CorsConfig> {

  public CorsFeature() {
    super("cors", Phase.CORS, CorsConfig.class);
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
