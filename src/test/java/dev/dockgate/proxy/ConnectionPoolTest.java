package dev.dockgate.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpServer;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.SocketAddress;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** The gateway's own backend pool against real servers on ephemeral ports (the proxy tests cover it end to end). */
@ExtendWith(VertxExtension.class)
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ConnectionPoolTest {

  private static Future<String> get(HttpClientRequest request, String path) {
    request.setURI(path);
    return request.send().compose(response -> response.body()).map(Buffer::toString);
  }

  @Test
  void aRequestWhoseConnectionOpensAfterThePoolClosedIsStillServed(Vertx vertx, VertxTestContext test) throws Exception {
    HttpServer server = vertx.createHttpServer().requestHandler(req -> req.response().end("ok"))
        .listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
    HttpClientAgent client = vertx.createHttpClient();
    Context context = vertx.getOrCreateContext();
    context.runOnContext(v -> {
      ConnectionPool pool = new ConnectionPool(vertx, client, 4, 10, 30, BackendClients::channelOf);
      Future<HttpClientRequest> made = pool.request(SocketAddress.inetSocketAddress(server.actualPort(), "127.0.0.1"),
          null, null, 5000);
      pool.close(false); // a reload replaced the pool while the connection was being opened
      made.compose(request -> get(request, "/x")).onComplete(test.succeeding(body -> test.verify(() -> {
        assertEquals("ok", body);
        test.completeNow();
      })));
    });
    assertTrue(test.awaitCompletion(10, TimeUnit.SECONDS), "the request was served");
  }

  @Test
  void aConnectionWhoseAnswerEndedByItsCloseIsNotHandedToAWaitingRequest(Vertx vertx, VertxTestContext test)
      throws Exception {
    // Each connection: one request read, then after 100 ms an HTTP/1.1 answer without a length, ended by the close.
    AtomicInteger accepted = new AtomicInteger();
    NetServer server = vertx.createNetServer().connectHandler(socket -> {
      accepted.incrementAndGet();
      StringBuilder head = new StringBuilder();
      socket.handler(data -> {
        head.append(data.toString());
        if (head.indexOf("\r\n\r\n") >= 0) {
          socket.handler(null);
          vertx.setTimer(100, t -> socket.end(Buffer.buffer("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the close"))
              .onComplete(e -> socket.close()));
        }
      });
    }).listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
    HttpClientAgent client = vertx.createHttpClient();
    Context context = vertx.getOrCreateContext();
    context.runOnContext(v -> {
      // One connection at most: the second and third requests wait for the first's.
      ConnectionPool pool = new ConnectionPool(vertx, client, 1, 10, 30, BackendClients::channelOf);
      SocketAddress address = SocketAddress.inetSocketAddress(server.actualPort(), "127.0.0.1");
      List<Future<String>> bodies = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        String path = "/" + i;
        bodies.add(pool.request(address, null, null, 5000).compose(request -> get(request, path)));
      }
      Future.all(bodies).onComplete(test.succeeding(all -> test.verify(() -> {
        for (Future<String> body : bodies) {
          assertEquals("until the close", body.result());
        }
        assertEquals(3, accepted.get(), "one connection per answer");
        test.completeNow();
      })));
    });
    assertTrue(test.awaitCompletion(15, TimeUnit.SECONDS), "all three requests answered");
  }

  @Test
  void anInstanceWhoseConnectionsAllClosedStillHasItsNextOnesClosedWithThePool(Vertx vertx, VertxTestContext test)
      throws Exception {
    // Its endpoint, kept on the instance for the request path, is swept from the pool once no connection is left;
    // the next request's connection must belong to the pool again, or a reload's close would leave it open.
    AtomicInteger open = new AtomicInteger();
    List<HttpServer> servers = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      servers.add(vertx.createHttpServer().connectionHandler(c -> {
        open.incrementAndGet();
        c.closeHandler(v -> open.decrementAndGet());
      }).requestHandler(req -> req.response().end("ok")).listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS));
    }
    HttpClientAgent client = vertx.createHttpClient();
    Upstream kept = new Upstream(new dev.dockgate.discovery.Instance("a", "a", "127.0.0.1",
        servers.get(0).actualPort()), null);
    Upstream other = new Upstream(new dev.dockgate.discovery.Instance("b", "b", "127.0.0.1",
        servers.get(1).actualPort()), null);
    Context context = vertx.getOrCreateContext();
    ConnectionPool[] pool = new ConnectionPool[1];
    Future<String> first = Future.future(p -> context.runOnContext(v -> {
      pool[0] = new ConnectionPool(vertx, client, 4, 10, 1, BackendClients::channelOf);
      pool[0].request(kept, null, 5000).compose(request -> get(request, "/")).onComplete(p);
    }));
    assertEquals("ok", first.await(10, TimeUnit.SECONDS));
    // Idle past the 1 s keep-alive: closed, and swept on a later pass that another instance's idle connection runs.
    dev.dockgate.testing.Poll.until(java.time.Duration.ofSeconds(10), "first connection closed", () -> open.get() == 0);
    Future<String> second = Future.future(p -> context.runOnContext(v ->
        pool[0].request(other, null, 5000).compose(request -> get(request, "/")).onComplete(p)));
    assertEquals("ok", second.await(10, TimeUnit.SECONDS));
    dev.dockgate.testing.Poll.until(java.time.Duration.ofSeconds(10), "second connection closed", () -> open.get() == 0);
    Future<String> third = Future.future(p -> context.runOnContext(v ->
        pool[0].request(kept, null, 5000).compose(request -> get(request, "/")).onComplete(p)));
    assertEquals("ok", third.await(10, TimeUnit.SECONDS));
    assertEquals(1, open.get());
    context.runOnContext(v -> pool[0].close(false));
    // Before the keep-alive could close it: the pool's close did.
    dev.dockgate.testing.Poll.until(java.time.Duration.ofMillis(500), "the pool's close closed it", () -> open.get() == 0);
    test.completeNow();
  }

  @Test
  void keepAliveTimeoutsAreReadAsTheBackendWroteThem() {
    assertEquals(5, ConnectionPool.timeoutSeconds("timeout=5"));
    assertEquals(9, ConnectionPool.timeoutSeconds("timeout=9, max=1000"));
    assertEquals(15, ConnectionPool.timeoutSeconds("max=100, Timeout=15"));
    assertEquals(0, ConnectionPool.timeoutSeconds("timeout=0"));
    assertEquals(-1, ConnectionPool.timeoutSeconds("timeout="));
    assertEquals(-1, ConnectionPool.timeoutSeconds("timeout=5s"));
    assertEquals(-1, ConnectionPool.timeoutSeconds("timeout=-1"));
    assertEquals(-1, ConnectionPool.timeoutSeconds("timeout=99999999999"));
    assertEquals(-1, ConnectionPool.timeoutSeconds("max=5"));
    assertEquals(-1, ConnectionPool.timeoutSeconds(""));
  }
}
