package dev.dockgate.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.AsyncMap;
import java.lang.reflect.Proxy;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The roster follows the membership: members seen and gone are pruned, a joiner not yet seen is not. */
class RosterTest {

  Vertx vertx;
  AsyncMap<String, JsonObject> map;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    map = vertx.sharedData().<String, JsonObject>getAsyncMap(Roster.MAP).await(5, TimeUnit.SECONDS);
  }

  @AfterEach
  void stop() throws Exception {
    vertx.close().await(5, TimeUnit.SECONDS);
  }

  private Set<String> ids() throws Exception {
    return new TreeSet<>(map.keys().await(5, TimeUnit.SECONDS));
  }

  private void enterAs(String node) throws Exception {
    map.put(node, new JsonObject().put("node", node)).await(5, TimeUnit.SECONDS);
  }

  @Test
  void aMemberGoneIsPrunedAndRememberedAJoinerNotYetSeenIsKept() throws Exception {
    enterAs("b");
    enterAs("c");
    Roster roster = Roster.enter(vertx, "a", "127.0.0.1:8080", List.of("a", "b", "c")).await(5, TimeUnit.SECONDS);
    enterAs("d"); // entered before this node heard of its joining
    assertEquals(Set.of("c"), roster.follow(List.of("a", "b")));
    // The removals are asynchronous: the map answers in order.
    assertEquals(Set.of("a", "b", "d"), ids());
    assertEquals("c", roster.departed().getJsonObject(0).getString("node"));
    assertEquals(Set.of(), roster.follow(List.of("a", "b", "d")), "nothing gone");
    assertEquals(Set.of("d"), roster.follow(List.of("a", "b")));
    assertEquals(Set.of("a", "b"), ids());
    assertEquals(List.of("d", "c"), roster.departed().stream().map(o -> ((JsonObject) o).getString("node")).toList());
  }

  @Test
  void aNodePrunedWhileCutOffPutsItselfBackAndLeavesCleanly() throws Exception {
    Roster roster = Roster.enter(vertx, "a", "127.0.0.1:8080", List.of("a", "b")).await(5, TimeUnit.SECONDS);
    map.remove("a").await(5, TimeUnit.SECONDS); // a peer's view: a was gone
    roster.follow(List.of("a", "b"));
    Roster.Entries entries = roster.entries().await(5, TimeUnit.SECONDS);
    assertEquals("127.0.0.1:8080", entries.nodes().get("a").getString("server"));
    assertEquals(false, entries.stale());
    roster.leave().await(5, TimeUnit.SECONDS);
    assertEquals(Set.of(), ids());
  }

  /**
   * A read that a hung member holds up is shared: the questions asked meanwhile (each /health, /admin/routes and
   * /stats?scope=cluster) are answered from the last read after 1 s, and start no read of their own. Each read
   * holds a worker thread until it ends: before, a load balancer checking /health a few times a second during a
   * 20 s hang held 14 of the 20 workers, which every blocking task of the gateway shares.
   */
  @Test
  void aReadHeldUpIsAnsweredFromTheLastOneAndNotStartedAgain() throws Exception {
    AtomicInteger reads = new AtomicInteger();
    Promise<Map<String, JsonObject>> never = Promise.promise();
    @SuppressWarnings("unchecked")
    AsyncMap<String, JsonObject> hung = (AsyncMap<String, JsonObject>) Proxy.newProxyInstance(
        getClass().getClassLoader(), new Class<?>[] {AsyncMap.class}, (proxy, method, args) -> switch (method.getName()) {
          case "entries" -> {
            reads.incrementAndGet();
            yield never.future();
          }
          case "put", "putIfAbsent", "remove" -> Future.succeededFuture();
          default -> throw new UnsupportedOperationException(method.getName());
        });
    JsonObject entry = new JsonObject().put("node", "a").put("server", "127.0.0.1:8080");
    Roster roster = vertx.<Roster>executeBlocking(() -> null) // on a Vert.x context, as the cluster verticle uses it
        .compose(v -> Roster.enter(hung, "a", entry, List.of("a", "b"))).await(5, TimeUnit.SECONDS);
    List<Roster.Entries> answers = new java.util.ArrayList<>();
    for (int i = 0; i < 3; i++) {
      answers.add(vertx.getOrCreateContext().<Roster.Entries>executeBlocking(() -> null)
          .compose(v -> roster.entries()).await(5, TimeUnit.SECONDS));
    }
    for (Roster.Entries answer : answers) {
      assertEquals(true, answer.stale(), "answered from the last read");
      assertEquals("127.0.0.1:8080", answer.nodes().get("a").getString("server"));
    }
    assertEquals(1, reads.get(), "one read under way at a time");
  }

  @Test
  void departedKeepsTheLastTen() throws Exception {
    Roster roster = Roster.enter(vertx, "a", "h:1", List.of()).await(5, TimeUnit.SECONDS);
    for (int i = 0; i < 15; i++) {
      roster.follow(List.of("a", "n" + i));
      roster.follow(List.of("a"));
    }
    assertEquals(Roster.DEPARTED_KEPT, roster.departed().size());
    assertEquals("n14", roster.departed().getJsonObject(0).getString("node"));
  }
}
