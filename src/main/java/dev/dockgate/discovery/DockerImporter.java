package dev.dockgate.discovery;

import dev.dockgate.config.DockerConfig;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.servicediscovery.Record;
import io.vertx.servicediscovery.spi.ServiceImporter;
import io.vertx.servicediscovery.spi.ServicePublisher;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Logger;

/**
 * Publishes one service record per running, addressable container, with its HEALTHCHECK status (a
 * change of status republishes it). Lists the containers at start
 * and after every container event (whole-state sync, publishing only the difference), follows the
 * event stream, and reconnects with capped backoff when the engine goes away, keeping the last
 * known records meanwhile. Runs on the event loop of the verticle that registered it.
 */
public final class DockerImporter implements ServiceImporter {

  private static final Logger LOG = Logger.getLogger(DockerImporter.class.getName());
  private static final long MIN_BACKOFF_MS = 250;
  private static final long MAX_BACKOFF_MS = 5_000;
  /** Signals after which a container is about to go away: SIGINT, SIGQUIT, SIGKILL, SIGTERM. */
  private static final Set<String> STOP_SIGNALS = Set.of("2", "3", "9", "15", "SIGINT", "SIGQUIT",
      "SIGKILL", "SIGTERM", "INT", "QUIT", "KILL", "TERM");

  private final DockerConfig config;
  private final Map<String, Published> published = new HashMap<>();
  private final Set<String> goingAway = new HashSet<>();
  private final Set<String> reportedUnusable = new HashSet<>();
  private final ContainerHealth health = new ContainerHealth();

  private Vertx vertx;
  private ServicePublisher publisher;
  private DockerEngine engine;
  private AddressResolver resolver;
  private boolean syncing;
  private boolean syncAgain;
  private boolean connected;
  private boolean degradedReported;
  private long backoffMs = MIN_BACKOFF_MS;
  private boolean closed;

  private record Published(String registration, ContainerInfo container, AddressResolver.Address address) {
  }

  public DockerImporter(DockerConfig config) {
    this.config = config;
  }

  @Override
  public void start(Vertx vertx, ServicePublisher publisher, JsonObject unused, Promise<Void> ready) {
    this.vertx = vertx;
    this.publisher = publisher;
    this.engine = new DockerEngine(vertx, config.host());
    this.resolver = new AddressResolver(engine.reachableHost(), config.network());
    // Never hold the gateway's start on Docker: without it, routes answer 503 until it is back.
    connect().onComplete(ar -> ready.complete());
  }

  /** For readiness: whether the engine's event stream is followed now, and how many containers are published. */
  public JsonObject status() {
    return new JsonObject().put("engine", engine == null ? config.host() : engine.description())
        .put("connected", connected).put("instances", published.size());
  }

  @Override
  public void close(Handler<Void> done) {
    closed = true;
    engine.close().onComplete(ar -> done.handle(null));
  }

  private Future<Void> connect() {
    return engine.followEvents(this::onEvent, this::onStreamEnded)
        .compose(v -> sync())
        .onSuccess(v -> onConnected())
        .onFailure(this::onUnreachable);
  }

  private void onConnected() {
    backoffMs = MIN_BACKOFF_MS;
    if (degradedReported) {
      LOG.info("docker engine " + engine.description() + " reachable again; resynchronised, "
          + published.size() + " instance(s) published");
    } else if (!connected) {
      LOG.info("docker discovery following " + engine.description() + "; " + published.size()
          + " instance(s) published");
    }
    connected = true;
    degradedReported = false;
  }

  private void onStreamEnded(Throwable cause) {
    connected = false;
    onUnreachable(cause);
  }

  private void onUnreachable(Throwable cause) {
    if (closed) {
      return;
    }
    if (!degradedReported) {
      LOG.warning("docker engine " + engine.description() + " unreachable (" + cause.getMessage()
          + "); keeping " + published.size() + " last known instance(s), retrying with backoff up to "
          + MAX_BACKOFF_MS + " ms");
      degradedReported = true;
    }
    long delay = backoffMs;
    backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
    vertx.setTimer(delay, id -> {
      if (!closed) {
        connect();
      }
    });
  }

  private void onEvent(JsonObject event) {
    String action = event.getString("Action", event.getString("status", ""));
    JsonObject actor = event.getJsonObject("Actor", new JsonObject());
    String id = actor.getString("ID", event.getString("id", ""));
    if ("kill".equals(action)) {
      String signal = actor.getJsonObject("Attributes", new JsonObject()).getString("signal", "");
      if (STOP_SIGNALS.contains(signal)) {
        goingAway.add(id);
      }
    } else if ("stop".equals(action)) {
      goingAway.add(id);
    } else if ("start".equals(action) || "restart".equals(action)) {
      goingAway.remove(id);
    } else if (action.startsWith("health_status")) {
      health.changed(id);
    }
    requestSync();
  }

