package dev.dockgate.pipeline;

/** A {@link Feature} whose key, phase and config type are fixed at construction; a feature then writes only its parse and stage. */
public abstract class AbstractFeature<C> implements Feature<C> {

  private final String key;
  private final Phase phase;
  private final Class<C> configType;

  protected AbstractFeature(String key, Phase phase, Class<C> configType) {
    this.key = key;
    this.phase = phase;
    this.configType = configType;
  }

  @Override
  public final String key() {
    return key;
  }

  @Override
  public final Phase phase() {
    return phase;
  }

  @Override
  public final Class<C> configType() {
    return configType;
  }
}
