package dev.dockgate.testing;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** Plain HTTP/1.1 to a gateway on 127.0.0.1: requests, its /stats and their total. */
public final class GatewayClient {

  private final int port;
  private final HttpClient http = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5))
      .build();

  public GatewayClient(int port) {
    this.port = port;
  }

  public URI uri(String pathAndQuery) {
    return URI.create("http://127.0.0.1:" + port + pathAndQuery);
  }

  public HttpClient http() {
    return http;
  }

  public HttpResponse<String> get(String pathAndQuery) {
    return send(HttpRequest.newBuilder(uri(pathAndQuery)).timeout(Duration.ofSeconds(10)).GET().build());
  }

  public HttpResponse<String> send(HttpRequest request) {
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  public JsonObject stats() {
    HttpResponse<String> response = get("/stats");
    if (response.statusCode() != 200) {
      throw new AssertionError("/stats answered " + response.statusCode() + ": " + response.body());
    }
    return new JsonObject(response.body());
  }

  /** success + error of /stats. */
  public long statsTotal() {
    JsonObject counts = stats().getJsonObject("requests_count");
    return counts.getLong("success") + counts.getLong("error");
  }
}
