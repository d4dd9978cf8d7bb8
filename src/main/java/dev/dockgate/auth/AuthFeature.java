package dev.dockgate.auth;

import dev.dockgate.config.Fields;
import dev.dockgate.pipeline.AbstractFeature;
import dev.dockgate.pipeline.Phase;
import dev.dockgate.pipeline.Stage;
import dev.dockgate.pipeline.StageContext;

/** A route's {@code auth:} block: API keys or JWT bearer tokens (see {@link AuthParser}). */
public final class AuthFeature extends AbstractFeature<AuthParser.Auth> {

  public static final String KEY = "auth";

  public AuthFeature() {
    super(KEY, Phase.AUTH, AuthParser.Auth.class);
  }

  @Override
  public AuthParser.Auth parse(Fields block, Route route) {
    return AuthParser.auth(block);
  }

  @Override
  public Stage stage(AuthParser.Auth config, StageContext context) {
    if (config.jwt() != null) {
      return new JwtStage(new JwtAuth(context.shared(JwksCache.class), config.jwt()));
    }
    return new ApiKeyStage(new ApiKeyAuth(config.apiKeys()));
  }
}
