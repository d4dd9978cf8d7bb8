package dev.dockgate.testing;

import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A real HTTP server on 127.0.0.1 and an ephemeral port that records every request it gets.
 * Paths containing {@code /slow-} are answered after 300 ms (all paths after {@link #delay} ms while it is set); paths containing {@code /never} are never answered ({@code /health} answers 500 while sick); others answer 200 with an
 * {@code X-Backend} header, the body echoed, and some hop-by-hop headers that must not reach clients.
 * Requests whose body never completes are not recorded but counted as aborted.
 */
public final class TestBackend implements AutoCloseable {

  /** What the backend received. */
  public record Received(String method, String uri, MultiMap headers, String body) {
  }

  private final Vertx vertx;
  private final HttpServer server;
  /** The Date a backend answers paths containing {@code /dated} with (RFC 9110's example date). */
  public static final String DATED = "Sun, 06 Nov 1994 08:49:37 GMT";

  private final String name;
  private final BlockingQueue<Received> received = new LinkedBlockingQueue<>();
  private final java.util.concurrent.atomic.AtomicInteger aborted = new java.util.concurrent.atomic.AtomicInteger();
  private final java.util.concurrent.atomic.AtomicInteger unanswered = new java.util.concurrent.atomic.AtomicInteger();
  private volatile boolean hang;
  private volatile boolean sick;
  private volatile boolean drop;
  private volatile long delayMs;

  public TestBackend(Vertx vertx, String name) {
    this.vertx = vertx;
    this.name = name;
    try {
      this.server = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
          .requestHandler(this::handle)
          .listen()
          .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private void handle(HttpServerRequest request) {
    request.response().closeHandler(v -> {
      if (!request.response().ended()) {
        unanswered.incrementAndGet();
      }
    });
    request.body().onFailure(err -> aborted.incrementAndGet()).onSuccess(body -> {
      received.add(new Received(request.method().name(), request.uri(),
          MultiMap.caseInsensitiveMultiMap().addAll(request.headers()), body.toString()));
      if (hang || request.path().contains("/never")) {
        return;
      }
      if (drop) {
        request.connection().close();
        return;
      }
      long delay = request.path().contains("/slow-") ? 300 : delayMs;
      if (delay > 0) {
        vertx.setTimer(delay, id -> request.response().putHeader("X-Backend", name).end("echo:" + body));
        return;
      }
      if (sick && request.path().startsWith("/health")) {
        request.response().setStatusCode(500).end("sick");
        return;
      }
      if (request.path().contains("/dated")) {
        request.response().putHeader("Date", DATED);
      }
      request.response()
          .putHeader("X-Backend", name)
          .putHeader("Connection", "X-Backend-Private")
          .putHeader("X-Backend-Private", "secret")
          .putHeader("Keep-Alive", "timeout=30")
          .putHeader("Proxy-Connection", "keep-alive")
          .end("echo:" + body);
    });
  }

  /** A gateway's config without its server section: Docker off, one route {@code /up} to this backend alone. */
  public String upRoute() {
    return """
        docker: {enabled: false}
        routes:
          - {path_prefix: /up, backend: up}
        backends:
          - {name: up, targets: ["http://127.0.0.1:%d"]}
        """.formatted(port());
  }

  public int port() {
    return server.actualPort();
  }

  /** How many requests arrived so far (taken ones included only until {@link #take} removed them). */
  public int waiting() {
    return received.size();
  }

  public Received take() {
    try {
      Received r = received.poll(10, TimeUnit.SECONDS);
      if (r == null) {
        throw new AssertionError("backend " + name + " received nothing within 10 s");
      }
      return r;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** While true, no request is answered (a stuck instance). */
  public void hang(boolean hang) {
    this.hang = hang;
  }

  /** While true, every request's connection is closed without an answer (a crashing instance). */
  public void drop(boolean drop) {
    this.drop = drop;
  }

  /** While above 0, every request is answered after that many milliseconds (a slow moment). */
  public void delay(long ms) {
    this.delayMs = ms;
  }

  /** While true, {@code /health...} answers 500. */
  public void sick(boolean sick) {
    this.sick = sick;
  }

  /** Forgets what was received so far. */
  public void clear() {
    received.clear();
  }

  public int count() {
    return received.size();
  }

  /** Requests whose body never completed: the sender reset or closed the exchange midway. */
  public int aborted() {
    return aborted.get();
  }

  /** Requests whose connection closed before their answer ended: the sender gave up on them (a reset, a close). */
  public int unanswered() {
    return unanswered.get();
  }

  @Override
  public void close() {
    server.close();
  }
}
