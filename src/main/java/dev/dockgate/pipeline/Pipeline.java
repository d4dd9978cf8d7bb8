package dev.dockgate.pipeline;

import dev.dockgate.config.RouteConfig;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * A route compiled from config: its stages in {@link Phase} order, then its terminal. Immutable;
 * one per route per router, replaced whole on reload. Running it allocates nothing per stage.
 */
public final class Pipeline {

  private static final Stage[] NONE = new Stage[0];

  private final RouteConfig route;
  private final Stage[] stages;
  private final Stage[] responseStages;
  private final Terminal terminal;
  private final boolean answersPreflight;
  private final java.util.Set<String> ownedHeaders;
  /** The owned and the checked header names: a client's {@code _} look-alikes of them are dropped. */
  private final java.util.Set<String> lookAlikeGuarded;
  /**
   * Those of {@link #lookAlikeGuarded} holding a {@code _}, with {@code -} for it ({@code header: X_Auth_Token} gives
   * {@code x-auth-token}): a client's header of such a name is their look-alike too. Empty on nearly every route.
   */
  private final java.util.Set<String> dashedLookAlikes;

  private Pipeline(RouteConfig route, Stage[] stages, Terminal terminal) {
    this.route = route;
    this.stages = stages;
    this.terminal = terminal;
    List<Stage> responding = new ArrayList<>();
    boolean preflight = false;
    java.util.Set<String> owned = new java.util.HashSet<>();
    java.util.Set<String> guarded = new java.util.HashSet<>();
    for (Stage stage : stages) {
      owned.addAll(stage.ownedHeaders());
      guarded.addAll(stage.checkedHeaders());
      if (stage.seesResponse()) {
        responding.add(stage);
      }
      preflight |= stage.answersPreflight();
    }
    this.responseStages = responding.isEmpty() ? NONE : responding.toArray(NONE);
    this.answersPreflight = preflight;
    this.ownedHeaders = java.util.Set.copyOf(owned);
    guarded.addAll(owned);
    this.lookAlikeGuarded = java.util.Set.copyOf(guarded);
    this.dashedLookAlikes = java.util.Set.copyOf(guarded.stream().filter(name -> name.indexOf('_') >= 0)
        .map(name -> name.replace('_', '-')).toList());
  }

  /** The route's stages from its config blocks, ordered by phase, in front of {@code terminal}. */
  public static Pipeline compile(RouteConfig route, List<Feature<?>> features, StageContext context, Terminal terminal) {
    List<Feature<?>> ordered = new ArrayList<>(features);
    ordered.sort(Comparator.comparing(Feature::phase));
    List<Stage> stages = new ArrayList<>();
    for (Feature<?> feature : ordered) {
      Stage stage = stage(feature, route, context);
      if (stage != null) {
        stages.add(stage);
      }
    }
    return new Pipeline(route, stages.toArray(NONE), terminal);
  }

  private static <C> Stage stage(Feature<C> feature, RouteConfig route, StageContext context) {
    C config = route.block(feature.key(), feature.configType());
    return config == null ? null : feature.stage(config, context);
  }

  public RouteConfig route() {
    return route;
  }

  public Terminal terminal() {
    return terminal;
  }

  Stage[] stages() {
    return stages;
  }

  /** True when a stage answers CORS preflights for this route. */
  public boolean answersPreflight() {
    return answersPreflight;
  }

  /** The header names this route's stages set toward the backend (see {@link Stage#ownedHeaders()}). */
  public java.util.Set<String> ownedHeaders() {
    return ownedHeaders;
  }

  /**
   * The names whose {@code _} look-alikes a client sends are dropped: the owned ones and those a stage checked and
   * lets through (see {@link Stage#checkedHeaders()}).
   */
  public java.util.Set<String> lookAlikeGuarded() {
    return lookAlikeGuarded;
  }

  /** The guarded names holding a {@code _}, with {@code -} for it: their look-alikes without {@code _}. */
  public java.util.Set<String> dashedLookAlikes() {
    return dashedLookAlikes;
  }

  /** True when a stage edits answers' headers (see {@link #onResponse}). */
  public boolean seesResponses() {
    return responseStages.length > 0;
  }

  /** Lets the stages that edit answers see the backend's response headers. */
  public void onResponse(Exchange exchange, io.vertx.core.MultiMap headers) {
    for (Stage stage : responseStages) {
      stage.onResponse(exchange, headers);
    }
  }

  /** Tells the terminal its route was replaced (see {@link Terminal#close()}). */
  public void close() {
    terminal.close();
  }
}
