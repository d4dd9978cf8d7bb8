package dev.dockgate.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.AsyncMap;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
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
