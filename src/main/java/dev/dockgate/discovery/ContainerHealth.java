package dev.dockgate.discovery;

import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The HEALTHCHECK status of each running container as last inspected, and the signal that stops it: a container is
 * inspected when first seen, again after each of its {@code health_status} events, and again when the listing shows
 * another status than the one last inspected (a change whose event the stream did not deliver; the listing's text is
 * no record of it, the inspection is). Used on the importer's event loop.
 */
final class ContainerHealth {

  private final Map<String, ContainerInfo.Inspected> known = new HashMap<>();
  /** Containers with a health event since their last inspection. */
  private final Set<String> changed = new HashSet<>();

  /** The number of the signal {@code docker stop} sends the container, or -1 before it is inspected. */
  int stopSignal(String id) {
    ContainerInfo.Inspected inspected = known.get(id);
    return inspected == null ? -1 : inspected.stopSignal();
  }

  /** A {@code health_status: ...} event named this container. */
  void changed(String id) {
    changed.add(id);
  }

  /**
   * The event stream was cut: health events may have been missed meanwhile, so every container is inspected
   * again by the next {@link #annotate}.
   */
  void eventsMissed() {
    changed.addAll(known.keySet());
  }

  /**
   * The listing with each container's health (and, on the host network, its exposed ports, which the listing
   * leaves out there): as last inspected, or from a fresh inspection for containers first seen, with an event
   * since, or whose status in the listing ({@code listed}, by id; absent where it shows none) is not the one last
   * inspected. No inspection where they agree: a listing of hundreds of containers stays one call. An event
   * arriving during an inspection marks the container again, and the sync it asks for inspects it again, so the
   * last status Docker reported wins.
   */
  Future<List<ContainerInfo>> annotate(List<ContainerInfo> running, Map<String, String> listed,
      Function<String, Future<ContainerInfo.Inspected>> inspect) {
    Set<String> ids = new HashSet<>();
    running.forEach(c -> ids.add(c.id()));
    known.keySet().retainAll(ids);
    changed.retainAll(ids);
    List<Future<ContainerInfo>> annotated = new ArrayList<>(running.size());
    for (ContainerInfo c : running) {
      ContainerInfo.Inspected last = known.get(c.id());
      String shown = listed.get(c.id());
      if (last != null && !changed.contains(c.id()) && (shown == null || shown.equals(last.health()))) {
        annotated.add(Future.succeededFuture(c.with(last)));
        continue;
      }
      changed.remove(c.id());
      annotated.add(inspect.apply(c.id()).map(fresh -> {
        known.put(c.id(), fresh);
        return c.with(fresh);
      }));
    }
    return Future.all(annotated).map(all -> {
      List<ContainerInfo> result = new ArrayList<>(running.size());
      for (int i = 0; i < running.size(); i++) {
        result.add(all.resultAt(i));
      }
      return result;
    });
  }
}
