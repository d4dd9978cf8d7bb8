package dev.dockgate.proxy;

import dev.dockgate.config.RetryConfig;
import dev.dockgate.config.RouteConfig;
import dev.dockgate.resilience.Breaker;
import dev.dockgate.resilience.RetryBudget;
import dev.dockgate.resilience.UpstreamFailure;
import dev.dockgate.tracing.BackendTry;
import dev.dockgate.tracing.RequestTrace;
import io.vertx.circuitbreaker.CircuitBreakerState;
import io.vertx.core.Completable;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpServerRequest;
import java.util.logging.Logger;

/**
 * The tries of a request through one route: an instance picked (passing over those that cannot answer), the try run
 * through its circuit breaker, and on a failure or a status in {@code retry_on} the next try elsewhere when the
 * request may be sent again, the deadline allows and the retry budget has room; else the answer or the failure. One
 * per route per router; called on its event loop.
 */
final class Tries {

  /** The proxy terminal's lines keep its one logger name (log configurations and formats name it). */
  private static final Logger LOG = Logger.getLogger(ProxyHandler.class.getName());
  static final Upstream[] NONE = new Upstream[0];
  static final java.util.Set<io.vertx.core.http.HttpMethod> IDEMPOTENT = java.util.Set.of(
      io.vertx.core.http.HttpMethod.GET, io.vertx.core.http.HttpMethod.HEAD, io.vertx.core.http.HttpMethod.OPTIONS,
      io.vertx.core.http.HttpMethod.PUT, io.vertx.core.http.HttpMethod.DELETE);

  private final Vertx vertx;
  private final RouteConfig route;
  private final InstancePicker picker;
  private final RetryConfig retries;
  private final RetryBudget budget;
  /** Each try's request to an instance. */
  private final BackendRequest requests;
  /** The backend's answers relayed to the client. */
  private final BackendAnswer answers;
  /** The failures of the tries, the gateway's own answers, and each request's end. */
  private final TryFailures failures;

  Tries(Vertx vertx, RouteConfig route, InstancePicker picker, RetryBudget budget, BackendRequest requests,
      BackendAnswer answers, TryFailures failures) {
    this.vertx = vertx;
    this.route = route;
    this.picker = picker;
    this.retries = route.retries();
    this.budget = budget;
    this.requests = requests;
    this.answers = answers;
    this.failures = failures;
  }

  /**
   * The first try, once the body is settled. A request without a body has nothing to stream: each try
   * sends its head alone (and, when retries are on and its method is idempotent, it may be sent again).
   * {@code beyond}: the backend's instances outside the router's window ({@code subset_size}), for failover.
   */
  void dispatch(Attempt attempt, Upstream[] upstreams, Upstream[] beyond) {
    HttpServerRequest incoming = attempt.incoming;
    attempt.beyond = beyond;
    if (!retries.enabled()) {
      if (attempt.body == incoming && Framing.bodiless(incoming)) {
        attempt.body = null;
        if (!incoming.isEnded()) {
          incoming.resume(); // only its end is left to read
        }
      }
      attempt(attempt, upstreams, 0);
      return;
    }
    budget.onRequest(System.currentTimeMillis());
    if (retries.deadlineMs() > 0) {
      attempt.deadlineNanos = attempt.exchange.arrivalNanos() + retries.deadlineMs() * 1_000_000L;
    }
    attempt.replayable = replayable(incoming);
    if (attempt.replayable) {
      // Nothing to stream: each try sends the head alone, so the request can be sent again.
      attempt.body = null;
      if (!incoming.isEnded()) { // an HTTP/2 request read to its end refuses resume()
        incoming.resume();
      }
    }
    attempt(attempt, upstreams, 0);
  }

  /**
   * One try on an instance picked among {@code candidates}; on a retryable failure, the next try. With
   * {@code subset_size}, when the window has none left or none of its instances can answer, the instances beyond
   * the window are the candidates (once per request).
   */
  private void attempt(Attempt attempt, Upstream[] candidates, int retry) {
    Upstream upstream = picker.pick(candidates);
    Upstream[] beyond = attempt.beyond;
    if (upstream == null ? beyond.length > 0
        : (candidates.length > 1 || beyond.length > 0) && unavailable(upstream)) {
      // Passive ejection: an instance whose circuit is open, or that is starting and refused a
      // moment ago, or refused an HTTP/2 stream twice, is skipped while others may answer.
      Upstream[] others = candidates.length > 1 ? without(candidates, upstream) : NONE;
      Upstream alternative = alternative(picker, others);
      if (alternative != null) {
        upstream = alternative;
        candidates = others;
      } else if (beyond.length > 0) {
        // None of the window's instances can answer: the backend's other instances may.
        attempt.beyond = NONE;
        attempt(attempt, beyond, retry);
        return;
      }
    }
    if (upstream == null) {
      failures.failed(attempt, new UpstreamFailure.NoInstance(route.backend()));
      return;
    }
    send(attempt, candidates, upstream, retry);
  }

