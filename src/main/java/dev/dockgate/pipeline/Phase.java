package dev.dockgate.pipeline;

/**
 * The fixed order of a route's stages, whatever the order of its config blocks: CORS first (a
 * preflight carries no credentials), then authentication, then limits (which may count by the
 * authenticated consumer), then caching and transforms.
 */
public enum Phase {
  CORS, AUTH, LIMITS, CACHE, TRANSFORM
}
