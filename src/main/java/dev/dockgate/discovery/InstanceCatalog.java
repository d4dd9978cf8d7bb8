package dev.dockgate.discovery;

import dev.dockgate.config.BackendConfig;
import dev.dockgate.config.CircuitBreakerConfig;
import dev.dockgate.discovery.BackendInstances.Discovered;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * The one place where discovered instances become the per-backend snapshot ({@link BackendInstances}):
 * on each change of what the sources discovered, or of the backends, it leaves out instances that are
 * not ready, resolves every backend's instances once and hands the snapshot on when it differs.
 * Ready: Docker reports the container {@code healthy} (a container with a HEALTHCHECK; out again when
 * {@code unhealthy}), or, without a HEALTHCHECK, the instance accepted a TCP connection (probed every
 * 50 ms for up to its backends' startup grace, then routed anyway). Fixed targets are always in.
 * Used on the discovery verticle's event loop; Vert.x-free but for {@link Future}.
 */
public final class InstanceCatalog {

  /** Tells when an instance accepts connections; {@code false} when {@code allowedMs} ran out or it is no longer wanted. */
  public interface Probe {
    Future<Boolean> untilOpen(Instance instance, long allowedMs, BooleanSupplier wanted);
  }

  private static final Logger LOG = Logger.getLogger(InstanceCatalog.class.getName());

  private final Probe probe;
  private final Consumer<BackendInstances> publish;
  private List<BackendConfig> backends;
  private List<Discovered> discovered = List.of();
  /** Instances (by {@link #key}) that accepted a connection, or whose probe ran out of time. */
  private final Set<String> opened = new HashSet<>();
  private final Map<String, Future<Boolean>> probing = new HashMap<>();
  private BackendInstances current = BackendInstances.EMPTY;
  private boolean updating;
  private boolean updateAgain;

  public InstanceCatalog(List<BackendConfig> backends, Probe probe, Consumer<BackendInstances> publish) {
    this.backends = List.copyOf(backends);
    this.probe = probe;
    this.publish = publish;
  }

  /** What the sources discover now, whole (today the Docker importer's records). */
  public void discovered(List<Discovered> now) {
    discovered = List.copyOf(now);
    update();
  }

  /** A reload changed the backends. */
  public void backends(List<BackendConfig> next) {
    backends = List.copyOf(next);
    update();
  }

  /** The last snapshot handed on. */
  public BackendInstances current() {
    return current;
  }

  /** Completes when the probes running now have ended (each is bounded by its startup grace). */
  public Future<Void> probed() {
    return Future.join(List.copyOf(probing.values())).mapEmpty();
  }

  private void update() {
    if (updating) {
      updateAgain = true; // a probe answered at once: finish this pass, then another
      return;
    }
    updating = true;
    try {
      do {
        updateAgain = false;
        resolve();
      } while (updateAgain);
    } finally {
      updating = false;
    }
  }

  private void resolve() {
    Set<String> present = new HashSet<>();
    List<Discovered> ready = new ArrayList<>();
    for (Discovered d : discovered) {
      String key = key(d.instance());
      present.add(key);
      if (ready(d, key)) {
        ready.add(d);
      }
    }
    opened.retainAll(present);
    probing.keySet().retainAll(present);
    BackendInstances next = BackendInstances.resolve(current.version() + 1, ready, backends);
    if (!next.sameAs(current)) {
      current = next;
      publish.accept(next);
    }
  }

  private boolean ready(Discovered d, String key) {
    switch (d.health()) {
      case ContainerInfo.HEALTHY:
        return true;
      case ContainerInfo.STARTING, ContainerInfo.UNHEALTHY:
        return false;
      default:
        if (opened.contains(key)) {
          return true;
        }
        long grace = grace(d);
        if (grace == 0) {
          opened.add(key);
          return true;
        }
        if (!probing.containsKey(key)) {
          startProbe(d, key, grace);
        }
        return false;
    }
  }

  private void startProbe(Discovered d, String key, long graceMs) {
    Instance instance = d.instance();
    long started = System.nanoTime();
    Promise<Boolean> outcome = Promise.promise();
    Future<Boolean> running = outcome.future();
    probing.put(key, running); // before the first attempt, which asks whether it is still wanted
    probe.untilOpen(instance, graceMs, () -> probing.get(key) == running).onComplete(outcome);
    running.onComplete(ar -> {
      if (!probing.remove(key, running)) {
        return; // gone meanwhile
      }
      opened.add(key);
      if (ar.succeeded() && ar.result()) {
        LOG.log(selected(d) ? java.util.logging.Level.INFO : java.util.logging.Level.FINE, "instance " + instance
            + " accepts connections after " + (System.nanoTime() - started) / 1_000_000 + " ms: in rotation");
      } else if (selected(d)) {
        LOG.warning("instance " + instance + " refused connections for its whole startup grace (" + graceMs
            + " ms): in rotation anyway, its circuit breaker judges it from now on");
      }
      update();
    });
  }

  /**
   * The longest startup grace of the backends selecting {@code d}; the default one when none does (it
   * is probed all the same, so that a reload selecting it finds it ready).
   */
  private long grace(Discovered d) {
    long grace = -1;
    for (BackendConfig backend : backends) {
      if (BackendInstances.selects(backend, d)) {
        grace = Math.max(grace, backend.circuitBreaker().startupGraceMs());
      }
    }
    return grace < 0 ? CircuitBreakerConfig.DEFAULT_STARTUP_GRACE_MS : grace;
  }

  private boolean selected(Discovered d) {
    return backends.stream().anyMatch(b -> BackendInstances.selects(b, d));
  }

  private static String key(Instance instance) {
    return instance.id() + "@" + instance.host() + ":" + instance.port();
  }
}
