package dev.dockgate.proxy;

import dev.dockgate.discovery.Instance;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.config.LoadBalancer;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Distribution of each load-balancing algorithm over fixed candidate arrays. */
class InstancePickerTest {

  static Upstream[] upstreams(int n) {
    Upstream[] result = new Upstream[n];
    for (int i = 0; i < n; i++) {
      result[i] = new Upstream(new Instance("id" + i, "i" + i, "127.0.0.1", 9000 + i), null);
    }
    return result;
  }

  static Map<Upstream, Integer> draw(InstancePicker picker, Upstream[] candidates, int n) {
    Map<Upstream, Integer> hits = new HashMap<>();
    for (int i = 0; i < n; i++) {
      hits.merge(picker.pick(candidates), 1, Integer::sum);
    }
    return hits;
  }

  @Test
  void everyAlgorithmHandlesNoneAndOne() {
    for (LoadBalancer lb : LoadBalancer.values()) {
      InstancePicker picker = InstancePicker.of(lb);
      assertNull(picker.pick(new Upstream[0]), lb.name());
      Upstream[] one = upstreams(1);
      assertSame(one[0], picker.pick(one), lb.name());
    }
  }

  @Test
  void roundRobinCyclesExactly() {
    Upstream[] c = upstreams(3);
    InstancePicker picker = InstancePicker.of(LoadBalancer.ROUND_ROBIN);
    for (int round = 0; round < 4; round++) {
      for (int i = 0; i < 3; i++) {
        assertSame(c[i], picker.pick(c));
      }
    }
    assertEquals(Map.of(c[0], 100, c[1], 100, c[2], 100), draw(picker, c, 300));
  }

  @Test
  void randomIsRoughlyUniform() {
    Upstream[] c = upstreams(4);
    Map<Upstream, Integer> hits = draw(InstancePicker.of(LoadBalancer.RANDOM), c, 40_000);
    // Expected 10,000 each; +-600 is over 6 standard deviations.
    hits.values().forEach(h -> assertTrue(Math.abs(h - 10_000) < 600, hits.toString()));
  }

  @Test
  void leastRequestsAvoidsTheBusiestAndSpreadsEqualLoad() {
    Upstream[] c = upstreams(3);
    InstancePicker picker = InstancePicker.of(LoadBalancer.LEAST_REQUESTS);
    c[0].started();
    c[0].started();
    c[1].started();
    // Two distinct candidates are compared: the busiest (c0) can never win.
    Map<Upstream, Integer> hits = draw(picker, c, 3_000);
    assertNull(hits.get(c[0]), hits.toString());
    // c2 (0 in flight) wins against both others: 2/3 of draws include it.
    assertTrue(hits.get(c[2]) > 1_800, hits.toString());

    Upstream[] equal = upstreams(2);
    Map<Upstream, Integer> even = draw(picker, equal, 10_000);
    even.values().forEach(h -> assertTrue(h > 4_000, even.toString()));
  }
}
