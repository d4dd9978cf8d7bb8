package dev.dockgate.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.dockgate.resilience.UpstreamFailure;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.RequestOptions;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Answer deadlines against a real HTTP server on an ephemeral port that answers /fast at once and
 * never answers /slow: late requests fail as timeouts no earlier than their deadline and soon
 * after it, answered ones are never touched, and the queue ends empty.
 */
@ExtendWith(VertxExtension.class)
class AnswerDeadlinesTest {

  static final long TIMEOUT_MS = 300;

  record Outcome(String path, long sentNanos, long settledNanos, Throwable failure) {
    long elapsedMs() {
      return (settledNanos - sentNanos) / 1_000_000;
    }
  }

  @Test
  void lateAnswersTimeOutAtTheirDeadlineAndAnsweredOnesAreLeftAlone(Vertx vertx, VertxTestContext test) throws Exception {
    HttpServer server = vertx.createHttpServer()
        .requestHandler(req -> {
          if (req.path().equals("/fast")) {
            req.response().end("ok");
          } // /slow: never answered
        })
        .listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
    HttpClient client = vertx.createHttpClient(new io.vertx.core.http.PoolOptions().setHttp1MaxSize(16));
    Context context = vertx.getOrCreateContext();
    List<Outcome> outcomes = new ArrayList<>();
    AnswerDeadlines[] deadlines = new AnswerDeadlines[1];
    context.runOnContext(v -> {
      deadlines[0] = new AnswerDeadlines(vertx, TIMEOUT_MS);
      List<Future<?>> all = new ArrayList<>();
      for (int i = 0; i < 12; i++) {
        String path = i % 3 == 0 ? "/slow" : "/fast";
        // Spread the sends over 110 ms, so the deadlines are not all the same instant.
        all.add(vertx.timer(1 + i * 10L).compose(t -> send(client, server.actualPort(), path, deadlines[0], outcomes)));
      }
      Future.join(all).onComplete(ar -> test.verify(() -> {
        assertEquals(12, outcomes.size());
        for (Outcome o : outcomes) {
          if (o.path().equals("/fast")) {
            assertEquals(null, o.failure(), "answered request failed: " + o);
          } else {
            UpstreamFailure failure = UpstreamFailure.classify(o.failure(), "slow");
            assertInstanceOf(UpstreamFailure.Timeout.class, failure, String.valueOf(o.failure()));
            assertEquals(504, failure.status());
            assertTrue(o.elapsedMs() >= TIMEOUT_MS, "timed out early: " + o.elapsedMs() + " ms");
            assertTrue(o.elapsedMs() < TIMEOUT_MS + 600, "timed out late (by about a whole period would mean a lost timer): " + o.elapsedMs() + " ms");
          }
        }
        assertEquals(0, deadlines[0].pending());
        test.completeNow();
      }));
    });
    assertTrue(test.awaitCompletion(10, TimeUnit.SECONDS));
    if (test.failed()) {
      throw new AssertionError(test.causeOfFailure());
    }
  }

  private static Future<HttpClientResponse> send(HttpClient client, int port, String path, AnswerDeadlines deadlines,
      List<Outcome> outcomes) {
    long sent = System.nanoTime();
    return client.request(new RequestOptions().setHost("127.0.0.1").setPort(port).setURI(path))
        .compose(request -> {
          AnswerDeadlines.Pending pending = deadlines.watch(request);
          return request.send().andThen(ar -> pending.settled());
        })
        .andThen(ar -> outcomes.add(new Outcome(path, sent, System.nanoTime(), ar.cause())));
  }
}
