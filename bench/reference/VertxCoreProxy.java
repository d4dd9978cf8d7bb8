import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;

/**
 * Bench reference: Vert.x core's HTTP server and client alone, piped by hand (no vertx-http-proxy),
 * with the gateway's transport settings (io_uring or epoll as the gateway picks, one event loop and one server instance per router,
 * keep-alive client pool per instance, TCP_NODELAY, h2c off) and a fixed origin. Headers are copied
 * as they are, bodies streamed both ways, a failed exchange answers 502. What Vert.x's HTTP stack
 * costs before any proxy library or gateway feature: the floor for a gateway on Vert.x HTTP.
 *
 * <p>Usage: {@code java -cp gateway-fat.jar:DIR VertxCoreProxy LISTEN_PORT BACKEND_PORT INSTANCES}
 */
public final class VertxCoreProxy extends VerticleBase {

  private final int port;
  private final int backendPort;
  private HttpClient client;

  VertxCoreProxy(int port, int backendPort) {
    this.port = port;
    this.backendPort = backendPort;
  }

  @Override
  public Future<?> start() {
    client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true),
        new PoolOptions().setHttp1MaxSize(256));
    return vertx.createHttpServer(new HttpServerOptions().setTcpNoDelay(true).setHttp2ClearTextEnabled(false))
        .requestHandler(this::proxy)
        .listen(port, "127.0.0.1");
  }

  private void proxy(HttpServerRequest request) {
    request.pause();
    RequestOptions options = new RequestOptions().setMethod(request.method()).setHost("127.0.0.1")
        .setPort(backendPort).setURI(request.uri());
    client.request(options)
        .compose(outbound -> {
          outbound.headers().setAll(request.headers());
          return outbound.send(request);
        })
        .onSuccess(answer -> {
          HttpServerResponse response = request.response().setStatusCode(answer.statusCode());
          response.headers().setAll(answer.headers());
          response.send(answer);
        })
        .onFailure(err -> {
          request.resume();
          request.response().setStatusCode(502).end();
        });
  }

  public static void main(String[] args) {
    int port = Integer.parseInt(args[0]);
    int backendPort = Integer.parseInt(args[1]);
    int instances = Integer.parseInt(args[2]);
    // The gateway's transport choice (dev.dockgate.NetworkTransport): io_uring where allowed, else epoll.
    io.vertx.core.transport.Transport transport = dev.dockgate.NetworkTransport.choose(
        dev.dockgate.NetworkTransport.configured(), true);
    Vertx vertx = Vertx.builder().with(new VertxOptions().setEventLoopPoolSize(instances))
        .withTransport(transport).build();
    vertx.deployVerticle(() -> new VertxCoreProxy(port, backendPort), new DeploymentOptions().setInstances(instances))
        .onSuccess(id -> System.out.println("Vert.x core proxy on 127.0.0.1:" + port + ", transport: " + transport.name()))
        .onFailure(err -> {
          err.printStackTrace();
          System.exit(1);
        });
  }
}
