package dev.dockgate.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.config.Fields;
import dev.dockgate.config.RetryConfig;
import dev.dockgate.config.RouteConfig;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Compiling a route: its blocks' stages in phase order whatever the registration or config order. */
class PipelineTest {

  record Named(String name, Phase phase, boolean preflight, Set<String> owned) implements Stage {
    @Override
    public boolean handle(Exchange exchange) {
      return true;
    }

    @Override
    public boolean answersPreflight() {
      return preflight;
    }

    @Override
    public Set<String> ownedHeaders() {
      return owned;
    }
  }

  static final class Block extends AbstractFeature<String> {
    Block(String key, Phase phase) {
      super(key, phase, String.class);
    }

    @Override
    public String parse(Fields block, Route route) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Stage stage(String config, StageContext context) {
      return new Named(key(), phase(), key().equals("cors"), Set.of("x-" + key()));
    }
  }

  static final List<Feature<?>> FEATURES = List.of(new Block("rate_limit", Phase.LIMITS),
      new Block("transform", Phase.TRANSFORM), new Block("cors", Phase.CORS), new Block("auth", Phase.AUTH));

  static Pipeline compile(Map<String, Object> blocks) {
    RouteConfig route = new RouteConfig("/a", "web", 1000, false, List.of(), null, RetryConfig.NONE, blocks);
    return Pipeline.compile(route, FEATURES, new StageContext(null, null, route, Map.of()), exchange -> { });
  }

  static List<String> names(Pipeline pipeline) {
    return Arrays.stream(pipeline.stages()).map(s -> ((Named) s).name()).toList();
  }

  @Test
  void stagesRunInPhaseOrderAndOnlyForBlocksTheRouteHas() {
    Pipeline all = compile(Map.of("transform", "t", "rate_limit", "r", "auth", "a", "cors", "c"));
    assertEquals(List.of("cors", "auth", "rate_limit", "transform"), names(all));
    assertTrue(all.answersPreflight());
    assertEquals(Set.of("x-cors", "x-auth", "x-rate_limit", "x-transform"), all.ownedHeaders());

    Pipeline some = compile(Map.of("rate_limit", "r", "auth", "a"));
    assertEquals(List.of("auth", "rate_limit"), names(some));
    assertFalse(some.answersPreflight());

    Pipeline none = compile(Map.of());
    assertEquals(List.of(), names(none));
    assertEquals(Set.of(), none.ownedHeaders());
  }

  @Test
  void aBlockOfAnotherTypeIsNotTheFeatures() {
    assertEquals(List.of("auth"), names(compile(Map.of("auth", "a", "cors", 42))));
  }
}
