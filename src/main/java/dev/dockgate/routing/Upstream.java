package dev.dockgate.routing;

import io.vertx.circuitbreaker.CircuitBreaker;

/** An instance together with the circuit breaker guarding it, as the request path uses them. */
public record Upstream(Instance instance, CircuitBreaker breaker) {
}
