package dev.dockgate.discovery.consul;

import dev.dockgate.config.BackendConfig;
import dev.dockgate.config.ConsulConfig;
import dev.dockgate.config.ConsulService;
import dev.dockgate.discovery.Publications;
import dev.dockgate.discovery.SourceRecords;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.servicediscovery.Record;
import io.vertx.servicediscovery.spi.ServiceImporter;
import io.vertx.servicediscovery.spi.ServicePublisher;
import io.vertx.servicediscovery.types.HttpEndpoint;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * Publishes one service record per passing instance of each Consul query the backends name
 * ({@code consul_service} + {@code consul_tags}), one {@link ServiceWatch} per distinct query, and the
 * difference on each answer. A reload starts the watches it adds before it applies, and stops those it drops once
 * every router runs it. Runs on the
 * event loop of the verticle that registered it; does nothing while no backend names a service.
 */
public final class ConsulImporter implements ServiceImporter {

  private static final Logger LOG = Logger.getLogger(ConsulImporter.class.getName());
  /** How long the start waits for the first answers, so that routes have their instances from the first request. */
  private static final long FIRST_ANSWERS_MS = 3_000;

  private final ConsulConfig config;
  private List<BackendConfig> backends;
  private Vertx vertx;
  private ServicePublisher publisher;
  private ConsulHealthClient client;
  private AgentLines lines;
  private final Map<String, ServiceWatch> watches = new HashMap<>();
  private final Publications publications = new Publications();
  /** Per query key, the instances published, by instance id. */
  private final Map<String, Map<String, Published>> published = new HashMap<>();
  private boolean closed;

  /** One published instance; its registration arrives once the registry has it. */
  private static final class Published {
    final ConsulEntry entry;
    String registration;
    boolean gone;

    Published(ConsulEntry entry) {
      this.entry = entry;
    }
  }

  public ConsulImporter(ConsulConfig config, List<BackendConfig> backends) {
    this.config = config;
    this.backends = List.copyOf(backends);
  }

  @Override
  public void start(Vertx vertx, ServicePublisher publisher, JsonObject unused, Promise<Void> ready) {
    this.vertx = vertx;
    this.publisher = publisher;
    this.client = new ConsulHealthClient(vertx, config);
    this.lines = new AgentLines(vertx, Logger.getLogger(ServiceWatch.class.getName()), config.address());
    // Never hold the gateway's start on Consul for long: without it, Consul-backed routes answer 503 until it answers.
    publications.afterFirstAnswers(follow(backends), FIRST_ANSWERS_MS).onComplete(ar -> ready.complete());
  }

  /**
   * A reload about to apply {@code next}: follows the services it adds now, beside those followed, and completes
   * once their first answers are in the registry ({@link #FIRST_ANSWERS_MS} at most), so that a route the reload adds
   * has its instances from its first request. Services only earlier configs name are followed until {@link #live}.
   */
  public Future<Void> prepare(List<BackendConfig> next) {
    if (client == null || closed) {
      return Future.succeededFuture();
    }
    backends = Publications.union(backends, next);
    return publications.afterFirstAnswers(follow(backends), FIRST_ANSWERS_MS);
  }

  /**
   * Every router runs {@code next}: follows the queries its backends name, and only those. Not before: a router
   * still on the previous config resolves its backends from the previous queries' instances.
   */
  public void live(List<BackendConfig> next) {
    backends = List.copyOf(next);
    if (client != null && !closed) {
      follow(backends);
    }
  }

  private List<Future<Void>> follow(List<BackendConfig> backends) {
    Map<String, ConsulService> wanted = new LinkedHashMap<>();
    for (BackendConfig backend : backends) {
      if (backend.consul() != null) {
        wanted.putIfAbsent(backend.consul().key(), backend.consul());
      }
    }
    for (String key : List.copyOf(watches.keySet())) {
      if (!wanted.containsKey(key)) {
        watches.remove(key).stop();
        apply(key, List.of());
        published.remove(key);
      }
    }
    List<Future<Void>> started = new ArrayList<>();
    wanted.forEach((key, query) -> {
      if (!watches.containsKey(key)) {
        ServiceWatch watch = new ServiceWatch(vertx, client, query, config, lines, (q, entries) -> apply(q.key(), entries));
        watches.put(key, watch);
        started.add(watch.start());
      }
    });
    return started;
  }

  /** The query's instances are now {@code entries}: unpublishes the others, publishes the new ones. */
  private void apply(String key, List<ConsulEntry> entries) {
    if (closed) {
      return;
    }
    Map<String, Published> mine = published.computeIfAbsent(key, k -> new HashMap<>());
    Map<String, ConsulEntry> wanted = new HashMap<>();
    entries.forEach(e -> wanted.put(e.id(), e));
    for (Published p : List.copyOf(mine.values())) {
      if (!p.entry.equals(wanted.get(p.entry.id()))) {
        unpublish(mine, p);
      }
    }
    for (ConsulEntry entry : wanted.values()) {
      if (!mine.containsKey(entry.id())) {
        publish(key, mine, entry);
      }
    }
  }

  private void publish(String key, Map<String, Published> mine, ConsulEntry entry) {
    Published p = new Published(entry);
    mine.put(entry.id(), p);
    publications.track(publisher.publish(toRecord(key, entry)))
        .onSuccess(record -> {
          p.registration = record.getRegistration();
          if (p.gone) {
            publisher.unpublish(p.registration);
            return;
          }
          LOG.info("instance up: consul service " + entry.service() + " " + entry.serviceId() + " on node "
              + entry.node() + " at " + dev.dockgate.discovery.Instance.uriHost(entry.address()) + ":" + entry.port());
        })
        .onFailure(err -> {
          mine.remove(entry.id(), p);
          LOG.warning("cannot publish consul instance " + entry.id() + ": " + err);
        });
  }

  private void unpublish(Map<String, Published> mine, Published p) {
    mine.remove(p.entry.id());
    p.gone = true;
    if (p.registration != null) {
      publisher.unpublish(p.registration).onSuccess(v -> LOG.info("instance down: consul service "
          + p.entry.service() + " " + p.entry.serviceId() + " on node " + p.entry.node()));
    }
  }

  /** One http-endpoint record: the source keys, the query that found it and Consul's names as metadata. */
  static Record toRecord(String queryKey, ConsulEntry entry) {
    JsonObject metadata = new JsonObject()
        .put(SourceRecords.SOURCE_KEY, SourceRecords.SOURCE_CONSUL)
        .put(SourceRecords.ID_KEY, entry.id())
        .put(SourceRecords.CONSUL_QUERY_KEY, queryKey)
        .put("consul.service", entry.service())
        .put("consul.service_id", entry.serviceId())
        .put("consul.node", entry.node())
        .put("consul.tags", String.join(",", entry.tags()));
    return HttpEndpoint.createRecord(entry.serviceId(), entry.address(), entry.port(), "/", metadata);
  }

  @Override
  public void close(Handler<Void> done) {
    closed = true;
    watches.values().forEach(ServiceWatch::stop);
    watches.clear();
    if (lines != null) {
      lines.flush();
    }
    if (client == null) {
      done.handle(null);
      return;
    }
    client.close().onComplete(ar -> done.handle(null));
  }
}
