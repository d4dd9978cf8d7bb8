package dev.dockgate.pipeline;

import dev.dockgate.config.Fields;
import dev.dockgate.config.RouteBlockParser;

/**
 * A route feature: the config block it reads ({@link #key()}), the parser for it, and the stage
 * made from the parsed block. Adding a feature is one of these, registered in the process's wiring;
 * nothing in the router changes.
 *
 * @param <C> the block's config record
 */
public interface Feature<C> extends RouteBlockParser {

  Phase phase();

  /** The record {@link #parse} returns. */
  Class<C> configType();

  @Override
  C parse(Fields block, Route route);

  /** The stage for one route on one router, from its parsed block. */
  Stage stage(C config, StageContext context);
}
