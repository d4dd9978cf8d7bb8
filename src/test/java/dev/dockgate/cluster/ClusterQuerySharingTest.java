package dev.dockgate.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.dockgate.config.ClusterConfig;
import dev.dockgate.events.Addresses;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * /stats?scope=cluster is on the public port: a burst of it must not ask the nodes once per call. A real Vert.x
 * without a cluster (a cluster of one: the query asks this node's stats verticle, as it asks each peer when
 * clustered), a stats consumer that answers after 200 ms.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ClusterQuerySharingTest {

  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void queriesComingWhileOneIsAnsweredShareItsAnswer() throws Exception {
    AtomicInteger asked = new AtomicInteger();
    vertx.eventBus().<Object>localConsumer(Addresses.STATS_NODE, msg -> {
      int n = asked.incrementAndGet();
      vertx.setTimer(200, t -> msg.reply(new JsonObject().put("total_requests", n)));
    }).completion().await(10, TimeUnit.SECONDS);
    vertx.deployVerticle(new ClusterVerticle(ClusterConfig.DEFAULT, "127.0.0.1:8080")).await(10, TimeUnit.SECONDS);

    List<Future<JsonObject>> burst = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      burst.add(vertx.eventBus().<JsonObject>request(Addresses.STATS_CLUSTER_QUERY, null).map(m -> m.body()));
    }
    Future.all(burst).await(10, TimeUnit.SECONDS);
    assertEquals(1, asked.get(), "the node was asked once for the 100 queries");
    for (Future<JsonObject> answer : burst) {
      assertEquals("cluster", answer.result().getString("scope"), answer.result().encode());
    }

    // Once answered, the next query asks again: nothing is served stale.
    vertx.eventBus().request(Addresses.STATS_CLUSTER_QUERY, null).await(10, TimeUnit.SECONDS);
    assertEquals(2, asked.get());
  }
}
