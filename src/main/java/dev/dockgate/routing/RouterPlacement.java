package dev.dockgate.routing;

import io.netty.channel.EventLoop;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * Deploys the router instances so that each event loop carries its fair share of them. Vert.x gives
 * each verticle instance the next event loop in turn; a context made meanwhile by another thread (a
 * Docker or Hazelcast callback reaching the gateway's Vert.x) takes a turn too, and then two routers
 * can land on the same loop: the measured case was 2 of 10 starts with two routers on two loops,
 * where one core then did all the routing for the life of the process (0.8x the throughput, 1.25x
 * the CPU per request). After deploying, the routers' loops are counted; a deployment where a loop
 * has more than its share is undeployed and made again, a few times at most.
 */
public final class RouterPlacement {

  private static final Logger LOG = Logger.getLogger(RouterPlacement.class.getName());

  /** Deployments tried before accepting an uneven one (each new one starts at a later loop). */
  static final int ATTEMPTS = 5;

  private RouterPlacement() {
  }

  /** A verticle that tells the event loop it runs on, once deployed. */
  public interface OnEventLoop {
    EventLoop eventLoop();
  }

  /** Deploys {@code instances} routers made by {@code routers}; the deployment id. */
  public static <V extends VerticleBase & OnEventLoop> Future<String> deploy(Vertx vertx, Supplier<V> routers,
      int instances) {
    return deploy(vertx, routers, instances, eventLoops(vertx), 1);
  }

  static int eventLoops(Vertx vertx) {
    int loops = 0;
    for (Object ignored : ((VertxInternal) vertx).nettyEventLoopGroup()) {
      loops++;
    }
    return Math.max(1, loops);
  }

  /** {@code loops}: how many event loops the routers are spread over (the Vert.x instance's, but in tests). */
  static <V extends VerticleBase & OnEventLoop> Future<String> deploy(Vertx vertx, Supplier<V> routers, int instances,
      int loops, int attempt) {
    List<OnEventLoop> made = Collections.synchronizedList(new ArrayList<>());
    return vertx.deployVerticle(() -> {
      V router = routers.get();
      made.add(router);
      return router;
    }, new DeploymentOptions().setInstances(instances)).compose(id -> {
      int most = mostOnOneLoop(made);
      int share = (instances + loops - 1) / loops;
      if (most <= share) {
        return Future.succeededFuture(id);
      }
      if (attempt >= ATTEMPTS) {
        LOG.warning(instances + " router instances still share event loops after " + attempt
            + " deployments (up to " + most + " on one of " + loops + " loops); serving so");
        return Future.succeededFuture(id);
      }
      LOG.info(most + " of " + instances + " router instances landed on one event loop of " + loops
          + "; deploying them again so that each loop has its share");
      return vertx.undeploy(id).compose(v -> deploy(vertx, routers, instances, loops, attempt + 1));
    });
  }

  /** The largest number of {@code routers} on one event loop. */
  static int mostOnOneLoop(List<? extends OnEventLoop> routers) {
    Map<EventLoop, Integer> perLoop = new HashMap<>();
    synchronized (routers) {
      for (OnEventLoop router : routers) {
        perLoop.merge(router.eventLoop(), 1, Integer::sum);
      }
    }
    return perLoop.values().stream().mapToInt(Integer::intValue).max().orElse(0);
  }
}
