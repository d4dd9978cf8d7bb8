package dev.dockgate.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** The windows of {@code subset_size}: their size, their evenness across a process's routers, their stability. */
class SubsetsTest {

  /** Instance identities as the breaker key's instance part writes them for fixed targets. */
  private static List<String> instances(int m) {
    List<String> names = new ArrayList<>();
    for (int i = 0; i < m; i++) {
      names.add("127.0.0.1:" + (9000 + i) + "/static:127.0.0.1:" + (9000 + i));
    }
    return names;
  }

  private static List<String> ring(List<String> instances) {
    return Subsets.ring(instances, Function.identity());
  }

  @Test
  void everyWindowHoldsTheSubsetSizeOrAllWhenFewer() {
    SplittableRandom random = new SplittableRandom(7);
    for (int m = 1; m <= 40; m++) {
      List<String> ring = ring(instances(m));
      for (int n = 1; n <= 12; n++) {
        for (int routers = 1; routers <= 9; routers++) {
          double seed = random.nextDouble();
          for (int r = 0; r < routers; r++) {
            List<String> window = Subsets.window(ring, n, r, routers, seed);
            assertEquals(Math.min(n, m), window.size(), "m=" + m + " n=" + n + " R=" + routers + " r=" + r);
            assertEquals(window.size(), new HashSet<>(window).size(), "no instance twice: " + window);
          }
        }
      }
    }
  }

  @Test
  void routersCoverEveryInstanceEvenlyWhenTheirWindowsCanReachAll() {
    SplittableRandom random = new SplittableRandom(11);
    int cases = 0;
    for (int m = 2; m <= 64; m++) {
      List<String> ring = ring(instances(m));
      for (int n = 1; n < m; n++) {
        for (int routers = 1; routers <= 16; routers++) {
          if (routers * n < m) {
            continue;
          }
          double seed = random.nextDouble();
          Map<String, Integer> count = new HashMap<>();
          for (int r = 0; r < routers; r++) {
            Subsets.window(ring, n, r, routers, seed).forEach(i -> count.merge(i, 1, Integer::sum));
          }
          assertEquals(m, count.size(), "every instance in some window: m=" + m + " n=" + n + " R=" + routers);
          int least = count.values().stream().mapToInt(Integer::intValue).min().orElseThrow();
          int most = count.values().stream().mapToInt(Integer::intValue).max().orElseThrow();
          String what = "m=" + m + " n=" + n + " R=" + routers + " seed=" + seed + ": " + count;
          assertTrue(most - least <= 1, what);
          assertEquals(Math.floorDiv(routers * n, m), least, what);
          cases++;
        }
      }
    }
    assertTrue(cases > 5_000, "cases: " + cases);
  }

  @Test
  void instancesInOneWindowMoreGetTwiceTheShareWhenTheWindowsCoverTheRingOnceAndAPart() {
    // As routing-and-security.md says: 2 routers, windows of 100, 150 instances: 50 instances in both windows.
    List<String> ring = ring(instances(150));
    for (double seed : new double[] {0.0, 0.31, 0.999}) {
      Map<String, Integer> windows = new HashMap<>();
      for (int r = 0; r < 2; r++) {
        Subsets.window(ring, 100, r, 2, seed).forEach(i -> windows.merge(i, 1, Integer::sum));
      }
      assertEquals(150, windows.size());
      assertEquals(50, windows.values().stream().filter(n -> n == 2).count(), "seed " + seed);
    }
  }

  @Test
  void anInstanceGoneMovesEachWindowByAtMostTwo() {
    SplittableRandom random = new SplittableRandom(13);
    for (int m = 3; m <= 30; m++) {
      List<String> all = instances(m);
      List<String> before = ring(all);
      for (int n = 1; n < m - 1; n++) {
        for (String gone : all) {
          int routers = 1 + random.nextInt(12);
          double seed = random.nextDouble();
          List<String> after = ring(all.stream().filter(i -> !i.equals(gone)).toList());
          for (int r = 0; r < routers; r++) {
            Set<String> was = new HashSet<>(Subsets.window(before, n, r, routers, seed));
            Set<String> is = new HashSet<>(Subsets.window(after, n, r, routers, seed));
            Set<String> left = new HashSet<>(was);
            left.removeAll(is);
            Set<String> joined = new HashSet<>(is);
            joined.removeAll(was);
            // The instance gone leaves its windows, and a window's start may move on by one instance: at most two
            // leave a window, and as many join it.
            assertTrue(left.size() <= 2 && joined.size() <= 2, "m=" + m + " n=" + n + " R=" + routers + " r=" + r
                + " gone " + gone + ": " + was + " -> " + is);
          }
        }
      }
    }
  }

  @Test
  void theSameInputsGiveTheSameWindowsInAnyOrder() {
    List<String> all = instances(30);
    List<String> shuffled = new ArrayList<>(all);
    java.util.Collections.shuffle(shuffled, new java.util.Random(3));
    assertEquals(ring(all), ring(shuffled), "the ring does not depend on the order instances are listed in");
    for (int r = 0; r < 4; r++) {
      assertEquals(Subsets.window(ring(all), 5, r, 4, 0.37), Subsets.window(ring(shuffled), 5, r, 4, 0.37));
    }
    // Fixed: the hash (and so the ring) is the same in every process, run and version (gateways of a cluster that
    // ordered the ring differently would no longer cover it evenly together).
    assertEquals(0x25e0588e817bff90L, Subsets.hash("127.0.0.1:9000/static:127.0.0.1:9000"));
    assertNotEquals(ring(all), all, "ordered by hash, not by name");
  }

  @Test
  void aProcessNumbersItsRoutersAgainWhenTheyAreDeployedAgain() {
    Subsets subsets = new Subsets(3, 0.5);
    List<Integer> numbers = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      numbers.add(subsets.nextRouter());
    }
    assertEquals(List.of(0, 1, 2, 0, 1, 2), numbers);
  }
}
