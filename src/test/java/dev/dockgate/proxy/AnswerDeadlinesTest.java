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
 * after it, answered ones are never touched, and the queue ends empty. The sweep of uploads whose end waits on their
 * backend is checked with stand-in requests (a cascade of one reset into another upload's end, which real sockets do
 * not produce on demand).
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

  /**
   * The sweep of queued ends fails a stalled upload whose reset, synchronously, ends the next one in the list (here
   * the next one's end write fails, as when they share an HTTP/2 connection that closes): that one, no longer waiting
   * on its backend, is not then judged stalled as well, a timeout it never had.
   */
  @Test
  void anUploadEndedWhileTheSweepFailsAnotherIsNotJudged(Vertx vertx, VertxTestContext test) throws Exception {
    List<String> resets = new ArrayList<>();
    Context context = vertx.getOrCreateContext();
    context.runOnContext(v -> {
      AnswerDeadlines deadlines = new AnswerDeadlines(vertx, 40);
      List<io.vertx.core.Promise<Void>> ends = new ArrayList<>();
      Upload[] uploads = new Upload[2];
      for (int i = 0; i < 2; i++) {
        int n = i;
        io.vertx.core.Promise<Void> end = io.vertx.core.Promise.promise();
        ends.add(end);
        List<io.vertx.core.Handler<io.vertx.core.buffer.Buffer>> data = new ArrayList<>();
        @SuppressWarnings("unchecked")
        io.vertx.core.streams.ReadStream<io.vertx.core.buffer.Buffer> from = fake(io.vertx.core.streams.ReadStream.class,
            null, (name, args) -> {
              if (name.equals("handler") && args[0] != null) {
                data.add((io.vertx.core.Handler<io.vertx.core.buffer.Buffer>) args[0]);
              }
            });
        io.vertx.core.http.HttpClientRequest to = fake(io.vertx.core.http.HttpClientRequest.class, end.future(),
            (name, args) -> {
              if (name.equals("reset")) {
                resets.add(n + (args != null && args.length == 2 ? " timeout" : " reset"));
                if (n == 0) {
                  ends.get(1).tryFail("the connection closed"); // the next upload's end fails with it
                }
              }
            });
        uploads[i] = Upload.start(from, to, 1, new dev.dockgate.pipeline.Exchange(null, 0, "id", "client", false,
            false, null, null), vertx, 40, deadlines);
        data.get(0).handle(io.vertx.core.buffer.Buffer.buffer("x")); // the whole body: its end written, never taken
      }
      assertEquals(2, deadlines.sending());
      vertx.setTimer(300, t -> test.verify(() -> {
        assertTrue(uploads[0].stalled() != null, "the first upload stalled: " + resets);
        assertEquals(null, uploads[1].stalled(), "the second's end failed before it was judged: " + resets);
        assertEquals(List.of("0 timeout", "1 reset"), resets);
        assertEquals(0, deadlines.sending());
        test.completeNow();
      }));
    });
    assertTrue(test.awaitCompletion(10, TimeUnit.SECONDS));
    if (test.failed()) {
      throw new AssertionError(test.causeOfFailure());
    }
  }

  /** A stand-in for {@code type}: calls are told to {@code calls}; {@code end()} returns {@code end}. */
  @SuppressWarnings("unchecked")
  private static <T> T fake(Class<?> type, Future<Void> end, java.util.function.BiConsumer<String, Object[]> calls) {
    return (T) java.lang.reflect.Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type},
        (proxy, method, args) -> {
          calls.accept(method.getName(), args);
          Class<?> returns = method.getReturnType();
          if (returns == Future.class) {
            return method.getName().equals("end") ? end : Future.succeededFuture();
          } else if (returns == boolean.class) {
            return false;
          } else if (returns.isInstance(proxy)) {
            return proxy;
          }
          return null;
        });
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
