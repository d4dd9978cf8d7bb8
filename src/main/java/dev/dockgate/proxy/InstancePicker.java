package dev.dockgate.proxy;

import dev.dockgate.config.LoadBalancer;
import java.util.concurrent.ThreadLocalRandom;

/** Chooses the upstream for one request. One picker per route and router instance: not thread-safe. */
@FunctionalInterface
public interface InstancePicker {

  /** Returns one of {@code candidates}, or null when there is none. */
  Upstream pick(Upstream[] candidates);

  /**
   * A candidate at random among those without requests of this router in flight (found by up to {@link #IDLE_DRAWS}
   * random draws, or among all when there are no more); when none is free, the less busy of two random draws. Equally
   * fast candidates still get equal shares; but a request is not stacked on a busy instance while another is free,
   * which with many instances would need an extra connection to it that then idles (in front of 200 instances a plain
   * random choice held three times the connections round robin does, and opened some 100 a second).
   */
  InstancePicker RANDOM = candidates -> switch (candidates.length) {
    case 0 -> null;
    case 1 -> candidates[0];
    default -> random(candidates);
  };

  /** How many random draws look for an instance without requests of this router in flight. */
  int IDLE_DRAWS = 8;

  static InstancePicker of(LoadBalancer lb) {
    return switch (lb) {
      case RANDOM -> RANDOM;
      case ROUND_ROBIN -> new RoundRobin();
      case LEAST_REQUESTS -> InstancePicker::leastRequests;
    };
  }

  private static Upstream random(Upstream[] candidates) {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    int n = candidates.length;
    if (n <= IDLE_DRAWS) {
      int idle = 0;
      for (Upstream u : candidates) {
        if (u.inFlight() == 0) {
          idle++;
        }
      }
      if (idle == n) {
        return candidates[random.nextInt(n)];
      }
      if (idle > 0) {
        int k = random.nextInt(idle);
        for (Upstream u : candidates) {
          if (u.inFlight() == 0 && k-- == 0) {
            return u;
          }
        }
      }
      return lessBusyOfTwo(candidates, random);
    }
    for (int draw = 0; draw < IDLE_DRAWS; draw++) {
      Upstream u = candidates[random.nextInt(n)];
      if (u.inFlight() == 0) {
        return u;
      }
    }
    return lessBusyOfTwo(candidates, random);
  }

  /** The less busy of two distinct random candidates, the first drawn when they are equally busy. */
  private static Upstream lessBusyOfTwo(Upstream[] candidates, ThreadLocalRandom random) {
    int n = candidates.length;
    int a = random.nextInt(n);
    int b = random.nextInt(n - 1);
    if (b >= a) {
      b++;
    }
    return candidates[b].inFlight() < candidates[a].inFlight() ? candidates[b] : candidates[a];
  }

  /** Power of two choices: the less busy of two distinct random candidates. */
  private static Upstream leastRequests(Upstream[] candidates) {
    int n = candidates.length;
    if (n < 2) {
      return n == 0 ? null : candidates[0];
    }
    return lessBusyOfTwo(candidates, ThreadLocalRandom.current());
  }

  /** Each candidate in turn. */
  final class RoundRobin implements InstancePicker {
    private int next;

    @Override
    public Upstream pick(Upstream[] candidates) {
      if (candidates.length == 0) {
        return null;
      }
      int i = Math.floorMod(next++, candidates.length);
      return candidates[i];
    }

    /**
     * After {@link #pick} gave an instance that cannot answer, {@code others} being the candidates without it (in
     * their order): the first after it in turn that can answer, its turn and those passed over taken; null: none can.
     * A second pick among {@code others} would count from the turn after, landing past the next one: with one
     * instance of four passed over, one of the other three got a ninth of the requests and the two others four
     * ninths each.
     */
    Upstream nextAble(Upstream[] others) {
      int n = others.length;
      if (n == 0) {
        return null;
      }
      int first = Math.floorMod(next - 1, n + 1) % n; // the one after the passed-over pick
      for (int k = 0; k < n; k++) {
        Upstream u = others[(first + k) % n];
        if (!Tries.unavailable(u)) {
          next += k + 1;
          return u;
        }
      }
      return null;
    }
  }
}
