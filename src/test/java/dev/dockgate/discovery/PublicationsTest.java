package dev.dockgate.discovery;

import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An importer's wait for first answers on a real Vert.x: it ends on the importer's context whichever way it ends, as
 * the discovery verticle goes on with its own state there (a registry reading) once it has. A name or service that
 * does not answer within the limit ended it on a thread of no context before.
 */
@Timeout(30)
class PublicationsTest {

  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** Where the wait ended, and after how long (ms). */
  private record End(Context context, String thread, long ms) {
  }

  private End wait(Function<Publications, Future<Void>> waiting, Context context) throws Exception {
    CompletableFuture<End> ended = new CompletableFuture<>();
    context.runOnContext(v -> {
      long start = System.nanoTime();
      waiting.apply(new Publications()).onComplete(ar -> ended.complete(new End(Vertx.currentContext(),
          Thread.currentThread().getName(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start))));
    });
    return ended.get(10, TimeUnit.SECONDS);
  }

  @Test
  void aFirstAnswerThatDoesNotComeEndsTheWaitOnTheCallersContext() throws Exception {
    Context context = vertx.getOrCreateContext();
    End end = wait(p -> p.afterFirstAnswers(List.of(Promise.<Void>promise().future()), 200), context);
    assertSame(context, end.context(), "ended on " + end.thread());
    assertTrue(end.ms() >= 190, end.ms() + " ms");
  }

  @Test
  void aPublicationThatDoesNotEndEndsTheWaitOnTheCallersContext() throws Exception {
    Context context = vertx.getOrCreateContext();
    End end = wait(p -> {
      p.track(Promise.<Void>promise().future());
      return p.afterFirstAnswers(List.of(Future.succeededFuture()), 200);
    }, context);
    assertSame(context, end.context(), "ended on " + end.thread());
    assertTrue(end.ms() >= 190, end.ms() + " ms");
  }

  @Test
  void theWaitEndsWhenThePublicationsDo() throws Exception {
    Context context = vertx.getOrCreateContext();
    End end = wait(p -> {
      Promise<Void> first = Promise.promise();
      Promise<Void> publication = Promise.promise();
      vertx.setTimer(50, id -> {
        p.track(publication.future()); // published as the answer came, then the answer
        first.complete();
        vertx.setTimer(50, id2 -> publication.complete());
      });
      return p.afterFirstAnswers(List.of(first.future()), 3_000);
    }, context);
    assertSame(context, end.context(), "ended on " + end.thread());
    assertTrue(end.ms() >= 90 && end.ms() < 2_000, end.ms() + " ms");
  }
}
