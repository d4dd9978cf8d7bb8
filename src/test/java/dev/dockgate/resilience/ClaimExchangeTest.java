package dev.dockgate.resilience;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.events.Addresses;
import dev.dockgate.testing.Poll;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Two nodes' claim exchanges on one event bus (each on its own context, as each health checker is): a joiner learns
 * the others' sets, changes travel as the keys added and removed, heartbeats stay small, whatever does not follow on
 * is repaired by asking for the full set, and a silent peer is dropped.
 */
@ExtendWith(VertxExtension.class)
@Timeout(30)
class ClaimExchangeTest {

  private static final long PERIOD_MS = 100;
  private static final Duration DEADLINE = Duration.ofSeconds(5);

  Vertx vertx;
  /** Every message published on the claims address, as encoded for the wire. */
  final ConcurrentLinkedQueue<JsonObject> published = new ConcurrentLinkedQueue<>();
  /** Full sets asked for, by the node asked. */
  final Map<String, AtomicInteger> asked = Map.of("a", new AtomicInteger(), "b", new AtomicInteger());

  @BeforeEach
  void listen(Vertx vertx) {
    this.vertx = vertx;
    vertx.eventBus().<JsonObject>consumer(Addresses.HEALTH_CLAIMS, msg -> published.add(msg.body()));
    vertx.eventBus().addOutboundInterceptor(delivery -> {
      asked.forEach((node, count) -> {
        if (delivery.message().address().equals(Addresses.healthClaims(node))) {
          count.incrementAndGet();
        }
      });
      delivery.next();
    });
  }

  /** One node's exchange, used only on its own context. */
  private final class Node {
    final Context context = vertx.getOrCreateContext();
    final AtomicInteger changes = new AtomicInteger();
    final ClaimExchange exchange = on(() -> new ClaimExchange(vertx, changes::incrementAndGet, PERIOD_MS));

    <T> T on(Supplier<T> action) {
      return await(Future.<T>future(p -> context.runOnContext(v -> p.complete(action.get()))));
    }

    void start(String self, List<String> members, Set<String> keys) {
      await(Future.<Void>future(p -> context.runOnContext(v -> {
        exchange.own(keys);
        exchange.join(self, members).onSuccess(x -> exchange.announce()).onComplete(p);
      })));
    }

    Map<String, Set<String>> heard() {
      return on(exchange::keys);
    }
  }

  private static <T> T await(Future<T> future) {
    try {
      return future.await(5, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      throw new AssertionError("no answer within 5 s", e);
    }
  }

  private static Set<String> keys(int from, int to) {
    Set<String> keys = new HashSet<>();
    IntStream.range(from, to).forEach(i -> keys.add("svc/local/" + String.format("%064x", i)));
    return keys;
  }

  @Test
  void aJoinerLearnsTheSetsThenChangesTravelAsTheKeysAddedAndRemoved() {
    Node a = new Node();
    a.start("a", List.of("a"), keys(0, 2000));
    Node b = new Node();
    b.start("b", List.of("a", "b"), keys(1000, 1010));
    assertEquals(Map.of("a", keys(0, 2000)), b.heard(), "asked a for its set before announcing");
    assertEquals(1, asked.get("a").get());
    Poll.until(DEADLINE, "a hears b's set", () -> a.heard().equals(Map.of("b", keys(1000, 1010))));

    // One container gone and one come on a: one small message, and b follows.
    Set<String> next = keys(1, 2001);
    published.clear();
    a.on(() -> {
      a.exchange.own(next);
      return null;
    });
    Poll.until(DEADLINE, "b follows a's change", () -> b.heard().get("a").equals(next));
    JsonObject change = published.stream().filter(m -> "a".equals(m.getString("node")) && m.containsKey("added"))
        .findFirst().orElseThrow();
    assertEquals(new JsonArray().add("svc/local/" + String.format("%064x", 2000)), change.getJsonArray("added"));
    assertTrue(change.encode().length() < 300, "a change of two keys: " + change.encode().length() + " bytes");
    JsonObject full = published.stream().filter(m -> m.containsKey("keys")).findFirst().orElse(null);
    assertEquals(null, full, "no full set sent for a change of two keys");
    assertEquals(1, asked.get("a").get(), "nothing asked: the change followed on");

    Poll.until(DEADLINE, "heartbeats", () -> published.stream().anyMatch(m -> m.size() == 4));
    published.stream().filter(m -> m.size() == 4).forEach(m -> assertTrue(m.encode().length() < 150,
        "a heartbeat for 2000 keys: " + m.encode()));
  }

  @Test
  void aChangeThatDoesNotFollowOnIsRepairedByAskingForTheFullSet() {
    Node a = new Node();
    a.start("a", List.of("a"), keys(0, 50));
    Node b = new Node();
    b.start("b", List.of("a", "b"), keys(0, 50));
    int before = asked.get("a").get();
    // A change b cannot check (its digest does not match the keys): b asks a, whose real set stands.
    JsonObject bogus = new JsonObject().put("node", "a").put("version", 2L).put("digest", 7L).put("count", 51)
        .put("added", new JsonArray().add("svc/bogus")).put("removed", new JsonArray());
    vertx.eventBus().publish(Addresses.HEALTH_CLAIMS, bogus);
    Poll.until(DEADLINE, "b asks a for its full set", () -> asked.get("a").get() > before);
    Poll.until(DEADLINE, "b holds a's real set", () -> b.heard().get("a").equals(keys(0, 50)));
  }

  @Test
  void aPeerThatFallsSilentOrLeavesIsDropped() {
    Node b = new Node();
    b.start("b", List.of("b"), keys(0, 10));
    vertx.eventBus().publish(Addresses.HEALTH_CLAIMS, new JsonObject().put("node", "ghost").put("version", 1L)
        .put("digest", ProbeClaims.digest(keys(5, 15))).put("count", 10).put("keys", new JsonArray(List.copyOf(keys(5, 15)))));
    Poll.until(DEADLINE, "b hears the ghost", () -> b.heard().containsKey("ghost"));
    int changes = b.changes.get();
    long heard = System.nanoTime();
    Poll.until(DEADLINE, "the ghost's claim dropped", () -> b.heard().isEmpty());
    long silent = (System.nanoTime() - heard) / 1_000_000;
    assertTrue(silent >= ClaimExchange.STALE_PERIODS * PERIOD_MS - PERIOD_MS, "dropped after " + silent + " ms");
    assertTrue(b.changes.get() > changes, "the health checker is told");

    Node a = new Node();
    a.start("a", List.of("a", "b"), keys(0, 3));
    Poll.until(DEADLINE, "b hears a", () -> b.heard().containsKey("a"));
    b.on(() -> {
      b.exchange.left("a");
      return null;
    });
    assertEquals(Map.of(), b.heard());
  }
}
