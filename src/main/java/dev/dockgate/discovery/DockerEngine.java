package dev.dockgate.discovery;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import io.vertx.core.parsetools.RecordParser;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A thin async client of the Docker Engine API over a unix socket or TCP. Uses unversioned paths,
 * so engines both older (API 1.41) and newer (minimum 1.44) answer. Call from one event loop.
 */
public final class DockerEngine {

  private static final String EVENT_FILTER = URLEncoder.encode(
      "{\"type\":[\"container\"]}", StandardCharsets.UTF_8);

  private final HttpClient client;
  private final SocketAddress server;
  private final String hostHeader;
  private final String reachableHost;
  private final String description;

  public DockerEngine(Vertx vertx, String dockerHost) {
    this.description = dockerHost;
    this.client = vertx.createHttpClient(new HttpClientOptions()
        .setConnectTimeout(2_000)
        .setKeepAlive(true));
    if (dockerHost.startsWith("unix://")) {
      this.server = SocketAddress.domainSocketAddress(dockerHost.substring("unix://".length()));
      this.hostHeader = "localhost";
      this.reachableHost = "127.0.0.1";
    } else {
      URI uri = URI.create(dockerHost);
      int port = uri.getPort() > 0 ? uri.getPort() : 2375;
      this.server = SocketAddress.inetSocketAddress(port, uri.getHost());
      this.hostHeader = uri.getHost();
      this.reachableHost = uri.getHost();
    }
  }

  /** The host on which this engine's published ports and host-network containers are reached. */
  public String reachableHost() {
    return reachableHost;
  }

  public String description() {
    return description;
  }

  /** The running containers. */
  public Future<List<ContainerInfo>> listRunning() {
    return get("/containers/json")
        .compose(response -> response.statusCode() == 200
            ? response.body()
            : response.body().compose(body -> Future.failedFuture(
                new IllegalStateException("GET /containers/json answered " + response.statusCode() + ": " + body))))
        .map(body -> {
          JsonArray array = body.toJsonArray();
          List<ContainerInfo> result = new ArrayList<>(array.size());
          for (int i = 0; i < array.size(); i++) {
            result.add(ContainerInfo.fromListJson(array.getJsonObject(i)));
          }
          return result;
        });
  }

  /**
   * Opens the container event stream. The returned future completes once the engine accepted the
   * stream; {@code ended} is called once when the stream closes or fails.
   */
  public Future<Void> followEvents(Handler<JsonObject> onEvent, Handler<Throwable> ended) {
    RequestOptions options = request("/events?filters=" + EVENT_FILTER).setIdleTimeout(0);
    return client.request(options)
        .compose(req -> req.send())
        .compose(response -> {
          if (response.statusCode() != 200) {
            return Future.failedFuture(new IllegalStateException("GET /events answered " + response.statusCode()));
          }
          RecordParser lines = RecordParser.newDelimited("\n", line -> {
            if (line.length() > 0) {
              onEvent.handle(line.toJsonObject());
            }
          });
          response.handler(lines);
          response.exceptionHandler(ended::handle);
          response.endHandler(v -> ended.handle(new IllegalStateException("event stream closed by the engine")));
          return Future.succeededFuture();
        });
  }

  public Future<Void> close() {
    return client.close();
  }

  private Future<HttpClientResponse> get(String path) {
    return client.request(request(path)).compose(req -> req.send());
  }

  private RequestOptions request(String path) {
    return new RequestOptions()
        .setMethod(HttpMethod.GET)
        .setServer(server)
        .setHost(hostHeader)
        .setURI(path)
        .setIdleTimeout(10_000);
  }

}
