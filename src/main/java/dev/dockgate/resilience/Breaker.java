package dev.dockgate.resilience;

import io.vertx.circuitbreaker.CircuitBreaker;
import io.vertx.circuitbreaker.CircuitBreakerState;
import io.vertx.core.Future;
import java.util.function.Supplier;

/**
 * The circuit breaker of one instance as requests use it, shared by every router instance. The
 * library's breaker ({@link #circuit()}) keeps the count and the state; this keeps a copy of the
 * state (updated by the breaker's own state handlers, which it calls as it changes state) and
 * whether failures may be counted, so that a request to a closed circuit that succeeds takes no
 * lock: it runs outside the library's {@code execute} and only its failure is reported. Open and
 * half-open circuits still go through {@code execute}, which refuses or lets the one probe through.
 * Each change of state starts a new {@link #generation()}: a success counts only in the one its try was let through in,
 * so that an answer begun while the circuit was closed and ending after it opened (or went half-open) says nothing of
 * the instance now, and only the half-open probe decides whether the circuit closes.
 * Thread-safe.
 */
public final class Breaker {

  private final CircuitBreaker circuit;
  private volatile CircuitBreakerState state = CircuitBreakerState.CLOSED;
  /** A failure was counted since the last success that reset the count. */
  private volatile boolean failures;
  /** How many times the state changed: written by the library's state handlers only, which it calls under its lock. */
  private volatile int generation;

  Breaker(CircuitBreaker circuit) {
    this.circuit = circuit;
  }

  /** The library's breaker: its count, state, handlers. */
  public CircuitBreaker circuit() {
    return circuit;
  }

  /** The state as of the breaker's last change. */
  public CircuitBreakerState state() {
    return state;
  }

  /**
   * The state's generation: read when a try is let through (before {@link #closed()}, so that a change in between
   * leaves the try in the older one), and handed back with its success ({@link #succeeded(int)}).
   */
  public int generation() {
    return generation;
  }

  void changed(CircuitBreakerState now) {
    state = now;
    // After the state: a try that read this generation (before the state) finds the new state. The library holds its
    // lock while it calls here: one writer at a time.
    generation++;
  }

  /** True when an operation may run unguarded, reporting its failure through {@link #failed}. */
  public boolean closed() {
    return state == CircuitBreakerState.CLOSED;
  }

  /**
   * Runs {@code operation}: directly when {@code direct} (the circuit was closed, see {@link #closed()}),
   * else through the library's breaker.
   */
  public <T> Future<T> execute(boolean direct, Supplier<Future<T>> operation) {
    return direct ? operation.get() : circuit.execute(operation);
  }

  /**
   * An operation failed with {@code cause}: counted now when it ran {@code direct}ly (through the
   * library's breaker it was counted there). A client's fault, or a full pool, is never counted. The future
   * completes once the breaker has counted it.
   */
  public Future<Void> failed(Throwable cause, boolean direct) {
    if (!UpstreamFailure.countsAgainstInstance(cause)) {
      return Future.succeededFuture();
    }
    if (!direct) {
      failures = true;
      return Future.succeededFuture();
    }
    // The library counts when the operation's outcome reaches it; the flag is set after the count,
    // so that a success in between cannot miss a failure it should reset.
    return circuit.execute(() -> Future.<Void>failedFuture(cause)).transform(counted -> {
      failures = true;
      return Future.succeededFuture();
    });
  }

  /**
   * Records a success of a try let through in {@code generation} (see {@link #generation()}). The library counts
   * failures in a rolling window; resetting on success makes the threshold count consecutive failures. A success
   * from an earlier generation counts for nothing: the library's reset would close a half-open circuit whichever call
   * asked (its probe, let through by {@code execute}, is counted there).
   */
  public void succeeded(int generation) {
    if (failures && generation == this.generation) {
      failures = false;
      if (circuit.failureCount() > 0) {
        circuit.reset();
      }
    }
  }
}
