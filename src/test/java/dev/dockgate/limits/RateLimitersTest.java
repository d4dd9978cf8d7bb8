package dev.dockgate.limits;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.benmanes.caffeine.cache.Scheduler;
import dev.dockgate.config.RetryConfig;
import dev.dockgate.config.RouteConfig;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Which limiter a route gets, and which survive a reload. */
@Timeout(30)
class RateLimitersTest {

  static final long NOW = 1_000_000_000_000L;
  static final RateLimitConfig TEN = new RateLimitConfig(10, 1, "client_ip");
  static final RateLimitConfig TWENTY = new RateLimitConfig(20, 1, "client_ip");

  final RateLimiters limiters = new RateLimiters(new LocalTokenBuckets.Maintenance(() -> NOW, Runnable::run,
      Scheduler.disabledScheduler()));

  static RouteConfig route(String prefix, RateLimitConfig limit, String... methods) {
    Map<String, Object> blocks = limit == null ? Map.of() : Map.of(RateLimitFeature.KEY, limit);
    return new RouteConfig(prefix, "web", 30_000, false, List.of(methods), null, RetryConfig.NONE, blocks);
  }

  /** Whether the limiter still refuses {@code key} (its one token was taken before). */
  static boolean drained(RateLimiter limiter, String key) {
    return !limiter.tryAcquire(key, NOW).allowed();
  }

  @Test
  void aReloadKeepsTheBudgetsOfUnchangedRoutesAndDropsTheOthers() {
    RouteConfig kept = route("/kept", TEN);
    RouteConfig changed = route("/changed", TEN);
    RouteConfig removed = route("/removed", TEN);
    RateLimiter keptBefore = limiters.forRoute(kept, TEN);
    RateLimiter changedBefore = limiters.forRoute(changed, TEN);
    limiters.forRoute(removed, TEN);
    assertTrue(keptBefore.tryAcquire("alice", NOW).allowed());
    assertEquals(3, limiters.size());
    assertSame(keptBefore, limiters.forRoute(kept, TEN), "every router instance shares one limiter");

    List<RouteConfig> next = List.of(route("/kept", TEN), route("/changed", TWENTY), route("/open", null));
    limiters.retain(next);
    assertEquals(1, limiters.size(), "only /kept's limiter is left");
    RateLimiter keptAfter = limiters.forRoute(next.get(0), TEN);
    assertSame(keptBefore, keptAfter);
    assertTrue(drained(keptAfter, "alice"), "alice's budget survived the reload");
    RateLimiter changedAfter = limiters.forRoute(next.get(1), TWENTY);
    assertNotSame(changedBefore, changedAfter, "a changed limit starts afresh");
    assertSame(changedAfter, limiters.forRoute(next.get(1), TWENTY));
    assertEquals(2, limiters.size());
  }

  @Test
  void routesWithTheSamePrefixForOtherMethodsHaveTheirOwnBudgets() {
    RateLimiter reads = limiters.forRoute(route("/a", TEN, "GET"), TEN);
    RateLimiter writes = limiters.forRoute(route("/a", TEN, "POST"), TEN);
    assertNotSame(reads, writes);
    assertTrue(reads.tryAcquire("alice", NOW).allowed());
    assertTrue(writes.tryAcquire("alice", NOW).allowed());
  }

  @Test
  void aRouterLateWithAReplacedConfigGetsALimiterThatIsNotKept() {
    RouteConfig old = route("/old", TEN);
    limiters.retain(List.of(route("/new", TEN)));
    RateLimiter late = limiters.forRoute(old, TEN);
    assertTrue(late.tryAcquire("alice", NOW).allowed());
    assertEquals(0, limiters.size(), "nothing held for a route the live config does not have");
    assertFalse(limiters.forRoute(old, TEN) == late);
  }
}