  /**
   * One of {@code others} that can answer, after a first pick that cannot: a second pick, or when that one cannot
   * either, one of those that can (the pickers prefer instances without requests in flight, which an open circuit's
   * always is: two picks alone would often land on two such while others can answer); null: none can. Off the
   * common path: it allocates only when the second pick cannot answer.
   */
  static Upstream alternative(InstancePicker picker, Upstream[] others) {
    if (picker instanceof InstancePicker.RoundRobin turns) {
      return turns.nextAble(others); // each in turn: the next that can answer
    }
    Upstream second = picker.pick(others);
    if (second == null || !unavailable(second)) {
      return second;
    }
    int able = 0;
    for (Upstream u : others) {
      if (!unavailable(u)) {
        able++;
      }
    }
    if (able == 0) {
      return null;
    }
    Upstream[] can = new Upstream[able];
    int j = 0;
    for (Upstream u : others) {
      if (j < able && !unavailable(u)) {
        can[j++] = u;
      }
    }
    return picker.pick(j == able ? can : java.util.Arrays.copyOf(can, j));
  }

  static boolean unavailable(Upstream upstream) {
    long now = System.nanoTime();
    return upstream.breaker().state() == CircuitBreakerState.OPEN || upstream.passedOver(now) || upstream.ejected(now);
  }

  private void send(Attempt attempt, Upstream[] candidates, Upstream upstream, int retry) {
    upstream.started();
    attempt.upstream = upstream;
    attempt.resent = false;
    attempt.exchange.instance(upstream.instance().name());
    RequestTrace trace = attempt.exchange.trace();
    BackendTry span = trace == null ? null : trace.backendTry(upstream.instance().name(), upstream.instance().host(),
        upstream.instance().port(), retry);
    attempt.span = span;
    Breaker breaker = upstream.breaker();
    // The state's generation the try is let through in, read before the state: its success counts in it alone.
    int generation = breaker.generation();
    attempt.generation = generation;
    // A closed circuit's try runs unguarded and only a failure is reported to it (see Breaker), in the startup grace
    // too: through the breaker library, a success (a refusal in the grace among them) would close the circuit whatever
    // state the try was let through in. A half-open circuit's probe goes through the library, refused or not.
    boolean direct = breaker.closed();
    Completable<HttpClientResponse> answered = (response, failure) -> {
      Throwable err = failure != null ? failure : failures.unusable(response);
      if (err == null) {
        if (span != null) {
          span.answered(response.statusCode());
        }
        if (retryOnStatus(attempt, candidates, upstream, retry, response) || !answers.respond(attempt, response)) {
          answered(upstream, generation, response.statusCode()); // not relayed: the answer counts for the instance now
        } // relayed: its end counts it (Attempt.run), unless cut by its backend (cutByBackend) or a stream (respond)
        return;
      }
      if (direct && attempt.unsent && err instanceof java.net.ConnectException
          && upstream.inStartupGrace(System.nanoTime())) {
        // Refused in its startup grace: not listening yet, not counted; others are preferred for a moment.
        afterFailure(attempt, candidates, upstream, retry, span, failures.notListening(upstream));
        return;
      }
      // The answer (or the next try) waits for the breaker to have counted the failure: a request
      // on another router's loop right after this answer must find the circuit as it now is.
      breaker.failed(err, direct).onComplete(counted -> afterFailure(attempt, candidates, upstream, retry, span, err));
    };
    if (direct) {
      requests.exchange(attempt, answered); // no future between the backend's answer and this callback
    } else {
      breaker.execute(false, () -> requests.exchange(attempt)).onComplete(answered);
    }
  }

  /**
   * An answer of {@code upstream}'s instance with {@code status} (the instance's own) went well: a success for its
   * circuit (which counts failures in a row) when the circuit is still in the state ({@code generation}) the try was
   * let through in, and the status for its outlier detection. Counted at the answer's end when it is relayed, so that
   * an answer its backend cuts mid-body counts as a failure alone (as a 502 does), not as a success and a failure.
   */
  static void answered(Upstream upstream, int generation, int status) {
    upstream.breaker().succeeded(generation);
    upstream.answered(status, System.nanoTime());
  }

