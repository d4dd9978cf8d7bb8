package dev.dockgate.resilience;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.dockgate.config.CircuitBreakerConfig;
import io.vertx.circuitbreaker.CircuitBreaker;
import io.vertx.circuitbreaker.CircuitBreakerState;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class BreakerRegistryTest {

  final Vertx vertx = Vertx.vertx();
  final BreakerRegistry registry = new BreakerRegistry(vertx);
  final CircuitBreakerConfig config = new CircuitBreakerConfig(2, 60_000);

  @AfterEach
  void close() {
    vertx.close();
  }

  /** Waits until the breaker has recorded the outcome (it completes the future after counting). */
  static void await(Future<?> outcome) {
    outcome.otherwiseEmpty().toCompletionStage().toCompletableFuture().join();
  }

  @Test
  void routersShareOneBreakerPerInstanceUntilTheLastLetsGo() {
    CircuitBreaker first = registry.acquire("orders/o1/abc", config).circuit();
    CircuitBreaker second = registry.acquire("orders/o1/abc", config).circuit();
    assertSame(first, second);
    assertNotSame(first, registry.acquire("orders/o2/def", config).circuit());
    assertEquals(2, registry.size());

    registry.release("orders/o1/abc");
    assertSame(first, registry.acquire("orders/o1/abc", config).circuit(), "still held by one user");
    registry.release("orders/o1/abc");
    registry.release("orders/o1/abc");
    assertEquals(1, registry.size());
    assertNotSame(first, registry.acquire("orders/o1/abc", config).circuit(), "a new breaker after the last release");
  }

  @Test
  void failuresSeenThroughEitherHandleOpenTheSameCircuit() {
    CircuitBreaker a = registry.acquire("pay/p1/1", config).circuit();
    CircuitBreaker b = registry.acquire("pay/p1/1", config).circuit();
    await(a.execute(() -> Future.failedFuture("refused")));
    assertEquals(CircuitBreakerState.CLOSED, b.state());
    await(b.execute(() -> Future.failedFuture("refused")));
    assertEquals(CircuitBreakerState.OPEN, a.state());
  }

  @Test
  void aSuccessResetsTheCountSoOnlyConsecutiveFailuresOpen() {
    Breaker guarded = registry.acquire("pay/p1/1", config);
    CircuitBreaker breaker = guarded.circuit();
    await(breaker.execute(() -> Future.failedFuture("refused")));
    guarded.failed(new java.net.ConnectException("refused"), false);
    await(breaker.execute(() -> Future.succeededFuture()).onSuccess(v -> guarded.succeeded(guarded.generation())));
    await(breaker.execute(() -> Future.failedFuture("refused")));
    assertEquals(CircuitBreakerState.CLOSED, breaker.state());
    await(breaker.execute(() -> Future.failedFuture("refused")));
    assertEquals(CircuitBreakerState.OPEN, breaker.state(), "two in a row do open it");
  }

  @Test
  void changedSettingsOnReloadGiveTheInstanceABreakerWithThem() {
    Breaker old = registry.acquire("pay/p1/1", config);
    long since = registry.since("pay/p1/1");
    // A reload acquires with the new settings before the old routes let go.
    Breaker reloaded = registry.acquire("pay/p1/1", new CircuitBreakerConfig(1, 60_000));
    assertNotSame(old, reloaded, "max_failures 1 must reach the known instance");
    await(reloaded.circuit().execute(() -> Future.failedFuture("refused")));
    assertEquals(CircuitBreakerState.OPEN, reloaded.state(), "one failure opens it now");
    assertEquals(since, registry.since("pay/p1/1"), "still the same instance, first seen then");
    registry.release("pay/p1/1");
    assertSame(reloaded, registry.acquire("pay/p1/1", new CircuitBreakerConfig(1, 60_000)), "held by the new routes");
  }

  @Test
  void aClosedCircuitCountsTheFailuresReportedForTriesRunOutsideIt() {
    Breaker breaker = registry.acquire("pay/p1/1", config);
    assertTrue(breaker.closed());
    await(breaker.failed(new UpstreamFailure.ClientGone("pay", new RuntimeException("left")), true));
    await(breaker.failed(new java.net.ConnectException("refused"), true));
    assertEquals(1, breaker.circuit().failureCount(), "a client leaving is not the instance failing");
    breaker.succeeded(breaker.generation());
    assertEquals(0, breaker.circuit().failureCount(), "a success resets the count");
    await(breaker.failed(new java.net.ConnectException("refused"), true));
    await(breaker.failed(new java.net.ConnectException("refused"), true));
    assertEquals(CircuitBreakerState.OPEN, breaker.circuit().state(), "two in a row open it");
    assertEquals(CircuitBreakerState.OPEN, breaker.state(), "the copy follows the breaker");
    assertFalse(breaker.closed(), "tries now go through the breaker, which refuses them");
    assertTrue(breaker.execute(false, () -> Future.succeededFuture()).failed());
  }

  /**
   * A success counts in the state its try was let through in: one begun while closed that ends while open leaves the
   * count, while half-open leaves the circuit half-open (the probe decides), after the circuit closed again resets
   * nothing; a try let through in the new closed state does reset the count.
   */
  @Test
  void aSuccessOfATryLetThroughInAnEarlierStateCountsForNothing() {
    Breaker breaker = registry.acquire("pay/p1/1", new CircuitBreakerConfig(2, 100));
    int closed = breaker.generation();
    await(breaker.failed(new java.net.ConnectException("refused"), true));
    await(breaker.failed(new java.net.ConnectException("refused"), true));
    assertEquals(CircuitBreakerState.OPEN, breaker.state());
    breaker.succeeded(closed);
    assertEquals(2, breaker.circuit().failureCount(), "ended while open: nothing reset");
    dev.dockgate.testing.Poll.until(java.time.Duration.ofSeconds(3), "half-open",
        () -> breaker.state() == CircuitBreakerState.HALF_OPEN);
    breaker.succeeded(closed);
    assertEquals(CircuitBreakerState.HALF_OPEN, breaker.circuit().state(), "ended half-open: the probe decides");
    await(breaker.execute(false, () -> Future.succeededFuture()));
    assertEquals(CircuitBreakerState.CLOSED, breaker.state(), "the probe's success closes it");
    int reclosed = breaker.generation();
    await(breaker.failed(new java.net.ConnectException("refused"), true));
    breaker.succeeded(closed);
    assertEquals(1, breaker.circuit().failureCount(), "a try of the earlier closed state resets nothing");
    breaker.succeeded(reclosed);
    assertEquals(0, breaker.circuit().failureCount(), "one of this closed state does");
  }

  @Test
  void aHalfOpenProbeThatEndsWithoutAnAnswerReopensTheCircuit() {
    Breaker breaker = registry.acquire("pay/p1/1", new CircuitBreakerConfig(1, 50));
    await(breaker.failed(new java.net.ConnectException("refused"), true));
    assertEquals(CircuitBreakerState.OPEN, breaker.state());
    await(breaker.execute(false, () -> Future.failedFuture(
        new UpstreamFailure.ClientGone("pay", new RuntimeException("left")))));
    assertEquals(CircuitBreakerState.OPEN, breaker.state(), "refused while open, the client's leaving changes nothing");
    for (java.util.function.Supplier<Throwable> unanswered : java.util.List.<java.util.function.Supplier<Throwable>>of(
        () -> new PoolWaitTimeout("127.0.0.1:1", 50),
        () -> new io.vertx.core.http.ConnectionPoolTooBusyException("wait queue full"),
        () -> new UpstreamFailure.ClientGone("pay", new RuntimeException("left")))) {
      halfOpen(breaker);
      Throwable cause = unanswered.get();
      await(breaker.execute(false, () -> Future.failedFuture(cause)));
      assertEquals(CircuitBreakerState.OPEN, breaker.state(),
          "a probe that got no answer (" + cause.getClass().getSimpleName() + ") proves nothing: open again");
    }
    halfOpen(breaker);
    await(breaker.execute(false, () -> Future.succeededFuture()));
    assertEquals(CircuitBreakerState.CLOSED, breaker.state(), "an answered probe closes it");
  }

  static void halfOpen(Breaker breaker) {
    dev.dockgate.testing.Poll.until(java.time.Duration.ofSeconds(5), "half-open after reset_timeout_ms",
        () -> breaker.state() == CircuitBreakerState.HALF_OPEN);
  }
}
