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
  void roundRobinPassingOverAnInstanceThatCannotAnswerSharesItsTurnsEvenly() {
    io.vertx.core.Vertx vertx = io.vertx.core.Vertx.vertx();
    try {
      for (int skipped = 0; skipped < 4; skipped++) {
        Upstream[] c = new Upstream[4];
        for (int i = 0; i < c.length; i++) {
          c[i] = new Upstream(new Instance("id" + i, "i" + i, "127.0.0.1", 9000 + i), dev.dockgate.resilience.Breakers
              .create(vertx, "i" + i, new dev.dockgate.config.CircuitBreakerConfig(5, 10_000)), 0L, null);
        }
        c[skipped].passOver(System.nanoTime(), 60_000_000_000L); // refused in its startup grace a moment ago
        InstancePicker picker = InstancePicker.of(LoadBalancer.ROUND_ROBIN);
        Map<Upstream, Integer> hits = new HashMap<>();
        for (int n = 0; n < 3_000; n++) {
          Upstream picked = picker.pick(c); // as Tries.attempt does
          if (Tries.unavailable(picked)) {
            picked = Tries.alternative(picker, Tries.without(c, picked));
          }
          hits.merge(picked, 1, Integer::sum);
        }
        Map<Upstream, Integer> even = new HashMap<>();
        for (Upstream u : c) {
          if (u != c[skipped]) {
            even.put(u, 1_000);
          }
        }
        assertEquals(even, hits, "instance " + skipped + " passed over: each other one in turn");
      }
    } finally {
      vertx.close();
    }
  }

  @Test
  void randomIsRoughlyUniform() {
    Upstream[] c = upstreams(4);
    Map<Upstream, Integer> hits = draw(InstancePicker.of(LoadBalancer.RANDOM), c, 40_000);
    // Expected 10,000 each; +-600 is over 6 standard deviations.
    hits.values().forEach(h -> assertTrue(Math.abs(h - 10_000) < 600, hits.toString()));
  }

  @Test
  void randomLetsABusyFirstDrawYieldToAFreeOne() {
    InstancePicker picker = InstancePicker.of(LoadBalancer.RANDOM);
    Upstream[] two = upstreams(2);
    two[0].started();
    // A draw of the busy one is followed by a second, which can only be the free one.
    assertEquals(Map.of(two[1], 1_000), draw(picker, two, 1_000));

    // Among four with one busy: the busy one only when both draws are busy, never here; the others share evenly.
    Upstream[] four = upstreams(4);
    four[2].started();
    Map<Upstream, Integer> hits = draw(picker, four, 30_000);
    assertNull(hits.get(four[2]), hits.toString());
    for (int i : new int[] {0, 1, 3}) {
      assertTrue(Math.abs(hits.get(four[i]) - 10_000) < 600, hits.toString());
    }

    // Equally busy: no preference, still uniform.
    Upstream[] busy = upstreams(4);
    for (Upstream u : busy) {
      u.started();
    }
    Map<Upstream, Integer> even = draw(picker, busy, 40_000);
    even.values().forEach(h -> assertTrue(Math.abs(h - 10_000) < 600, even.toString()));
  }

  @Test
  void randomAmongManyLooksFurtherForAFreeOne() {
    InstancePicker picker = InstancePicker.of(LoadBalancer.RANDOM);
    Upstream[] twenty = upstreams(20);
    for (int i = 0; i < 10; i++) {
      twenty[2 * i].started();
    }
    // Half busy: a busy one only when all 8 draws are busy (1 in 256: some 40 of 10,000); the free ones share evenly.
    Map<Upstream, Integer> hits = draw(picker, twenty, 10_000);
    int onBusy = 0;
    for (int i = 0; i < 20; i++) {
      int h = hits.getOrDefault(twenty[i], 0);
      if (i % 2 == 0) {
        onBusy += h;
      } else {
        assertTrue(Math.abs(h - 1_000) < 200, hits.toString());
      }
    }
    assertTrue(onBusy < 120, "requests on busy instances: " + onBusy);
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
