package dev.dockgate.testing;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * A stand-in for a Consul agent (no Consul can be installed here) serving the one endpoint the gateway
 * uses, {@code GET /v1/health/service/:service}, as Consul's source answers it (agent/http.go,
 * agent/health_endpoint.go, agent/consul/state/catalog.go, agent/blockingquery): service names without
 * case; {@code passing} (absent: false, bare: true, else a Go boolean), {@code tag} (repeatable; every
 * one must be present, compared without case), {@code dc}, and blocking queries ({@code index}: wait
 * while the service's index is not above it; {@code wait}: a Go duration, zero or less meaning the
 * default 5m, at most 10m or the {@link #maxQueryTime} set, plus a random [0, wait/16)). The token is {@code ?token=}, else
 * {@code X-Consul-Token}, else {@code Authorization: Bearer}. Errors come in Consul's order: 405 for a
 * method other than GET; 400 {@code Invalid wait time}, then {@code Invalid index}, then
 * {@code Missing service name}; 500 {@code No path to datacenter}; 403 {@code ACL not found}; and,
 * once the query has run, 400 {@code Invalid value for ?passing}. Answers carry
 * {@code X-Consul-Index}, {@code X-Consul-KnownLeader}, {@code X-Consul-LastContact} and
 * {@code X-Consul-Default-ACL-Policy}; entries are {@code {Node, Service, Checks}} with check
 * statuses passing, warning or critical. With ACLs on (default policy deny): an unknown token is
 * refused with 403 {@code ACL not found}; the anonymous token (none sent) and a token without
 * {@code service:read} see the results filtered out (the latter with
 * {@code X-Consul-Results-Filtered-By-ACLs: true}).
 *
 * <p>Indexes as the state store keeps them: a service's index is that of its last change while it has
 * instances; a service without any answers (and blocks on) the index at which the last instance of any
 * service was deregistered, or the catalog's latest index when none ever was
 * (maxIndexAndWatchChForService). A blocked query wakes only for changes to its own service.
 *
 * <p>{@link #restoreSnapshot} is a raft snapshot restore ({@link #snapshot} takes one): the catalog and
 * its indexes become the snapshot's, so reads report the snapshot's (possibly lower) indexes; every
 * blocked query is answered at once with what the abandoned store held (blockingquery.go returns on
 * {@code AbandonCh}); the raft index becomes max(snapshot's, current) + 1, and + 1 for the no-op the
 * restore applies (hashicorp/raft), so every later write lands above every earlier index.
 * {@link #rebuiltCluster} is the agent's servers replaced by a cluster rebuilt from scratch: a fresh,
 * lower raft index, the agents' services registered again; blocked queries, retried on the new servers,
 * are answered at their wait's end with the lower index.
 *
 * <p>As an agent's HTTP server (Go's net/http): HTTP/1.1 only on the plain port (no h2c); HTTPS with a certificate
 * and, with a client CA, {@code tls.https.verify_incoming}; {@code limits.http_max_conns_per_client} (200 by default)
 * applied as go-connlimit does, on accept: a connection over its client IP's limit gets 429 {@code Your IP is issuing
 * too many concurrent connections, please rate limit your calls} with {@code Connection: close}, then is closed.
 *
 * <p>Runs on 127.0.0.1 and an ephemeral port, kept across {@link #stop()} and {@link #start()}.
 * State changes are made on the server's event loop; each raises the raft index by one.
 */
public final class ConsulTestServer implements AutoCloseable {

  public static final String DATACENTER = "dc1";
  private static final String PREFIX = "/v1/health/service/";
  /** What Go's net/http sniffs for Consul's plain-text error bodies. */
  private static final String TEXT = "text/plain; charset=utf-8";
  private static final long DEFAULT_WAIT_NANOS = TimeUnit.MINUTES.toNanos(5);
  private static final long MAX_WAIT_NANOS = TimeUnit.MINUTES.toNanos(10);
  private volatile long maxQueryTimeNanos = MAX_WAIT_NANOS;
  private volatile long latencyMs;
  private static final String TOO_MANY_CONNS =
      "Your IP is issuing too many concurrent connections, please rate limit your calls\n";
  private volatile int maxConnsPerClient = 200;
  private final Map<String, Integer> openPerIp = new java.util.concurrent.ConcurrentHashMap<>();
  private final java.util.Set<io.vertx.core.http.HttpConnection> overLimit = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /** One registered service instance on a node, with its service checks (the node's serfHealth is added). */
  private record Instance(String node, String nodeAddress, String serviceId, String service, String address,
      int port, List<String> tags, Map<String, String> checks) {
  }

  /** A request the server got: its path, query string, and the token Consul would use ("" for anonymous). */
  public record Seen(String path, String query, String token) {
  }

  /**
   * A raft snapshot of the catalog, taken by {@link #snapshot()}, for {@link #restoreSnapshot}.
   */
  public static final class Snapshot {
    private final long raftIndex;
    private final Map<String, Instance> instances;
    private final Map<String, Long> serviceIndex;
    private final long extinctionIndex;
    private final long catalogIndex;

    private Snapshot(long raftIndex, Map<String, Instance> instances, Map<String, Long> serviceIndex,
        long extinctionIndex, long catalogIndex) {
      this.raftIndex = raftIndex;
      this.instances = copy(instances);
      this.serviceIndex = new LinkedHashMap<>(serviceIndex);
      this.extinctionIndex = extinctionIndex;
      this.catalogIndex = catalogIndex;
    }

    /** The raft index the snapshot was taken at. */
    public long index() {
      return raftIndex;
    }
  }

  private static Map<String, Instance> copy(Map<String, Instance> instances) {
    Map<String, Instance> copy = new LinkedHashMap<>();
    instances.forEach((id, i) -> copy.put(id, new Instance(i.node(), i.nodeAddress(), i.serviceId(), i.service(),
        i.address(), i.port(), i.tags(), new LinkedHashMap<>(i.checks()))));
    return copy;
  }

  /** A blocked query, its wait, and the timer that answers it at its wait's end. */
  private final class Blocked {
    final HttpServerRequest request;
    final Query query;
    final long minIndex;
    final long waitNanos;
    long deadline;
    long timer = -1;

    Blocked(HttpServerRequest request, Query query, long minIndex, long waitNanos) {
      this.request = request;
      this.query = query;
      this.minIndex = minIndex;
      this.waitNanos = waitNanos;
      this.deadline = System.nanoTime() + waitNanos + jitterNanos(waitNanos);
    }

    /** Runs the query again: answers it if its index moved past minIndex, else it waits on. */
    void recheck() {
      vertx.cancelTimer(timer);
      answerWhenChanged(this);
    }

    void answerNow() {
      vertx.cancelTimer(timer);
      answer(request, query);
    }
  }

  /** One health query: the service, {@code passing} as sent (null: absent), the tags, and what ACLs hide. */
  private record Query(String service, String passing, List<String> tags, boolean hideAll, boolean sayFiltered) {
    String key() {
      return ConsulTestServer.key(service);
    }
  }

  private final Vertx vertx;
  private final Context context;
  private Map<String, Instance> instances = new LinkedHashMap<>();
  /** Per service (lower-cased name) with instances, the raft index of its last change ("service.<name>"). */
  private Map<String, Long> serviceIndex = new LinkedHashMap<>();
  /** The raft index at which the last instance of a service was deregistered; 0 until one was. */
  private long extinctionIndex;
  /** The catalog's latest index (nodes, services, checks). */
  private long catalogIndex = 10;
  private final List<Blocked> blocked = new ArrayList<>();
  private final List<Seen> seen = java.util.Collections.synchronizedList(new ArrayList<>());
  private final AtomicInteger requests = new AtomicInteger();
  private final Map<String, Boolean> tokens = new LinkedHashMap<>();
  private long raftIndex = 10;
  private boolean aclsEnabled;
  private boolean churn;
  private boolean zeroIndex;
  private boolean dropIndex;
  private boolean answerBlockedNow;
  private int port;
  private HttpServer server;
  private final TestCerts.Pem tls;
  private final java.nio.file.Path clientCa;

  public ConsulTestServer(Vertx vertx) {
    this(vertx, null, null);
  }

  /**
   * An agent serving its HTTPS port ({@code ports.https}) with {@code tls}; with {@code clientCa}, one with
   * {@code tls.https.verify_incoming}: the TLS handshake fails without a client certificate that chains to it.
   */
  public ConsulTestServer(Vertx vertx, TestCerts.Pem tls, java.nio.file.Path clientCa) {
    this.vertx = vertx;
    this.context = vertx.getOrCreateContext();
    this.tls = tls;
    this.clientCa = clientCa;
    start();
  }

  public int port() {
    return port;
  }

  public String address() {
    return (tls == null ? "http" : "https") + "://127.0.0.1:" + port;
  }

  /** Listens (again) on its port: 0 the first time, the same one after {@link #stop()}. */
  public void start() {
    // No h2c sniffing (Consul's plain port speaks HTTP/1.1 only): a connection is counted when accepted, not at its
    // first bytes
    HttpServerOptions options = new HttpServerOptions().setHost("127.0.0.1").setPort(port).setHttp2ClearTextEnabled(false);
    if (tls != null) {
      options.setSsl(true).setKeyCertOptions(new io.vertx.core.net.PemKeyCertOptions()
          .setCertPath(tls.cert().toString()).setKeyPath(tls.key().toString()));
    }
    if (clientCa != null) {
      options.setClientAuth(io.vertx.core.http.ClientAuth.REQUIRED)
          .setTrustOptions(new io.vertx.core.net.PemTrustOptions().addCertPath(clientCa.toString()));
    }
    server = call(() -> vertx.createHttpServer(options)
        .connectionHandler(this::connected)
        .requestHandler(this::handle)
        .listen()
        .toCompletionStage().toCompletableFuture());
    port = server.actualPort();
  }

  /** Closes the listener and every connection, as an agent that went away; blocked queries end unanswered. */
  public void stop() {
    call(() -> {
      blocked.clear();
      return server.close().toCompletionStage().toCompletableFuture();
    });
  }

  // ---- state, changed on the server's event loop -------------------------------------------------

  /** ACLs on with default policy deny: {@code token} reads every service. */
  public void requireToken(String token) {
    run(() -> {
      aclsEnabled = true;
      tokens.put(token, true);
    });
  }

  /** A valid token whose policy grants no {@code service:read}. */
  public void addTokenWithoutRead(String token) {
    run(() -> tokens.put(token, false));
  }

  /** Registers a service instance with one passing service check {@code service:<id>}. */
  public void register(String node, String nodeAddress, String serviceId, String service, String address, int port,
      String... tags) {
    run(() -> {
      Map<String, String> checks = new LinkedHashMap<>();
      checks.put("service:" + serviceId, "passing");
      instances.put(serviceId, new Instance(node, nodeAddress, serviceId, service, address, port, List.of(tags), checks));
      changed(key(service));
    });
  }

  /** Sets the status (passing, warning, critical) of the instance's service check. */
  public void check(String serviceId, String status) {
    run(() -> {
      Instance instance = instances.get(serviceId);
      instance.checks().put("service:" + serviceId, status);
      changed(key(instance.service()));
    });
  }

  public void deregister(String serviceId) {
    run(() -> changed(key(instances.remove(serviceId).service())));
  }

  /** While on, every query is answered at once with a higher index (a service whose state churns). */
  public void churn(boolean on) {
    run(() -> {
      churn = on;
      wakeAll();
    });
  }

  /**
   * While on, answers carry X-Consul-Index 0, as buggy older Consul versions did, and a query blocks
   * while its index is 0 or more; turning it on answers the blocked queries at once.
   */
  public void zeroIndex(boolean on) {
    run(() -> {
      zeroIndex = on;
      answerBlockedNow = true;
      wakeAll();
      answerBlockedNow = false;
    });
  }

  /**
   * Answers without the {@code X-Consul-Index} header, as a proxy between the gateway and the agent does when it
   * passes only the headers it knows; the blocking itself is the agent's, as before.
   */
  public void dropIndexHeader(boolean on) {
    run(() -> dropIndex = on);
  }

  /** A raft snapshot of the catalog as it is now. */
  public Snapshot snapshot() {
    return call(() -> CompletableFuture.completedFuture(
        new Snapshot(raftIndex, instances, serviceIndex, extinctionIndex, catalogIndex)));
  }

  /**
   * Restores {@code snapshot} as {@code consul snapshot restore} does: the blocked queries are answered at
   * once from the abandoned catalog; the catalog and its indexes become the snapshot's; the raft index
   * moves past both the snapshot's and the current one (the restore's own index, then its no-op).
   */
  public void restoreSnapshot(Snapshot snapshot) {
    run(() -> {
      List<Blocked> waiting = List.copyOf(blocked);
      blocked.clear();
      waiting.forEach(Blocked::answerNow);
      instances = copy(snapshot.instances);
      serviceIndex = new LinkedHashMap<>(snapshot.serviceIndex);
      extinctionIndex = snapshot.extinctionIndex;
      catalogIndex = snapshot.catalogIndex;
      raftIndex = Math.max(raftIndex, snapshot.raftIndex) + 2;
    });
  }

  /**
   * The agent's servers replaced by a cluster rebuilt from scratch at raft index {@code index} (below the
   * current ones), the agents' services registered again by anti-entropy: every index is {@code index}.
   * Blocked queries are retried on the new servers (reads are retried after a lost connection), so
   * they wait their whole wait again and answer with the lower index, unless a change raises it first.
   */
  public void rebuiltCluster(long index) {
    run(() -> {
      raftIndex = index;
      catalogIndex = index;
      extinctionIndex = 0;
      serviceIndex.replaceAll((service, was) -> index);
      List<Blocked> waiting = List.copyOf(blocked);
      blocked.clear();
      long now = System.nanoTime();
      waiting.forEach(b -> {
        b.deadline = now + b.waitNanos + jitterNanos(b.waitNanos);
        b.recheck();
      });
    });
  }

  /** How many queries are blocked now, waiting for a change or their wait's end. */
  public int blockedQueries() {
    return call(() -> CompletableFuture.completedFuture(blocked.size()));
  }

  /** How many connections are counted now against their client IP's limit. */
  public int countedConnections() {
    return openPerIp.values().stream().mapToInt(Integer::intValue).sum();
  }

  /** The index a query for {@code service} reports and blocks on, as Consul's state store gives it. */
  public long index(String service) {
    return call(() -> CompletableFuture.completedFuture(indexOf(key(service))));
  }

  /** Requests received on the health endpoint so far. */
  /**
   * The servers' {@code max_query_time} (Consul's default: 10 minutes): every blocking query's wait is capped at it
   * before the jitter is added.
   */
  public void maxQueryTime(Duration max) {
    maxQueryTimeNanos = max.toNanos();
  }

  /**
   * From now on every request is handled {@code latency} after it arrived (0: at once), as by an agent whose servers
   * are far away; a blocking query's wait starts after it.
   */
  public void latency(Duration latency) {
    latencyMs = latency.toMillis();
  }

  public int requests() {
    return requests.get();
  }

  public List<Seen> seen() {
    synchronized (seen) {
      return List.copyOf(seen);
    }
  }

  /** A catalog write touching {@code service} (a lower-cased name). */
  private void changed(String service) {
    raftIndex++;
    catalogIndex = raftIndex;
    if (instances.values().stream().anyMatch(i -> key(i.service()).equals(service))) {
      serviceIndex.put(service, raftIndex);
    } else if (serviceIndex.remove(service) != null) {
      extinctionIndex = raftIndex; // its last instance went: "service_last_extinction"
    }
    wake(b -> b.query.key().equals(service));
  }

  /** maxIndexAndWatchChForService: the service's own index, else the last extinction, else the catalog's. */
  private long indexOf(String service) {
    Long own = serviceIndex.get(service);
    if (own != null) {
      return own;
    }
    return extinctionIndex != 0 ? extinctionIndex : catalogIndex;
  }

  private void wakeAll() {
    wake(b -> true);
  }

  private void wake(java.util.function.Predicate<Blocked> which) {
    List<Blocked> waking = blocked.stream().filter(which).toList();
    blocked.removeAll(waking);
    waking.forEach(Blocked::recheck);
  }

  // ---- the HTTP API --------------------------------------------------------------------------------

  /**
   * go-connlimit's limiter as the agent loads it (limits.http_max_conns_per_client): a connection beyond the limit of
   * its client IP is not counted and gets the 429 below, then is closed; a counted one is freed when it closes.
   */
  private void connected(io.vertx.core.http.HttpConnection connection) {
    String ip = connection.remoteAddress().hostAddress();
    if (openPerIp.merge(ip, 1, Integer::sum) > maxConnsPerClient) {
      openPerIp.merge(ip, -1, Integer::sum);
      overLimit.add(connection);
      connection.closeHandler(v -> overLimit.remove(connection));
      return;
    }
    connection.closeHandler(v -> openPerIp.merge(ip, -1, Integer::sum));
  }

  /** The agent's limits.http_max_conns_per_client (Consul's default 200); applies to connections opened later. */
  public void maxConnsPerClient(int max) {
    maxConnsPerClient = max;
  }

  private void handle(HttpServerRequest request) {
    if (overLimit.contains(request.connection())) {
      // go-connlimit's tooManyRequestsResponse, written on accept (before the request is read), then the close
      request.response().setStatusCode(429).putHeader("Content-Type", "text/plain").putHeader("Connection", "close")
          .end(TOO_MANY_CONNS).onComplete(v -> request.connection().close());
      return;
    }
    long latency = latencyMs;
    if (latency > 0) {
      request.pause(); // a GET's empty body: nothing is lost meanwhile
      vertx.setTimer(latency, id -> {
        request.resume();
        serve(request);
      });
      return;
    }
    serve(request);
  }

  private void serve(HttpServerRequest request) {
    String path = request.path();
    if (!path.startsWith(PREFIX)) {
      // Consul's index handler: any other path under /v1/ is not an endpoint.
      request.response().setStatusCode(404).putHeader("Content-Type", TEXT)
          .end("Invalid URL path: not a recognized HTTP API endpoint\n");
      return;
    }
    // agent/http.go wrap(): the endpoint is registered for GET only; OPTIONS lists the methods.
    if (request.method() == HttpMethod.OPTIONS) {
      request.response().putHeader("Allow", "OPTIONS,GET").end();
      return;
    }
    if (request.method() != HttpMethod.GET) {
      fail(request.response().putHeader("Allow", "OPTIONS,GET"), 405,
          "method " + request.method().name() + " not allowed");
      return;
    }
    requests.incrementAndGet();
    String token = token(request);
    seen.add(new Seen(path, request.query(), token));
    // HTTPHandlers.parse(): only wait and index can fail here, wait first; dc and token are read, not checked.
    Long waitNanos = parsed(request, "wait", ConsulTestServer::queryTimeoutNanos, "Invalid wait time");
    if (waitNanos != null && waitNanos > maxQueryTimeNanos) {
      waitNanos = maxQueryTimeNanos; // blockingquery.go: the wait, capped at the servers' max_query_time
    }
    Long minIndex = waitNanos == null ? null : parsed(request, "index", ConsulTestServer::parseIndex, "Invalid index");
    if (minIndex == null) {
      return;
    }
    String service = java.net.URLDecoder.decode(path.substring(PREFIX.length()), StandardCharsets.UTF_8);
    if (service.isEmpty()) {
      fail(request.response(), 400, "Missing service name");
      return;
    }
    // The RPC: another datacenter cannot be reached, an unknown token is refused.
    String dc = request.getParam("dc");
    if (dc != null && !dc.isEmpty() && !DATACENTER.equals(dc)) {
      fail(request.response(), 500, "No path to datacenter");
      return;
    }
    Boolean canRead = true;
    if (aclsEnabled) {
      canRead = token.isEmpty() ? Boolean.FALSE : tokens.get(token);
      if (canRead == null) {
        fail(request.response(), 403, "ACL not found");
        return;
      }
    }
    List<String> tags = request.params().getAll("tag");
    boolean filtered = aclsEnabled && !canRead;
    Query query = new Query(service, request.params().contains("passing") ? request.getParam("passing") : null, tags,
        filtered, filtered && !token.isEmpty());
    answerWhenChanged(new Blocked(request, query, minIndex, waitNanos));
  }

  /**
   * The request's token as Consul reads it (agent/http.go parseTokenInternal): a non-empty {@code ?token=},
   * else a non-empty {@code X-Consul-Token} header, else {@code Authorization: Bearer <token>} (the scheme
   * in any case); "" is the anonymous token.
   */
  static String token(HttpServerRequest request) {
    return token(request.getParam("token"), request.getHeader("X-Consul-Token"), request.getHeader("Authorization"));
  }

  static String token(String param, String consulToken, String authorization) {
    if (param != null && !param.isEmpty()) {
      return param;
    }
    if (consulToken != null && !consulToken.isEmpty()) {
      return consulToken;
    }
    if (authorization != null && !authorization.isEmpty()) {
      String[] parts = authorization.split(" ", -1);
      if (parts.length > 1 && parts[0].toLowerCase(Locale.ROOT).equals("bearer")) {
        String value = String.join(" ", java.util.Arrays.copyOfRange(parts, 1, parts.length)).strip();
        return value.split(" ", -1)[0].strip();
      }
    }
    return "";
  }

  /** The parameter read by {@code parser}, or null once the request is refused with 400 {@code error}. */
  private static Long parsed(HttpServerRequest request, String param, java.util.function.ToLongFunction<String> parser,
      String error) {
    try {
      return parser.applyAsLong(request.getParam(param));
    } catch (IllegalArgumentException e) {
      fail(request.response(), 400, error);
      return null;
    }
  }

  private static void fail(HttpServerResponse response, int status, String body) {
    response.setStatusCode(status).putHeader("Content-Type", TEXT).end(body);
  }

  /**
   * Answers the query if its service's index is above its index (0: at once) or its wait has ended;
   * else it waits until a change to its service, or its wait's end.
   */
  private void answerWhenChanged(Blocked query) {
    if (churn) {
      changed(query.query.key());
    }
    long current = zeroIndex ? 0 : indexOf(query.query.key());
    long remaining = query.deadline - System.nanoTime();
    if (query.minIndex != 0 && Long.compareUnsigned(current, query.minIndex) <= 0 && remaining > 0
        && !answerBlockedNow) {
      blocked.add(query);
      query.timer = vertx.setTimer(Math.max(1, TimeUnit.NANOSECONDS.toMillis(remaining)), id -> {
        if (blocked.remove(query)) {
          answer(query.request, query.query);
        }
      });
      // the response's: the connection's one handler counts it for the limit per client IP
      query.request.response().closeHandler(v -> blocked.remove(query));
      return;
    }
    answer(query.request, query.query);
  }

  private void answer(HttpServerRequest request, Query query) {
    long index = zeroIndex ? 0 : Math.max(1, indexOf(query.key()));
    var response = request.response();
    if (!dropIndex) {
      response.putHeader("X-Consul-Index", Long.toUnsignedString(index));
    }
    response.putHeader("X-Consul-KnownLeader", "true")
        .putHeader("X-Consul-LastContact", "0")
        .putHeader("X-Consul-Default-ACL-Policy", aclsEnabled ? "deny" : "allow");
    if (query.sayFiltered()) {
      response.putHeader("X-Consul-Results-Filtered-By-ACLs", "true");
    }
    if (response.closed()) {
      return;
    }
    // health_endpoint.go reads ?passing after the query has run (and blocked): its error comes last.
    Boolean passing = goBool(query.passing());
    if (passing == null) {
      fail(response, 400, "Invalid value for ?passing");
      return;
    }
    JsonArray entries = new JsonArray();
    for (Instance instance : instances.values()) {
      if (query.hideAll() || !key(instance.service()).equals(query.key()) || !hasTags(instance, query.tags())) {
        continue;
      }
      if (passing && instance.checks().values().stream().anyMatch(s -> !s.equals("passing"))) {
        continue;
      }
      entries.add(entry(instance));
    }
    response.putHeader("Content-Type", "application/json").end(entries.encode());
  }

  private static boolean hasTags(Instance instance, List<String> tags) {
    for (String tag : tags) {
      if (instance.tags().stream().noneMatch(t -> t.toLowerCase(Locale.ROOT).equals(tag.toLowerCase(Locale.ROOT)))) {
        return false;
      }
    }
    return true;
  }

  private static JsonObject entry(Instance i) {
    JsonArray checks = new JsonArray().add(check(i, "serfHealth", "Serf Health Status", "passing", "", ""));
    i.checks().forEach((id, status) -> checks.add(check(i, id, "Service '" + i.service() + "' check", status,
        i.serviceId(), i.service())));
    return new JsonObject()
        .put("Node", new JsonObject().put("ID", java.util.UUID.nameUUIDFromBytes(i.node().getBytes()).toString())
            .put("Node", i.node()).put("Address", i.nodeAddress()).put("Datacenter", DATACENTER)
            .put("TaggedAddresses", new JsonObject().put("lan", i.nodeAddress()).put("wan", i.nodeAddress()))
            .put("Meta", new JsonObject()))
        .put("Service", new JsonObject().put("ID", i.serviceId()).put("Service", i.service())
            .put("Tags", new JsonArray(new ArrayList<>(i.tags()))).put("Address", i.address())
            .put("TaggedAddresses", new JsonObject()).put("Meta", new JsonObject()).put("Port", i.port())
            .put("Weights", new JsonObject().put("Passing", 1).put("Warning", 1)).put("Namespace", "default"))
        .put("Checks", checks);
  }

  private static JsonObject check(Instance i, String id, String name, String status, String serviceId, String service) {
    return new JsonObject().put("Node", i.node()).put("CheckID", id).put("Name", name).put("Status", status)
        .put("Notes", "").put("Output", "").put("ServiceID", serviceId).put("ServiceName", service)
        .put("ServiceTags", serviceId.isEmpty() ? new JsonArray() : new JsonArray(new ArrayList<>(i.tags())))
        .put("Namespace", "default");
  }

  /**
   * {@code ?passing} as health_endpoint.go getBoolQueryParam reads it: absent is false, present without a
   * value is true, else Go's strconv.ParseBool; null when that refuses it.
   */
  static Boolean goBool(String value) {
    if (value == null) {
      return false;
    }
    return switch (value) {
      case "" , "1", "t", "T", "TRUE", "true", "True" -> true;
      case "0", "f", "F", "FALSE", "false", "False" -> false;
      default -> null;
    };
  }

  /** {@code ?index} as strconv.ParseUint(s, 10, 64): absent or empty is 0 (no blocking); digits only, at most 2^64-1. */
  static long parseIndex(String text) {
    if (text == null || text.isEmpty()) {
      return 0;
    }
    if (!text.chars().allMatch(c -> c >= '0' && c <= '9')) {
      throw new IllegalArgumentException(text);
    }
    try {
      return Long.parseUnsignedLong(text);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(text, e);
    }
  }

  /**
   * How long a blocking query waits, in nanoseconds, for {@code ?wait} (Server.RPCQueryTimeout without its
   * jitter): absent or empty, or a duration of zero or less, is the default 5 minutes; more than 10
   * minutes is 10 minutes.
   */
  static long queryTimeoutNanos(String wait) {
    long nanos = wait == null || wait.isEmpty() ? 0 : goDuration(wait);
    if (nanos > MAX_WAIT_NANOS) {
      return MAX_WAIT_NANOS;
    }
    return nanos <= 0 ? DEFAULT_WAIT_NANOS : nanos;
  }

  /** Go's time.ParseDuration, in nanoseconds: {@code [-+]?([0-9]*(\.[0-9]*)?[a-z]+)+} or "0". */
  static long goDuration(String text) {
    String s = text;
    boolean negative = false;
    if (!s.isEmpty() && (s.charAt(0) == '-' || s.charAt(0) == '+')) {
      negative = s.charAt(0) == '-';
      s = s.substring(1);
    }
    if (s.equals("0")) {
      return 0;
    }
    if (s.isEmpty()) {
      throw new IllegalArgumentException("invalid duration " + text);
    }
    long total = 0; // unsigned, at most 2^63
    int at = 0;
    while (at < s.length()) {
      char c = s.charAt(at);
      if (!(c == '.' || c >= '0' && c <= '9')) {
        throw new IllegalArgumentException("invalid duration " + text);
      }
      int start = at;
      long whole = 0;
      for (; at < s.length() && isDigit(s.charAt(at)); at++) {
        if (Long.compareUnsigned(whole, Long.divideUnsigned(Long.MIN_VALUE, 10)) > 0) {
          throw new IllegalArgumentException("invalid duration " + text);
        }
        whole = whole * 10 + (s.charAt(at) - '0');
        if (Long.compareUnsigned(whole, Long.MIN_VALUE) > 0) {
          throw new IllegalArgumentException("invalid duration " + text);
        }
      }
      boolean pre = at != start;
      long fraction = 0;
      double scale = 1;
      boolean post = false;
      if (at < s.length() && s.charAt(at) == '.') {
        at++;
        int fractionStart = at;
        boolean overflow = false;
        for (; at < s.length() && isDigit(s.charAt(at)); at++) {
          if (overflow) {
            continue;
          }
          if (fraction > (Long.MAX_VALUE - 1) / 10) {
            overflow = true; // Go's leadingFraction stops adding digits that no longer fit
            continue;
          }
          long next = fraction * 10 + (s.charAt(at) - '0');
          if (next < 0) {
            overflow = true;
            continue;
          }
          fraction = next;
          scale *= 10;
        }
        post = at != fractionStart;
      }
      if (!pre && !post) {
        throw new IllegalArgumentException("invalid duration " + text);
      }
      int unitStart = at;
      for (; at < s.length() && s.charAt(at) != '.' && !isDigit(s.charAt(at)); at++) {
        // the unit runs up to the next number
      }
      if (at == unitStart) {
        throw new IllegalArgumentException("missing unit in duration " + text);
      }
      long unit = switch (s.substring(unitStart, at)) {
        case "ns" -> 1L;
        case "us", "\u00b5s", "\u03bcs" -> 1_000L;
        case "ms" -> 1_000_000L;
        case "s" -> 1_000_000_000L;
        case "m" -> 60_000_000_000L;
        case "h" -> 3_600_000_000_000L;
        default -> throw new IllegalArgumentException("unknown unit in duration " + text);
      };
      if (Long.compareUnsigned(whole, Long.divideUnsigned(Long.MIN_VALUE, unit)) > 0) {
        throw new IllegalArgumentException("invalid duration " + text);
      }
      whole *= unit;
      if (fraction > 0) {
        whole += (long) (fraction * (unit / scale));
        if (Long.compareUnsigned(whole, Long.MIN_VALUE) > 0) {
          throw new IllegalArgumentException("invalid duration " + text);
        }
      }
      total += whole;
      if (Long.compareUnsigned(total, Long.MIN_VALUE) > 0) {
        throw new IllegalArgumentException("invalid duration " + text);
      }
    }
    if (negative) {
      return -total; // 2^63 stays Long.MIN_VALUE
    }
    if (total == Long.MIN_VALUE) {
      throw new IllegalArgumentException("invalid duration " + text);
    }
    return total;
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  /** lib.RandomStagger(wait / structs.JitterFraction): in [0, wait/16), 0 when wait/16 is 0. */
  static long jitterNanos(long waitNanos) {
    long interval = waitNanos / 16;
    return interval <= 0 ? 0 : ThreadLocalRandom.current().nextLong(interval);
  }

  /** Consul keys services by their lower-cased name (the state store's indexes, agent/rpcclient/health). */
  private static String key(String service) {
    return service.toLowerCase(Locale.ROOT);
  }

  private void run(Runnable change) {
    call(() -> {
      change.run();
      return CompletableFuture.completedFuture(null);
    });
  }

  private <T> T call(Supplier<CompletableFuture<T>> action) {
    CompletableFuture<T> result = new CompletableFuture<>();
    context.runOnContext(v -> {
      try {
        action.get().whenComplete((value, err) -> {
          if (err != null) {
            result.completeExceptionally(err);
          } else {
            result.complete(value);
          }
        });
      } catch (RuntimeException e) {
        result.completeExceptionally(e);
      }
    });
    try {
      return result.get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    stop();
  }
}
