package dev.dockgate.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.netty.channel.EventLoop;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.internal.ContextInternal;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Router instances spread over the event loops, and an uneven deployment made again (on a real Vert.x with two loops). */
@Timeout(30)
class RouterPlacementTest {

  /** Stands for a router: tells its loop, counts starts and stops. */
  static final class Probe extends VerticleBase implements RouterPlacement.OnEventLoop {
    static final AtomicInteger STARTED = new AtomicInteger();
    static final AtomicInteger STOPPED = new AtomicInteger();
    static final List<Probe> RUNNING = new CopyOnWriteArrayList<>();

    @Override
    public Future<?> start() {
      STARTED.incrementAndGet();
      RUNNING.add(this);
      return Future.succeededFuture();
    }

    @Override
    public Future<?> stop() {
      STOPPED.incrementAndGet();
      RUNNING.remove(this);
      return Future.succeededFuture();
    }

    @Override
    public EventLoop eventLoop() {
      return ((ContextInternal) context).nettyEventLoop();
    }
  }

  private Vertx vertx;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2));
    Probe.STARTED.set(0);
    Probe.STOPPED.set(0);
    Probe.RUNNING.clear();
  }

  @AfterEach
  void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static <T> T await(Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void twoRoutersOnTwoLoopsGetOneEach() throws Exception {
    assertEquals(2, RouterPlacement.eventLoops(vertx));
    await(RouterPlacement.deploy(vertx, Probe::new, 2));
    assertEquals(2, Probe.RUNNING.size());
    assertNotEquals(Probe.RUNNING.get(0).eventLoop(), Probe.RUNNING.get(1).eventLoop());
  }

  /** Spread over 4 loops that are really 2, three routers are always uneven: each deployment is undone and made again, the last one kept. */
  @Test
  void anUnevenDeploymentIsMadeAgainThenKept() throws Exception {
    String id = await(RouterPlacement.deploy(vertx, Probe::new, 3, 4, 1));
    assertEquals(3 * RouterPlacement.ATTEMPTS, Probe.STARTED.get());
    assertEquals(3 * (RouterPlacement.ATTEMPTS - 1), Probe.STOPPED.get());
    assertEquals(3, Probe.RUNNING.size());
    assertEquals(Set.of(id), vertx.deploymentIDs());
  }

  @Test
  void moreRoutersThanLoopsAreEvenWhenNoLoopHasMoreThanItsShare() throws Exception {
    await(RouterPlacement.deploy(vertx, Probe::new, 3));
    assertEquals(3, Probe.STARTED.get(), "3 on 2 loops is 2 + 1: the first deployment is kept");
    assertEquals(2, RouterPlacement.mostOnOneLoop(List.copyOf(Probe.RUNNING)));
  }
}
