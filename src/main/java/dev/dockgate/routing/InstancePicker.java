package dev.dockgate.routing;

import java.util.concurrent.ThreadLocalRandom;

/** Chooses the upstream for one request. Random by default, as rgate did. */
@FunctionalInterface
public interface InstancePicker {

  /** Returns one of {@code candidates}, or null when there is none. */
  Upstream pick(Upstream[] candidates);

  InstancePicker RANDOM = candidates -> switch (candidates.length) {
    case 0 -> null;
    case 1 -> candidates[0];
    default -> candidates[ThreadLocalRandom.current().nextInt(candidates.length)];
  };
}
