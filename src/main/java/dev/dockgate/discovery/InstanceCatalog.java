package dev.dockgate.discovery;

import dev.dockgate.config.BackendConfig;
import dev.dockgate.discovery.BackendInstances.Discovered;
import java.util.List;
import java.util.function.Consumer;

/**
 * The one place where discovered instances become the per-backend snapshot ({@link BackendInstances}):
 * on each change of what the sources discovered, or of the backends, it resolves every backend's
 * instances once and hands the snapshot on when it differs. Fixed targets are always in.
 * Used on the discovery verticle's event loop; needs no running Vert.x.
 */
public final class InstanceCatalog {

  private final Consumer<BackendInstances> publish;
  private List<BackendConfig> backends;
  private List<Discovered> discovered = List.of();
  private BackendInstances current = BackendInstances.EMPTY;

  public InstanceCatalog(List<BackendConfig> backends, Consumer<BackendInstances> publish) {
    this.backends = List.copyOf(backends);
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

  private void update() {
    BackendInstances next = BackendInstances.resolve(current.version() + 1, discovered, backends);
    if (!next.sameAs(current)) {
      current = next;
      publish.accept(next);
    }
  }
}