  private void afterFailure(Attempt attempt, Upstream[] candidates, Upstream upstream, int retry, BackendTry span,
      Throwable cause) {
    UpstreamFailure failure = failures.classify(upstream, span, cause);
    // Refused at connect, no connection in time (connect_timeout_ms), the pool full (its wait queue,
    // or no connection free within connect_timeout_ms) or circuit open: nothing left the gateway, any
    // request may go elsewhere; so may one whose HTTP/2 stream the instance refused unprocessed, when it can be sent
    // again. Broken after sending: only replayable (bodiless idempotent) ones.
    boolean unsent = failure instanceof UpstreamFailure.CircuitOpen || failure instanceof UpstreamFailure.Busy
        || (failure instanceof UpstreamFailure.Refused && attempt.unsent)
        || (failure instanceof UpstreamFailure.RefusedStream && BackendRequest.resendable(attempt));
    boolean again = retries.enabled() && retry < retries.attempts()
        && (unsent || (failure.retryable() && attempt.replayable));
    Upstream[] others = again ? others(attempt, candidates, upstream) : NONE;
    long delay = others.length == 0 ? 0 : budget.backoffMs(retry);
    if (others.length == 0 || !beforeDeadline(attempt, delay) || !budget.tryRetry(System.currentTimeMillis())) {
      if (failure instanceof UpstreamFailure.RefusedStream && upstream.refusalToSay(System.nanoTime())) {
        LOG.info("backend \"" + route.backend() + "\" instance " + upstream.instance() + " refused "
            + attempt.incoming.method() + " " + attempt.uri + " unprocessed (" + failure.getMessage() + ")"
            + (BackendRequest.resendable(attempt) ? " and no try is left to send it to"
                : ": its body was streamed as it came and cannot be sent again")
            + "; answering 503 (said at most once a minute per instance)");
      }
      failures.failed(attempt, failure);
      return;
    }
    retry(attempt, others, upstream, retry, delay, failure.getMessage());
  }

  /**
   * A replayable request whose answer has a status in {@code retry_on} goes to another instance when
   * one is left, the deadline allows and the budget has room; that answer is dropped (its connection
   * reset). False when this answer is the one the client gets.
   */
  private boolean retryOnStatus(Attempt attempt, Upstream[] candidates, Upstream upstream, int retry,
      HttpClientResponse response) {
    if (retries.retryOn().isEmpty() || !retries.retryOn().contains(response.statusCode())
        || retry >= retries.attempts() || !attempt.replayable) {
      return false;
    }
    Upstream[] others = others(attempt, candidates, upstream);
    long delay = others.length == 0 ? 0 : budget.backoffMs(retry);
    if (others.length == 0 || !beforeDeadline(attempt, delay) || !budget.tryRetry(System.currentTimeMillis())) {
      return false;
    }
    response.request().reset();
    retry(attempt, others, upstream, retry, delay, "status " + response.statusCode());
    return true;
  }

  private void retry(Attempt attempt, Upstream[] others, Upstream upstream, int retry, long delay, String reason) {
    upstream.finished();
    attempt.upstream = null; // the exchange keeps its instance: the last tried until the retry's try starts
    attempt.exchange.retried();
    LOG.fine(() -> "retry " + (retry + 1) + " of " + attempt.incoming.method() + " " + attempt.uri
        + " after " + reason + " on " + upstream.instance());
    if (delay <= 0) {
      attempt(attempt, others, retry + 1);
    } else {
      vertx.setTimer(delay, id -> attempt(attempt, others, retry + 1));
    }
  }

  /** Whether a try after {@code delayMs} of backoff still starts before the request's deadline (if any). */
  private static boolean beforeDeadline(Attempt attempt, long delayMs) {
    return attempt.deadlineNanos == 0 || attempt.deadlineNanos - (System.nanoTime() + delayMs * 1_000_000L) > 0;
  }

  /** Idempotent and bodiless: safe to send again after a failure before any answer. */
  private static boolean replayable(HttpServerRequest request) {
    return IDEMPOTENT.contains(request.method()) && Framing.bodiless(request);
  }

  /**
   * The candidates of a retry after {@code tried}: the others of {@code candidates}; when it was the last, the
   * backend's instances beyond the router's window ({@code subset_size}), if not used yet.
   */
  private static Upstream[] others(Attempt attempt, Upstream[] candidates, Upstream tried) {
    Upstream[] others = without(candidates, tried);
    if (others.length == 0 && attempt.beyond.length > 0) {
      others = attempt.beyond;
      attempt.beyond = NONE;
    }
    return others;
  }

  static Upstream[] without(Upstream[] candidates, Upstream tried) {
    Upstream[] rest = new Upstream[candidates.length - 1];
    int j = 0;
    for (Upstream u : candidates) {
      if (u != tried && j < rest.length) {
        rest[j++] = u;
      }
    }
    return j == rest.length ? rest : java.util.Arrays.copyOf(rest, j);
  }
}
