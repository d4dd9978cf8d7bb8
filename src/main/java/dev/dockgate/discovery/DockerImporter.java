package dev.dockgate.discovery;

import dev.dockgate.config.DockerConfig;
import dev.dockgate.observability.LogPace;
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
 * Follows one Docker engine (one importer per engine) and publishes one service record per running,
 * addressable container, with its engine's name and its HEALTHCHECK status (a change of status
 * republishes it). Lists the containers at start, after every container event that can change them and after
 * every network connect or disconnect (whole-state sync, publishing only the difference), follows the event stream,
 * and reconnects with capped backoff when the engine goes away, keeping the last
 * known records meanwhile; a reconnection asks the events since the last one seen and inspects every
 * container again. Lists again every {@code resync_interval_ms} while followed, whatever the stream says: a stream
 * that stays open and delivers nothing (dropped on the way, the engine's events stuck) would miss every change, so
 * changes such a listing finds with no event around them (a HEALTHCHECK status included: a container whose listed
 * status differs from the one last inspected is inspected again) are applied, said in one paced WARNING (the misses
 * it held back said once its pace allows), and the stream is opened again. Runs on the event loop of the verticle
 * that registered it.
 *
 * <p>One state machine drives the connection: an attempt opens the event stream, then lists; any
 * failure of either, or of a later listing, or of a liveness check (every {@link #LIVENESS_PERIOD_MS} while
 * connected: a frozen engine leaves the stream open and silent), or the stream's end, closes that attempt's
 * stream and schedules the one next attempt. Callbacks of an earlier attempt are ignored, so at most one
 * stream is open and one retry pending, however often the engine restarts.
 */
public final class DockerImporter implements ServiceImporter {

  private static final Logger LOG = Logger.getLogger(DockerImporter.class.getName());
  private static final long MIN_BACKOFF_MS = 250;
  private static final long MAX_BACKOFF_MS = 5_000;
  /** Signals after which a container is about to go away, whatever its own stop signal: SIGINT, SIGQUIT, SIGKILL, SIGTERM. */
  private static final Set<Integer> STOP_SIGNALS = Set.of(2, 3, 9, 15);

  /**
   * Container events after which nothing discovery reads can have changed: a HEALTHCHECK runs as an exec, so each
   * run sends {@code exec_create}, {@code exec_start} and {@code exec_die} (prefix {@code exec_}), which would bring
   * a listing per event; {@code create} comes before a {@code start}, which the listing follows.
   */
  private static final Set<String> UNCHANGING = Set.of("attach", "detach", "resize", "top", "commit", "copy", "export",
      "archive-path", "extract-to-dir", "create");

  /** How long the start waits for the engine's first listing, as it waits for Consul's and DNS's first answers. */
  static final long START_WAIT_MS = 3_000;

  /**
   * How often a followed engine is asked whether it is there ({@link DockerEngine#ping}): its event stream stays
   * silent while nothing happens, and an engine frozen (SIGSTOP) or whose host vanished without a reset leaves it open
   * and silent for ever. An unanswered check counts as the stream lost, so such an engine is noticed within this
   * period, the connect timeout and the answer's bound (15 + 2 + 10 s). Traefik polls a Swarm every 15 s by default.
   */
  static final long LIVENESS_PERIOD_MS = 15_000;

  /** Network events that change a running container's addresses (docker network connect, disconnect). */
  private static final Set<String> NETWORK_CHANGES = Set.of("connect", "disconnect");

  /** How long after a pause or unpause event the engine's listing is read again (it shows the change a moment late). */
  static final long LISTING_LAG_MS = 250;

  /**
   * How far apart a change's event and a listing that shows it may come (the engine sends the event about when its
   * listing shows the change, either first): a periodic listing's changes count as missed by the stream only when no
   * event came from this long before the listing before it until this long after it.
   */
  static final long EVENT_GRACE_MS = 1_000;

  /**
   * How often the WARNING about changes the event stream missed is said at most, in ms, unless system property
   * {@code gateway.docker.missed.warning.period.ms} sets another: those held back are said once it allows again.
   */
  static final long MISSED_WARNING_PERIOD_MS = 10 * 60_000;

  private final DockerConfig.Engine config;
  private final String network;
  private final Map<String, Published> published = new HashMap<>();
  private final Set<String> goingAway = new HashSet<>();
  /** Containers paused by their last event, left out even where a listing made just after still shows them running. */
  private final Set<String> paused = new HashSet<>();
  private final Set<String> reportedUnusable = new HashSet<>();
  private final Set<String> reportedMisspelt = new HashSet<>();
  private final ContainerHealth health = new ContainerHealth();
  private final HealthLines healthLines = new HealthLines(HealthLines.configuredPeriodMs());

  private Vertx vertx;
  private ServicePublisher publisher;
  private DockerEngine engine;
  private AddressResolver resolver;
  private boolean syncing;
  /** Completed by the sync queued behind the running one (events arrived meanwhile); null when none. */
  private Promise<Found> queuedSync;
  private State state = State.WAITING;
  /** Numbers the connection attempts: a callback of an earlier one finds a higher number here. */
  private int attempt;
  /** The current attempt's event stream, once open. */
  private DockerEngine.EventStream stream;
  private long retryTimer = -1;
  private long livenessTimer = -1;
  /** The next periodic listing, or the wait for late events after one that found changes. */
  private long resyncTimer = -1;
  /** When the last event arrived ({@link System#nanoTime}), if {@link #anyEvent}. */
  private long lastEventArrived;
  private boolean anyEvent;
  /** When the listing under way, and the one before it, began ({@link System#nanoTime}). */
  private long listingStarted;
  private long previousListingStarted;
  private final long missedWarningPeriodMs =
      Math.max(0, Long.getLong("gateway.docker.missed.warning.period.ms", MISSED_WARNING_PERIOD_MS));
  private final LogPace missedPace = new LogPace(missedWarningPeriodMs * 1_000_000);
  /** Changes the stream missed that no WARNING has said yet (held back by {@link #missedPace}), and in how many listings. */
  private int missedUnsaid;
  private int missedListingsUnsaid;
  /** Says the misses held back once {@link #missedPace} allows; -1 when none waits. */
  private long missedWarningTimer = -1;
  /** The stream is being opened again after it missed changes (not after a loss): said as such once connected. */
  private boolean reopening;
  private boolean degradedReported;
  /** Why the last attempt failed, for the status; null once connected. */
  private String lastError;
  private long backoffMs = MIN_BACKOFF_MS;
  /**
   * The engine's time of the last event seen ({@code timeNano}), from which a reopened stream asks the events the
   * engine still holds: a {@code kill} missed while the stream was cut (a container draining, still listed as
   * running) takes its container out as it would have; 0 before the first event.
   */
  private long lastEventNanos;

  /** Where the importer stands with the engine. */
  private enum State {
    /** Opening the event stream, then listing. */
    CONNECTING,
    /** Following the event stream; the last listing succeeded. */
    CONNECTED,
    /** The next attempt is scheduled. */
    WAITING,
    CLOSED
  }

  private record Published(String registration, ContainerInfo container, AddressResolver.Address address) {
  }

  /**
   * What a listing changed: how many containers were published, unpublished or updated, and when the listing before
   * it began ({@link System#nanoTime}), after which those changes happened.
   */
  private record Found(int changes, long previousListingStarted) {
  }

  /** Follows {@code engine}; {@code network}: the default network of containers on several (docker.network). */
  public DockerImporter(DockerConfig.Engine engine, String network) {
    this.config = engine;
    this.network = engine.network() != null ? engine.network() : network;
  }

  @Override
  public void start(Vertx vertx, ServicePublisher publisher, JsonObject unused, Promise<Void> ready) {
    this.vertx = vertx;
    this.publisher = publisher;
    this.engine = new DockerEngine(vertx, config);
    this.resolver = new AddressResolver(engine.reachableHost(), network);
    if (!config.unix() && config.tls() == null) {
      LOG.warning(describe() + " is reached over plain TCP, without TLS: whoever can reach its port controls"
          + " the engine; give it tls: {ca_file, cert_file, key_file} (dockerd --tlsverify)");
    }
    // Never hold the gateway's start on Docker: without it, routes answer 503 until it is back. An engine that
    // accepts connections but does not answer (hung, or stopped with SIGSTOP) is waited for START_WAIT_MS at most.
    connect().onComplete(ar -> ready.tryComplete());
    vertx.setTimer(START_WAIT_MS, id -> ready.tryComplete());
  }

  /**
   * For readiness: the engine's name and URL, whether it speaks TLS, whether its event stream is
   * followed now ({@code state}: connecting, connected, waiting to retry), how many containers are
   * published, and why the last attempt failed ({@code last_error}, null once connected).
   */
  public JsonObject status() {
    return new JsonObject().put("name", config.name()).put("engine", config.host())
        .put("tls", config.tls() != null)
        .put("connected", state == State.CONNECTED).put("state", state.name().toLowerCase(java.util.Locale.ROOT))
        .put("instances", published.size())
        .put("last_error", lastError);
  }

  /** How logs name a container: {@code NAME (ENGINE/SHORT-ID)}, as its instance id reads. */
  private String named(ContainerInfo c) {
    return c.name() + " (" + config.name() + "/" + c.shortId() + ")";
  }

  /** How logs name the engine: {@code docker engine NAME (HOST)}. */
  private String describe() {
    return "docker engine " + config.name() + " (" + config.host() + ")";
  }

  @Override
  public void close(Handler<Void> done) {
    state = State.CLOSED;
    if (retryTimer >= 0) {
      vertx.cancelTimer(retryTimer);
    }
    if (missedWarningTimer >= 0) {
      vertx.cancelTimer(missedWarningTimer);
      missedWarningTimer = -1;
      if (missedUnsaid > 0) {
        sayMissed(true); // held back by the pace: said as the importer goes (a stop, a reload), not lost
      }
    }
    stopTimers();
    closeStream();
    engine.close().onComplete(ar -> done.handle(null));
  }

  /** One attempt: open the event stream, then list. Completes when the attempt has succeeded or failed. */
  private Future<Void> connect() {
    int mine = ++attempt;
    state = State.CONNECTING;
    return engine.followEvents(lastEventNanos, this::onEvent, cause -> lost(mine, cause))
        .compose(opened -> {
          if (mine != attempt || state != State.CONNECTING) {
            opened.close(); // this attempt was given up (or the importer closed) while the stream opened
            return Future.succeededFuture();
          }
          stream = opened;
          // The listing shows what runs now, but not the health events missed while no stream was open.
          health.eventsMissed();
          return sync().<Void>mapEmpty().andThen(ar -> {
            if (mine == attempt && state == State.CONNECTING && ar.succeeded()) {
              onConnected();
            }
          });
        })
        .onFailure(cause -> lost(mine, cause))
        .otherwiseEmpty();
  }

  private void onConnected() {
    backoffMs = MIN_BACKOFF_MS;
    lastError = null;
    if (degradedReported) {
      LOG.info(describe() + " reachable again; resynchronised, " + published.size() + " instance(s) published");
    } else if (reopening) {
      LOG.info(describe() + ": event stream opened again; " + published.size() + " instance(s) published");
    } else {
      LOG.info("docker discovery following " + describe() + "; " + published.size() + " instance(s) published");
    }
    state = State.CONNECTED;
    degradedReported = false;
    reopening = false;
    checkLivenessLater(attempt);
    resyncLater(attempt);
  }

  /**
   * Schedules the next periodic listing of attempt {@code which}, {@code resync_interval_ms} after the last one ended.
   * It is one more sync (queued behind one under way, bounded as every listing); its failure counts as the stream
   * lost. Changes it found with no event around them, once {@link #EVENT_GRACE_MS} has passed without one, were
   * missed by the stream: see {@link #missed}.
   */
  private void resyncLater(int which) {
    resyncTimer = vertx.setTimer(config.resyncIntervalMs(), id -> {
      resyncTimer = -1;
      if (which != attempt || state != State.CONNECTED) {
        return;
      }
      sync().onComplete(ar -> {
        if (ar.failed()) {
          lost(which, ar.cause());
        } else if (which == attempt && state == State.CONNECTED) {
          Found found = ar.result();
          if (found.changes() == 0 || !quietSince(found.previousListingStarted())) {
            resyncLater(which);
            return;
          }
          // A change's event may come a moment after the listing that showed it.
          resyncTimer = vertx.setTimer(EVENT_GRACE_MS, t -> {
            resyncTimer = -1;
            if (which != attempt || state != State.CONNECTED) {
              return;
            }
            if (quietSince(found.previousListingStarted())) {
              missed(found.changes());
            } else {
              resyncLater(which);
            }
          });
        }
      });
    });
  }

  /** No event came from {@link #EVENT_GRACE_MS} before {@code listingStarted} until now. */
  private boolean quietSince(long listingStarted) {
    return !anyEvent || lastEventArrived - (listingStarted - EVENT_GRACE_MS * 1_000_000) < 0;
  }

  /**
   * A periodic listing found {@code changes} the event stream did not tell (already applied): the stream is evidently
   * not delivering, so it is opened again (from the last event seen); one WARNING says so, at most once per
   * {@link #missedWarningPeriodMs}. Misses within that period are held back and said in one WARNING as soon as it
   * is over (one timer, set by the first miss held back), whether or not another miss comes.
   */
  private void missed(int changes) {
    missedUnsaid += changes;
    missedListingsUnsaid++;
    long now = System.nanoTime();
    if (missedPace.due(now)) {
      if (missedWarningTimer >= 0) { // late: this WARNING says what it held
        vertx.cancelTimer(missedWarningTimer);
        missedWarningTimer = -1;
      }
      sayMissed(false);
    } else if (missedWarningTimer < 0) {
      long dueMs = Math.max(1, (missedPace.dueInNanos(now) + 999_999) / 1_000_000);
      missedWarningTimer = vertx.setTimer(dueMs, id -> {
        missedWarningTimer = -1;
        if (state != State.CLOSED && missedUnsaid > 0) {
          missedPace.said(System.nanoTime());
          sayMissed(true);
        }
      });
    }
    stopTimers();
    closeStream();
    reopening = true;
    connect();
  }

  /** Says the misses not said yet; {@code heldBack}: after the pace held them, each stream already opened again. */
  private void sayMissed(boolean heldBack) {
    LOG.warning(describe() + ": the periodic listing found " + missedUnsaid + " change(s) its event stream missed"
        + (heldBack ? " (over " + missedListingsUnsaid + " listing(s) since the last such warning, held back by its pace"
            + " of one every " + missedWarningPeriodMs / 1000 + " s)"
            : missedListingsUnsaid > 1 ? " (over " + missedListingsUnsaid + " listings since the last such warning)" : "")
        + " (containers started, stopped or whose health changed without an event); applied, and "
        + (heldBack ? "the event stream opened again after each" : "opening the event stream again"));
    missedUnsaid = 0;
    missedListingsUnsaid = 0;
  }

  /** Schedules the next liveness check of attempt {@code which}: a failed one counts as its stream lost. */
  private void checkLivenessLater(int which) {
    livenessTimer = vertx.setTimer(LIVENESS_PERIOD_MS, id -> {
      livenessTimer = -1;
      if (which != attempt || state != State.CONNECTED) {
        return;
      }
      engine.ping().onComplete(ar -> {
        if (ar.failed()) {
          lost(which, new IllegalStateException("the liveness check GET /_ping failed: "
              + DockerEngine.reason(ar.cause()), ar.cause()));
        } else if (which == attempt && state == State.CONNECTED) {
          checkLivenessLater(which);
        }
      });
    });
  }

  /** Cancels the liveness check and the periodic listing. */
  private void stopTimers() {
    if (livenessTimer >= 0) {
      vertx.cancelTimer(livenessTimer);
      livenessTimer = -1;
    }
    if (resyncTimer >= 0) {
      vertx.cancelTimer(resyncTimer);
      resyncTimer = -1;
    }
  }

  /**
   * Attempt {@code which} failed, or its stream ended: unless an earlier report of it already did,
   * closes its stream and schedules the next attempt.
   */
  private void lost(int which, Throwable cause) {
    if (which != attempt || (state != State.CONNECTING && state != State.CONNECTED)) {
      return;
    }
    stopTimers();
    closeStream();
    state = State.WAITING;
    reopening = false;
    String tlsRefusal = DockerEngine.tlsRefusal(cause);
    String reason = DockerEngine.reason(cause);
    lastError = tlsRefusal != null ? "TLS handshake failed: " + tlsRefusal : reason;
    if (!degradedReported) {
      LOG.warning(describe() + (tlsRefusal != null
          ? " refused: the TLS handshake failed (" + tlsRefusal + "); its certificate must chain to tls.ca_file"
              + " and name the host of its URL, and it must accept tls.cert_file"
          : " unreachable (" + reason + ")")
          + "; keeping " + published.size() + " last known instance(s), retrying with backoff up to "
          + MAX_BACKOFF_MS + " ms");
      degradedReported = true;
    }
    long delay = backoffMs;
    backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
    retryTimer = vertx.setTimer(delay, id -> {
      retryTimer = -1;
      if (state == State.WAITING) {
        connect();
      }
    });
  }

  private void closeStream() {
    if (stream != null) {
      stream.close();
      stream = null;
    }
  }

  private void onEvent(JsonObject event) {
    lastEventArrived = System.nanoTime();
    anyEvent = true;
    if (event.getValue("timeNano") instanceof Number time) {
      lastEventNanos = Math.max(lastEventNanos, time.longValue());
    }
    String action = event.getString("Action", event.getString("status", ""));
    if ("network".equals(event.getString("Type"))) {
      // Its actor is the network (the container: Attributes.container); what changed shows in the listing.
      if (NETWORK_CHANGES.contains(action)) {
        resync();
      }
      return;
    }
    if (action.startsWith("exec_") || UNCHANGING.contains(action)) {
      return;
    }
    JsonObject actor = event.getJsonObject("Actor", new JsonObject());
    String id = actor.getString("ID", event.getString("id", ""));
    if ("kill".equals(action)) {
      // docker stop sends the container's own stop signal (STOPSIGNAL SIGWINCH, --stop-signal) before its stop event,
      // which Docker 20.10 sends only once the container has died.
      int signal = StopSignals.number(actor.getJsonObject("Attributes", new JsonObject()).getString("signal", ""));
      if (STOP_SIGNALS.contains(signal) || (signal > 0 && signal == health.stopSignal(id))) {
        goingAway.add(id);
      }
    } else if ("stop".equals(action)) {
      goingAway.add(id);
    } else if ("start".equals(action) || "restart".equals(action)) {
      goingAway.remove(id);
    } else if (action.startsWith("health_status")) {
      health.changed(id);
    } else if ("pause".equals(action)) {
      paused.add(id);
    } else if ("unpause".equals(action)) {
      paused.remove(id);
    }
    // While connecting, the events come from the engine's replay since the last one seen, older than the listing
    // under way, which leaves out what is going away or paused by then: a container killed and started again
    // meanwhile must not leave at its replayed kill.
    if (state != State.CONNECTING && (goingAway.contains(id) || paused.contains(id))) {
      leaveNow(id);
    }
    resync();
    int mine = attempt;
    if ("pause".equals(action) || "unpause".equals(action)) {
      // The engine announces a pause or unpause a moment before its listing shows it: list again shortly after.
      vertx.setTimer(LISTING_LAG_MS, t -> {
        if (mine == attempt && state != State.CLOSED) {
          sync().onFailure(err -> lost(mine, err));
        }
      });
    }
  }

  /** Lists again; a failure counts as the current attempt's stream lost. */
  private void resync() {
    int mine = attempt;
    sync().onFailure(err -> lost(mine, err));
  }

  /**
   * A container stopping or paused leaves at its event, not at the listing that follows: that listing may be
   * slow, or fail as the engine stops, which would keep it with the last known instances. One still being
   * published is left to that listing, which finds it going away.
   */
  private void leaveNow(String id) {
    Published p = published.get(id);
    if (p != null && p.registration() != null && state != State.CLOSED) {
      unpublish(p).onFailure(err -> LOG.warning("cannot unpublish container " + named(p.container()) + ": " + err));
    }
  }

  /**
   * Lists running containers and publishes the difference from what is published now. One listing
   * at a time: a request made meanwhile is served by the one listing queued behind it.
   */
  private Future<Found> sync() {
    if (syncing) {
      if (queuedSync == null) {
        queuedSync = Promise.promise();
      }
      return queuedSync.future();
    }
    syncing = true;
    previousListingStarted = listingStarted;
    listingStarted = System.nanoTime();
    long since = previousListingStarted;
    return engine.listRunning()
        .compose(listing -> health.annotate(listing.running(), listing.health(), engine::inspect)
            .map(running -> new DockerEngine.Listing(running, listing.listed(), listing.health())))
        .compose(this::apply)
        .map(changes -> new Found(changes, since))
        .andThen(ar -> {
          syncing = false;
          Promise<Found> next = queuedSync;
          queuedSync = null;
          if (next != null) {
            sync().onComplete(next);
          }
        });
  }

  /** Publishes the difference; completes with how many containers it published, unpublished or updated. */
  private Future<Integer> apply(DockerEngine.Listing listing) {
    if (state == State.CLOSED) {
      return Future.succeededFuture(0);
    }
    Map<String, ContainerInfo> wanted = new HashMap<>();
    Set<String> runningIds = new HashSet<>();
    // Said once per container while the engine lists it, restarting in a loop or not; said again only after it stopped.
    reportedUnusable.retainAll(listing.listed());
    reportedMisspelt.retainAll(listing.listed());
    for (ContainerInfo c : listing.running()) {
      runningIds.add(c.id());
      reportMisspeltLabels(c);
      if (!goingAway.contains(c.id()) && !paused.contains(c.id())) {
        wanted.put(c.id(), c);
      }
    }
    goingAway.retainAll(runningIds);
    paused.retainAll(runningIds); // once listed as paused, the listing leaves it out by itself

    List<Future<?>> changes = new ArrayList<>();
    Set<String> changed = new HashSet<>();
    for (Published p : List.copyOf(published.values())) {
      ContainerInfo now = wanted.get(p.container().id());
      if (now != null && !now.equals(p.container()) && now.equals(p.container().withHealth(now.health()))) {
        changes.add(updateHealth(p, now));
        changed.add(p.container().id());
      } else if (now == null || !now.equals(p.container())) {
        changes.add(unpublish(p));
        changed.add(p.container().id());
      }
    }
    for (ContainerInfo c : wanted.values()) {
      if (!published.containsKey(c.id())) {
        changes.add(publish(c));
        if (published.containsKey(c.id())) { // not skipped as unusable
          changed.add(c.id());
        }
      }
    }
    // A record the registry refused is logged and retried at the next sync: not the engine's failure.
    int count = changed.size();
    return Future.join(changes).transform(ar -> Future.succeededFuture(count));
  }

  /** A gateway label in other letter case ({@code Gateway.Port}) is not read: one WARNING per container says so. */
  private void reportMisspeltLabels(ContainerInfo c) {
    if (reportedMisspelt.contains(c.id())) {
      return;
    }
    List<String> misspelt = AddressResolver.misspelledLabels(c.labels());
    if (!misspelt.isEmpty()) {
      reportedMisspelt.add(c.id());
      LOG.warning("container " + named(c) + ": label " + String.join(", ", misspelt)
          + " ignored: Docker labels are case-sensitive, the gateway reads " + AddressResolver.GATEWAY_LABELS
          + " as written");
    }
  }

  private Future<?> publish(ContainerInfo c) {
    AddressResolver.Resolution resolution = resolver.resolve(c);
    if (resolution instanceof AddressResolver.Unusable unusable) {
      if (reportedUnusable.add(c.id())) {
        LOG.info("container " + named(c) + " skipped: " + unusable.reason());
      }
      return Future.succeededFuture();
    }
    AddressResolver.Address address = (AddressResolver.Address) resolution;
    Record record = ContainerRecords.toRecord(c, address, config.name());
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
          LOG.info("instance up: container " + named(c) + " at " + Instance.uriHost(address.host())
              + ":" + address.port() + " (" + address.reason() + ")"
              + (ContainerInfo.NO_HEALTHCHECK.equals(c.health()) ? "" : ", health " + c.health()));
        })
        .onFailure(err -> {
          published.remove(c.id());
          LOG.warning("cannot publish container " + c.name() + ": " + err);
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
    Record record = ContainerRecords.toRecord(now, p.address(), config.name()).setRegistration(p.registration())
        .setStatus(io.vertx.servicediscovery.Status.UP);
    return publisher.update(record).onSuccess(r -> {
      if (published.get(now.id()) == p) {
        published.put(now.id(), new Published(p.registration(), now, p.address()));
      }
      sayHealth(now);
    });
  }

  /** Says a container's new health, at most once a period per container (a flapping HEALTHCHECK: a summary). */
  private void sayHealth(ContainerInfo c) {
    long nowNanos = System.nanoTime();
    String line = healthLines.changed(c.id(), named(c), c.health(), nowNanos);
    if (line != null) {
      LOG.info(line);
      return;
    }
    long dueMs = healthLines.summaryInMs(c.id(), nowNanos);
    if (dueMs > 0) {
      vertx.setTimer(dueMs, t -> {
        String summary = healthLines.summary(c.id(), System.nanoTime());
        if (summary != null) {
          LOG.info(summary);
        }
      });
    }
  }

  private Future<?> unpublish(Published p) {
    published.remove(p.container().id());
    healthLines.forget(p.container().id());
    if (p.registration() == null) {
      return Future.succeededFuture();
    }
    return publisher.unpublish(p.registration())
        .onSuccess(v -> LOG.info("instance down: container " + named(p.container())));
  }
}
