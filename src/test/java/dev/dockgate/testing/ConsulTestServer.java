package dev.dockgate.testing;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
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
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A stand-in for a Consul agent (no Consul can be installed here) serving exactly the endpoint the
 * gateway uses, as Consul's HTTP API documentation describes it: {@code GET /v1/health/service/:service}
 * with {@code passing}, {@code tag} (repeatable; every one must be present, compared without case),
 * {@code dc}, and blocking queries ({@code index}: wait while the service's index is not above it;
 * {@code wait}: a Go duration, default 5m, at most 10m, plus a random wait/16). Answers carry
 * {@code X-Consul-Index}, {@code X-Consul-KnownLeader}, {@code X-Consul-LastContact} and
 * {@code X-Consul-Default-ACL-Policy}; entries are {@code {Node, Service, Checks}} with check
 * statuses passing, warning or critical. With ACLs on (default policy deny): an unknown token is
 * refused with 403 {@code ACL not found}; the anonymous token (none sent) and a token without
 * {@code service:read} see the results filtered out (the latter with
 * {@code X-Consul-Results-Filtered-By-ACLs: true}). A snapshot restore ({@link #restoreSnapshot})
 * sets the indexes back and wakes every blocking query, as Consul's state store does.
 *
 * <p>Runs on 127.0.0.1 and an ephemeral port, kept across {@link #stop()} and {@link #start()}.
 * State changes are made on the server's event loop; each raises the raft index by one.
 */
public final class ConsulTestServer implements AutoCloseable {

  public static final String DATACENTER = "dc1";
  private static final long DEFAULT_WAIT_MS = 300_000;
  private static final long MAX_WAIT_MS = 600_000;
  private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)(ns|us|µs|ms|s|m|h)");

  /** One registered service instance on a node, with its service checks (the node's serfHealth is added). */
  private record Instance(String node, String nodeAddress, String serviceId, String service, String address,
      int port, List<String> tags, Map<String, String> checks) {
  }

  /** A request the server got: its path, query string, and token header. */
  public record Seen(String path, String query, String token) {
  }

  private final Vertx vertx;
  private final Context context;
  private final Map<String, Instance> instances = new LinkedHashMap<>();
  /** Per service name, the raft index of its last change. */
  private final Map<String, Long> serviceIndex = new LinkedHashMap<>();
  private final List<Runnable> blocked = new ArrayList<>();
  private final List<Seen> seen = java.util.Collections.synchronizedList(new ArrayList<>());
  private final AtomicInteger requests = new AtomicInteger();
  private final Map<String, Boolean> tokens = new LinkedHashMap<>();
  private long raftIndex = 10;
  private boolean aclsEnabled;
  private boolean churn;
  private boolean zeroIndex;
  private boolean answerBlockedNow;
  private int port;
  private HttpServer server;

  public ConsulTestServer(Vertx vertx) {
    this.vertx = vertx;
    this.context = vertx.getOrCreateContext();
    start();
  }

  public int port() {
    return port;
  }

  public String address() {
    return "http://127.0.0.1:" + port;
  }

  /** Listens (again) on its port: 0 the first time, the same one after {@link #stop()}. */
  public void start() {
    server = call(() -> vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(port))
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
      changed(service);
    });
  }

  /** Sets the status (passing, warning, critical) of the instance's service check. */
  public void check(String serviceId, String status) {
    run(() -> {
      Instance instance = instances.get(serviceId);
      instance.checks().put("service:" + serviceId, status);
      changed(instance.service());
    });
  }

  public void deregister(String serviceId) {
    run(() -> changed(instances.remove(serviceId).service()));
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
   * A raft snapshot restored with older data: every index goes back to {@code index} (below the
   * current ones) and blocking queries are woken, answering the restored state with the lower index.
   */
  public void restoreSnapshot(long index) {
    run(() -> {
      raftIndex = index;
      serviceIndex.replaceAll((service, was) -> index);
      wakeAll();
    });
  }

  /** The current index of {@code service}. */
  public long index(String service) {
    return call(() -> CompletableFuture.completedFuture(serviceIndex.getOrDefault(service, 0L)));
  }

  /** Requests received on the health endpoint so far. */
  public int requests() {
    return requests.get();
  }

  public List<Seen> seen() {
    synchronized (seen) {
      return List.copyOf(seen);
    }
  }

  private void changed(String service) {
    raftIndex++;
    serviceIndex.put(service, raftIndex);
    wakeAll();
  }

  private void wakeAll() {
    List<Runnable> waiting = List.copyOf(blocked);
    blocked.clear();
    waiting.forEach(Runnable::run);
  }

  // ---- the HTTP API --------------------------------------------------------------------------------

  private void handle(HttpServerRequest request) {
    String path = request.path();
    if (!path.startsWith("/v1/health/service/") || request.method() != io.vertx.core.http.HttpMethod.GET) {
      request.response().setStatusCode(404).end();
      return;
    }
    requests.incrementAndGet();
    String token = request.getHeader("X-Consul-Token");
    if (token == null && request.getHeader("Authorization") != null
        && request.getHeader("Authorization").startsWith("Bearer ")) {
      token = request.getHeader("Authorization").substring(7);
    }
    seen.add(new Seen(path, request.query(), token));
    String service = java.net.URLDecoder.decode(path.substring("/v1/health/service/".length()),
        java.nio.charset.StandardCharsets.UTF_8);
    String dc = request.getParam("dc");
    if (dc != null && !dc.isEmpty() && !DATACENTER.equals(dc)) {
      request.response().setStatusCode(500).end("No path to datacenter");
      return;
    }
    Boolean canRead = true;
    if (aclsEnabled) {
      canRead = token == null || token.isEmpty() ? Boolean.FALSE : tokens.get(token);
      if (canRead == null) {
        request.response().setStatusCode(403).end("ACL not found");
        return;
      }
    }
    long wait;
    try {
      wait = waitMs(request.getParam("wait"));
    } catch (IllegalArgumentException e) {
      request.response().setStatusCode(400).end("Invalid wait time");
      return;
    }
    long minIndex;
    try {
      minIndex = request.getParam("index") == null ? 0 : Long.parseUnsignedLong(request.getParam("index"));
    } catch (NumberFormatException e) {
      request.response().setStatusCode(400).end("Invalid index");
      return;
    }
    boolean passing = passing(request.getParam("passing"));
    List<String> tags = request.params().getAll("tag");
    boolean filtered = aclsEnabled && !canRead;
    boolean namedToken = token != null && !token.isEmpty();
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(wait + jitter(wait));
    answerWhenChanged(request, service, minIndex, deadline, passing, tags, filtered, filtered && namedToken);
  }

  /** Blocks while the service's index is not above {@code minIndex} (0: never) and the deadline is ahead. */
  private void answerWhenChanged(HttpServerRequest request, String service, long minIndex, long deadline,
      boolean passing, List<String> tags, boolean hideAll, boolean sayFiltered) {
    if (churn) {
      changed(service);
    }
    long current = zeroIndex ? 0 : serviceIndex.getOrDefault(service, 0L);
    long remaining = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
    if (minIndex > 0 && current <= minIndex && remaining > 0 && !answerBlockedNow) {
      long[] timer = {-1};
      Runnable wake = () -> {
        vertx.cancelTimer(timer[0]);
        answerWhenChanged(request, service, minIndex, deadline, passing, tags, hideAll, sayFiltered);
      };
      blocked.add(wake);
      timer[0] = vertx.setTimer(remaining, id -> {
        if (blocked.remove(wake)) {
          answer(request, service, passing, tags, hideAll, sayFiltered);
        }
      });
      request.connection().closeHandler(v -> blocked.remove(wake));
      return;
    }
    answer(request, service, passing, tags, hideAll, sayFiltered);
  }

  private void answer(HttpServerRequest request, String service, boolean passing, List<String> tags, boolean hideAll,
      boolean sayFiltered) {
    JsonArray entries = new JsonArray();
    for (Instance instance : instances.values()) {
      if (hideAll || !instance.service().equals(service) || !hasTags(instance, tags)) {
        continue;
      }
      if (passing && instance.checks().values().stream().anyMatch(s -> !s.equals("passing"))) {
        continue;
      }
      entries.add(entry(instance));
    }
    long index = zeroIndex ? 0 : Math.max(1, serviceIndex.getOrDefault(service, raftIndex));
    var response = request.response()
        .putHeader("Content-Type", "application/json")
        .putHeader("X-Consul-Index", Long.toString(index))
        .putHeader("X-Consul-KnownLeader", "true")
        .putHeader("X-Consul-LastContact", "0")
        .putHeader("X-Consul-Default-ACL-Policy", aclsEnabled ? "deny" : "allow");
    if (sayFiltered) {
      response.putHeader("X-Consul-Results-Filtered-By-ACLs", "true");
    }
    if (!request.response().closed()) {
      response.end(entries.encode());
    }
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

  /** Consul reads {@code passing} as a flag: present and empty means true, else a Go boolean. */
  private static boolean passing(String value) {
    if (value == null) {
      return false;
    }
    return value.isEmpty() || value.equals("1") || value.equalsIgnoreCase("t") || value.equalsIgnoreCase("true");
  }

  /** A Go duration ("10s", "5m", "1m30s", "250ms"), default 5m, at most 10m. */
  static long waitMs(String text) {
    if (text == null || text.isEmpty()) {
      return DEFAULT_WAIT_MS;
    }
    Matcher m = DURATION.matcher(text);
    double total = 0;
    int at = 0;
    while (m.find() && m.start() == at) {
      double n = Double.parseDouble(m.group(1));
      total += switch (m.group(2)) {
        case "ns" -> n / 1e6;
        case "us", "µs" -> n / 1e3;
        case "ms" -> n;
        case "s" -> n * 1e3;
        case "m" -> n * 60e3;
        default -> n * 3600e3;
      };
      at = m.end();
    }
    if (at != text.length() || at == 0) {
      throw new IllegalArgumentException(text);
    }
    return Math.min(MAX_WAIT_MS, (long) total);
  }

  private static long jitter(long waitMs) {
    return ThreadLocalRandom.current().nextLong(waitMs / 16 + 1);
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
