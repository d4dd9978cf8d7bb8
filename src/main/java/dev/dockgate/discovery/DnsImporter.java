package dev.dockgate.discovery;

import dev.dockgate.config.BackendConfig;
import dev.dockgate.config.Target;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.servicediscovery.Record;
import io.vertx.servicediscovery.spi.ServiceImporter;
import io.vertx.servicediscovery.spi.ServicePublisher;
import io.vertx.servicediscovery.types.HttpEndpoint;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The {@code dns_targets} source: each name is resolved to all its addresses (A and AAAA records, with the settings the
 * gateway connects with, {@link DnsLookup}: {@code /etc/hosts} as read at start, then DNS, or
 * {@code addressResolverOptions}), and every
 * address is one instance, published as a service record and judged on its own (circuit breaker, health checks,
 * balancing), while Host, SNI and the certificate check keep the name. Each name is asked again every
 * {@code dns_refresh_ms} (the least of the backends naming it); the resolver answers from its cache while the records'
 * TTL lasts, so a change is seen within TTL + refresh. A failed resolution keeps the addresses last found (one WARNING
 * per outage, one INFO line when it answers again): a DNS server away does not empty a backend. Runs on the event
 * loop of the verticle that registered it; does nothing, and holds no resolver nor socket, while no backend has
 * {@code dns_targets}.
 */
public final class DnsImporter implements ServiceImporter {

  private static final Logger LOG = Logger.getLogger(DnsImporter.class.getName());
  /** How long the start waits for the first answers, so that routes have their instances from the first request. */
  private static final long FIRST_ANSWERS_MS = 3_000;

  private List<BackendConfig> backends;
  private Vertx vertx;
  private ServicePublisher publisher;
  private io.vertx.core.Context context;
  /** Open while a name is followed (its resolver holds a UDP socket on the wildcard address): null otherwise. */
  private DnsLookup lookup;
  private final Map<String, Watch> watches = new HashMap<>();
  private boolean closed;
  private final Publications publications = new Publications();

  public DnsImporter(List<BackendConfig> backends) {
    this.backends = List.copyOf(backends);
  }

  @Override
  public void start(Vertx vertx, ServicePublisher publisher, JsonObject unused, Promise<Void> ready) {
    this.vertx = vertx;
    this.publisher = publisher;
    this.context = vertx.getOrCreateContext();
    firstAnswers(follow(backends)).onComplete(ar -> ready.complete());
  }

  /**
   * A reload about to apply {@code next}: follows the names it adds now, beside those followed, and completes once
   * their first answers are in the registry ({@link #FIRST_ANSWERS_MS} at most), so that a route the reload adds has
   * its instances from its first request. Names only earlier configs have are followed until {@link #live}.
   */
  public Future<Void> prepare(List<BackendConfig> next) {
    if (vertx == null || closed) {
      return Future.succeededFuture();
    }
    backends = Publications.union(backends, next);
    return firstAnswers(follow(backends));
  }

  private Future<Void> firstAnswers(List<Future<Void>> started) {
    return publications.afterFirstAnswers(started, FIRST_ANSWERS_MS);
  }

  /**
   * Every router runs {@code next}: follows the names its backends list, and only those. Not before: a router still
   * on the previous config resolves its backends from the previous names' addresses.
   */
  public void live(List<BackendConfig> next) {
    backends = List.copyOf(next);
    if (vertx != null && !closed) {
      follow(backends);
    }
  }

  /** The refresh period of each target named: the least of the backends naming it. */
  static Map<String, Long> wanted(List<BackendConfig> backends) {
    Map<String, Long> wanted = new LinkedHashMap<>();
    for (BackendConfig backend : backends) {
      for (Target target : backend.dnsTargets()) {
        wanted.merge(target.toString(), backend.dnsRefreshMs(), Math::min);
      }
    }
    return wanted;
  }

  private List<Future<Void>> follow(List<BackendConfig> backends) {
    Map<String, Long> wanted = wanted(backends);
    Map<String, Target> targets = new HashMap<>();
    backends.forEach(b -> b.dnsTargets().forEach(t -> targets.put(t.toString(), t)));
    List<Future<Void>> started = new ArrayList<>();
    for (String key : List.copyOf(watches.keySet())) {
      if (!wanted.containsKey(key)) {
        watches.remove(key).stop();
      }
    }
    if (wanted.isEmpty()) {
      closeLookup(); // a lookup under way fails, its stopped watch ignores it
      return started;
    }
    if (lookup == null) {
      lookup = new DnsLookup(vertx, context);
    }
    wanted.forEach((key, refreshMs) -> {
      Watch running = watches.get(key);
      if (running != null) {
        running.refresh(refreshMs); // its addresses stay in rotation meanwhile
      } else {
        Watch watch = new Watch(targets.get(key), refreshMs);
        watches.put(key, watch);
        started.add(watch.start());
      }
    });
    return started;
  }

