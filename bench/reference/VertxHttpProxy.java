import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.PoolOptions;
import io.vertx.httpproxy.HttpProxy;

/**
 * Bench reference: vertx-http-proxy alone, with the transport settings the gateway uses (io_uring or epoll as the gateway picks, one
 * event loop and one server instance per router, keep-alive client pool, TCP_NODELAY, h2c off) and a fixed
 * origin. No routing, discovery, breaker, events or header policy: what the gateway's stack costs
 * before the gateway adds anything.
 *
 * <p>Usage: {@code java -cp gateway-fat.jar:DIR VertxHttpProxy LISTEN_PORT BACKEND_PORT INSTANCES}
 */
public final class VertxHttpProxy extends VerticleBase {

  private final int port;
  private final int backendPort;

  VertxHttpProxy(int port, int backendPort) {
    this.port = port;
    this.backendPort = backendPort;
  }

  @Override
  public Future<?> start() {
    HttpProxy proxy = HttpProxy.reverseProxy(vertx.createHttpClient(
            new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true), new PoolOptions().setHttp1MaxSize(256)))
        .origin(backendPort, "127.0.0.1");
    // As the gateway by default: no cleartext HTTP/2, so no h2c upgrade check on each request.
    return vertx.createHttpServer(new HttpServerOptions().setTcpNoDelay(true).setHttp2ClearTextEnabled(false))
        .requestHandler(proxy)
        .listen(port, "127.0.0.1");
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
    vertx.deployVerticle(() -> new VertxHttpProxy(port, backendPort), new DeploymentOptions().setInstances(instances))
        .onSuccess(id -> System.out.println("vertx-http-proxy on 127.0.0.1:" + port + ", transport: " + transport.name()))
        .onFailure(err -> {
          err.printStackTrace();
          System.exit(1);
        });
  }
}
