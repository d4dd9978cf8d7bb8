package dev.dockgate.proxy;

import dev.dockgate.config.LoadBalancer;
import java.util.concurrent.ThreadLocalRandom;

/** Chooses the upstream for one request. One picker per route and router instance: not thread-safe. */
@FunctionalInterface
public interface InstancePicker {

  /** Returns one of {@code candidates}, or null when there is none. */
  Upstream pick(Upstream[] candidates);

  /**
   * A candidate at random; one with requests of this router in flight yields to a second random draw that has
   * fewer. Each candidate still gets an equal share, and below saturation the first draw is nearly always taken;
   * but a request is not stacked on a busy instance while another is free, which with many instances would need
   * an extra connection to it that then idles (in front of 200 instances a plain random choice held three times the
   * connections round robin does, and opened some 100 a second).
   */
  InstancePicker RANDOM = candidates -> switch (candidates.length) {
    case 0 -> null;
    case 1 -> candidates[0];
    default -> random(candidates);
  };

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
    int a = random.nextInt(n);
    Upstream first = candidates[a];
    int busy = first.inFlight();
    if (busy == 0) {
      return first;
    }
    int b = random.nextInt(n - 1);
    Upstream second = candidates[b >= a ? b + 1 : b];
    return second.inFlight() < busy ? second : first;
  }

  /** Power of two choices: the less busy of two distinct random candidates. */
  private static Upstream leastRequests(Upstream[] candidates) {
    int n = candidates.length;
    if (n < 2) {
      return n == 0 ? null : candidates[0];
    }
    ThreadLocalRandom random = ThreadLocalRandom.current();
    int a = random.nextInt(n);
    int b = random.nextInt(n - 1);
    if (b >= a) {
      b++;
    }
    return candidates[a].inFlight() <= candidates[b].inFlight() ? candidates[a] : candidates[b];
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
  }
}