  /** The record of one address of {@code target}'s name: named {@code NAME:PORT@ADDRESS}, its id that with the scheme. */
  static Record toRecord(Target target, String address) {
    String id = "dns:" + target + "@" + address;
    JsonObject metadata = new JsonObject()
        .put(SourceRecords.SOURCE_KEY, SourceRecords.SOURCE_DNS)
        .put(SourceRecords.ID_KEY, id)
        .put(SourceRecords.DNS_TARGET_KEY, target.toString())
        .put(SourceRecords.DNS_NAME_KEY, target.host());
    if (target.tls()) {
      metadata.put(Instance.SCHEME_LABEL, "https");
    }
    // The name (access log's instance=, health and breaker lines) tells the addresses of one name apart.
    return HttpEndpoint.createRecord(target.host() + ":" + target.port() + "@" + address, address, target.port(), "/",
        metadata);
  }

  /** One name followed: its addresses published, asked again every {@code refreshMs}. */
  private final class Watch {
    final Target target;
    long refreshMs;
    final Promise<Void> first = Promise.promise();
    /** Address to its registration (null until the registry has it). */
    final Map<String, String> published = new LinkedHashMap<>();
    final Set<String> gone = new LinkedHashSet<>();
    long timer = -1;
    /** When the last lookup ended (System.nanoTime): the next is due {@code refreshMs} later. */
    long lastEndedNanos;
    boolean stopped;
    boolean failing;
    boolean everResolved;

    Watch(Target target, long refreshMs) {
      this.target = target;
      this.refreshMs = refreshMs;
    }

    Future<Void> start() {
      resolve();
      return first.future();
    }

    /**
     * A reload's period: the next lookup is due {@code refreshMs} after the last one ended, so a shorter period
     * brings a pending one forward (an hour's wait does not outlast a reload to 1 s).
     */
    void refresh(long next) {
      boolean sooner = next < refreshMs;
      refreshMs = next;
      if (sooner && timer >= 0) {
        vertx.cancelTimer(timer);
        long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lastEndedNanos);
        schedule(Math.max(1, next - waited));
      }
    }

    private void schedule(long delayMs) {
      timer = vertx.setTimer(delayMs, id -> {
        timer = -1;
        resolve();
      });
    }

    void stop() {
      stopped = true;
      if (timer >= 0) {
        vertx.cancelTimer(timer);
      }
      apply(Set.of());
    }

    private void resolve() {
      lookup.addresses(target.host()).onComplete(ar -> {
        if (stopped || closed) {
          return;
        }
        if (ar.succeeded() && !ar.result().isEmpty()) {
          Set<String> addresses = new LinkedHashSet<>();
          for (InetAddress address : ar.result()) {
            addresses.add(io.netty.util.NetUtil.toAddressString(address)); // ::1, as RFC 5952 writes it
          }
          if (failing) {
            LOG.info("dns target " + target + " resolves again: " + String.join(", ", addresses));
          }
          failing = false;
          everResolved = true;
          apply(addresses);
        } else if (!failing) {
          failing = true;
          String why = ar.failed() ? String.valueOf(ar.cause().getMessage()) : "no address";
          LOG.warning("dns target " + target + " does not resolve (" + why + "): "
              + (everResolved ? "keeping its last addresses (" + String.join(", ", published.keySet()) + ")"
              : "it has no instance") + " until it does; asked again every " + refreshMs + " ms");
        }
        first.tryComplete();
        lastEndedNanos = System.nanoTime();
        schedule(refreshMs);
      });
    }

    /** The name's addresses are now {@code addresses}: unpublishes the others, publishes the new ones. */
    private void apply(Set<String> addresses) {
      for (String address : List.copyOf(published.keySet())) {
        if (!addresses.contains(address)) {
          String registration = published.remove(address);
          if (registration != null) {
            publisher.unpublish(registration);
          } else {
            gone.add(address); // unpublished once the registry has it
          }
          LOG.info("instance down: dns target " + target + " address " + address);
        }
      }
      for (String address : addresses) {
        if (!published.containsKey(address)) {
          if (gone.remove(address)) {
            published.put(address, null); // back before its publication completed: that one stays
          } else {
            publish(address);
          }
        }
      }
    }

    private void publish(String address) {
      published.put(address, null);
      publications.track(publisher.publish(toRecord(target, address)))
          .onSuccess(record -> {
            if (gone.remove(address) || closed) {
              publisher.unpublish(record.getRegistration());
              return;
            }
            published.replace(address, record.getRegistration());
            LOG.info("instance up: dns target " + target + " address " + address);
          })
          .onFailure(err -> {
            published.remove(address);
            LOG.warning("cannot publish dns target " + target + " address " + address + ": " + err);
          });
    }
  }

  @Override
  public void close(Handler<Void> done) {
    closed = true;
    watches.values().forEach(w -> {
      w.stopped = true;
      if (w.timer >= 0) {
        vertx.cancelTimer(w.timer);
      }
    });
    watches.clear();
    closeLookup();
    done.handle(null);
  }

  private void closeLookup() {
    if (lookup != null) {
      lookup.close();
      lookup = null;
    }
  }
}