  private void requestSync() {
    if (syncing) {
      syncAgain = true;
      return;
    }
    sync().onFailure(err -> LOG.fine("docker sync failed: " + err.getMessage()));
  }

  /** Lists running containers and publishes the difference from what is published now. */
  private Future<Void> sync() {
    syncing = true;
    syncAgain = false;
    return engine.listRunning()
        .compose(running -> health.annotate(running, engine::health))
        .compose(this::apply)
        .andThen(ar -> {
          syncing = false;
          if (syncAgain && !closed) {
            requestSync();
          }
        });
  }

  private Future<Void> apply(List<ContainerInfo> running) {
    Map<String, ContainerInfo> wanted = new HashMap<>();
    Set<String> runningIds = new HashSet<>();
    for (ContainerInfo c : running) {
      runningIds.add(c.id());
      if (!goingAway.contains(c.id())) {
        wanted.put(c.id(), c);
      }
    }
    goingAway.retainAll(runningIds);
    reportedUnusable.retainAll(runningIds);

    List<Future<?>> changes = new ArrayList<>();
    for (Published p : List.copyOf(published.values())) {
      ContainerInfo now = wanted.get(p.container().id());
      if (now != null && !now.equals(p.container()) && now.equals(p.container().withHealth(now.health()))) {
        changes.add(updateHealth(p, now));
      } else if (now == null || !now.equals(p.container())) {
        changes.add(unpublish(p));
      }
    }
    for (ContainerInfo c : wanted.values()) {
      if (!published.containsKey(c.id())) {
        changes.add(publish(c));
      }
    }
    return Future.join(changes).mapEmpty();
  }

  private Future<?> publish(ContainerInfo c) {
    AddressResolver.Resolution resolution = resolver.resolve(c);
    if (resolution instanceof AddressResolver.Unusable unusable) {
      if (reportedUnusable.add(c.id())) {
        LOG.info("container " + c.name() + " (" + c.shortId() + ") skipped: " + unusable.reason());
      }
      return Future.succeededFuture();
    }
    AddressResolver.Address address = (AddressResolver.Address) resolution;
    Record record = ContainerRecords.toRecord(c, address);
    // Reserve the slot now so a concurrent sync does not publish the same container twice.
    published.put(c.id(), new Published(null, c, address));
    return publisher.publish(record)
        .onSuccess(r -> {
          Published reserved = published.get(c.id());
          Published done = new Published(r.getRegistration(), c, address);
          published.put(c.id(), done);
          if (reserved != null && reserved.registration() == null && !reserved.container().equals(c)) {
            updateHealth(done, reserved.container());
          }
          LOG.info("instance up: container " + c.name() + " (" + c.shortId() + ") at " + address.host()
              + ":" + address.port() + " (" + address.reason() + ")"
              + (ContainerInfo.NO_HEALTHCHECK.equals(c.health()) ? "" : ", health " + c.health()));
        })
        .onFailure(err -> {
          published.remove(c.id());
          LOG.warning("cannot publish container " + c.name() + ": " + err.getMessage());
        });
  }

  /** Only the container's HEALTHCHECK status changed: the same record, updated in place. */
  private Future<?> updateHealth(Published p, ContainerInfo now) {
    if (p.registration() == null) {
      // still being published: noted on the reservation, updated once the record is in
      published.put(now.id(), new Published(null, now, p.address()));
      return Future.succeededFuture();
    }
    // An update replaces the record whole: without UP it would leave the registry's listings.
    Record record = ContainerRecords.toRecord(now, p.address()).setRegistration(p.registration())
        .setStatus(io.vertx.servicediscovery.Status.UP);
    return publisher.update(record).onSuccess(r -> {
      if (published.get(now.id()) == p) {
        published.put(now.id(), new Published(p.registration(), now, p.address()));
      }
      LOG.info("container " + now.name() + " (" + now.shortId() + ") is " + now.health());
    });
  }

  private Future<?> unpublish(Published p) {
    published.remove(p.container().id());
    if (p.registration() == null) {
      return Future.succeededFuture();
    }
    return publisher.unpublish(p.registration())
        .onSuccess(v -> LOG.info("instance down: container " + p.container().name() + " ("
            + p.container().shortId() + ")"));
  }
}
